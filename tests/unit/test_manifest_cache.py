"""The parse cache: unchanged files are read back from marshal, never stale, never trusted blindly."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.sources import manifests
from pytest_k8ssec.sources.manifests import LoadOptions, load, prune_cache

POD = "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers: [{{name: app, image: nginx:1.27}}]\n"


def _no_parsing(*args: object, **kwargs: object) -> object:
    raise AssertionError("parsed although the cache holds the file")


def test_second_load_comes_from_the_cache_with_the_same_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "pods.yaml"
    source.write_text("# header\n" + POD.format(name="a") + "---\n" + POD.format(name="b"))
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    first = load([str(source)], options).objects
    assert len(os.listdir(tmp_path / "cache")) == 1
    monkeypatch.setattr(manifests, "_yaml_documents", _no_parsing)
    second = load([str(source)], options).objects
    assert [(o.ref, str(o.provenance), o.raw) for o in second] == [(o.ref, str(o.provenance), o.raw) for o in first]
    assert [str(o.provenance) for o in second] == [f"{source}:2", f"{source}:8"]
    assert second[0].raw is not first[0].raw  # fresh objects each run


def test_an_edited_file_is_parsed_again(tmp_path: Path) -> None:
    source = tmp_path / "pod.yaml"
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    source.write_text(POD.format(name="before"))
    assert [o.name for o in load([str(source)], options).objects] == ["before"]
    source.write_text(POD.format(name="after"))
    assert [o.name for o in load([str(source)], options).objects] == ["after"]


def test_a_corrupt_cache_entry_is_ignored(tmp_path: Path) -> None:
    source = tmp_path / "pod.yaml"
    source.write_text(POD.format(name="a"))
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    load([str(source)], options)
    (entry,) = (tmp_path / "cache").iterdir()
    entry.write_bytes(b"\x00garbage")
    assert [o.name for o in load([str(source)], options).objects] == ["a"]


def test_broken_files_are_never_cached(tmp_path: Path) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    for _ in range(2):
        with pytest.raises(ManifestError, match="bad.yaml"):
            load([str(source)], options)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_prune_removes_entries_unused_for_a_week(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    old, new = cache / "old", cache / "new"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    week_ago = time.time() - 8 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    assert prune_cache(str(cache)) == 1
    assert [p.name for p in cache.iterdir()] == ["new"]


def test_the_plugin_keeps_the_cache_in_pytest_cache(pytester: pytest.Pytester) -> None:
    (pytester.path / "pod.yaml").write_text(POD.format(name="a"))
    pytester.makepyfile("def test_w(k8s_workload): assert k8s_workload.name == 'a'")
    pytester.runpytest("--k8s-manifests", "pod.yaml").assert_outcomes(passed=1)
    entries = list((pytester.path / ".pytest_cache" / "d" / "k8ssec-parsed-manifests").iterdir())
    assert len(entries) == 1
    pytester.runpytest("--k8s-manifests", "pod.yaml").assert_outcomes(passed=1)
    pytester.runpytest("--k8s-manifests", "pod.yaml", "--cache-clear").assert_outcomes(passed=1)
