"""The path-expansion and error half of the loader: per-source errors, globs walked without
skipping, --k8s-exclude, only regular files, top-level sequences of objects.

(Parsing is tested in test_manifests.py, rendering in test_rendering.py.)
"""

from __future__ import annotations

import glob
import json
import os
import threading
from pathlib import Path

import pytest

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.sources import manifests
from pytest_k8ssec.sources.manifests import LoadOptions, LoadResult, SourceError, expand, load, release_name

COLLECT = LoadOptions(collect_errors=True)

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: shop}
spec:
  containers:
  - {name: app, image: nginx, securityContext: {privileged: true}}
"""


def configmap(name: str) -> str:
    # Quoted: Kubernetes reads a plain y or n as a boolean, not a name.
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '{name}'\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def names(result: LoadResult) -> list[str]:
    return [o.name for o in result.objects]


# --- one broken source never hides the rest -----------------------------------------------------


def test_collect_mode_records_each_broken_source_and_loads_everything_else(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", configmap("a"))
    write(tmp_path / "b-broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n  oops: [\n")
    write(tmp_path / "c-template.yaml", "apiVersion: v1\nkind: {{ .Values.kind }}\n")
    write(tmp_path / "d.yaml", PRIVILEGED_POD)
    result = load([str(tmp_path)], COLLECT)
    assert names(result) == ["a", "root"]
    assert [error.source for error in result.errors] == [
        str(tmp_path / "b-broken.yaml"),
        str(tmp_path / "c-template.yaml"),
    ]
    assert result.errors[0].message.startswith(f"{tmp_path / 'b-broken.yaml'}:4: invalid YAML in document 0: ")
    assert result.errors[1].message.startswith(f"{tmp_path / 'c-template.yaml'}:2: invalid YAML")


def test_without_collect_mode_the_first_broken_source_raises_as_before(tmp_path: Path) -> None:
    # Scripts calling load() must never get a silently partial result.
    write(tmp_path / "a.yaml", configmap("a"))
    write(tmp_path / "b.yaml", "key: [unclosed\n")
    with pytest.raises(ManifestError, match=r"b\.yaml:2: invalid YAML"):
        load([str(tmp_path)])


def test_objects_before_the_fault_and_valid_documents_after_an_invalid_one_are_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.yaml",
        configmap("first")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n---\n"
        + PRIVILEGED_POD
        + "---\nkey: [unclosed\n",
    )
    result = load([str(path)], COLLECT)
    assert names(result) == ["first", "root"]
    assert [e.message for e in result.errors] == [
        f"{path}:6: metadata.name of ConfigMap is missing or not a string",
        f"{path}:18: invalid YAML in document 3: did not find expected ',' or ']' (while parsing a flow sequence at line 17)",
    ]


def test_list_items_that_are_not_objects_fail_without_dropping_their_siblings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- 42\n- " + PRIVILEGED_POD.replace("\n", "\n  ").rstrip() + "\n",
    )
    result = load([str(path)], COLLECT)
    assert names(result) == ["root"]
    assert result.errors == [SourceError(str(path), f"{path}:4: items[0] of List is a number, not an object")]


def test_load_file_and_load_text_raise_even_when_asked_to_collect(tmp_path: Path) -> None:
    # They return objects only: collected errors would be lost.
    path = write(tmp_path / "bad.yaml", configmap("a") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    with pytest.raises(ManifestError, match=r"bad\.yaml:6: metadata\.name of ConfigMap is missing"):
        manifests.load_file(path, COLLECT)
    with pytest.raises(ManifestError, match=r"^t\.yaml:2: invalid YAML"):
        manifests.load_text("key: [", "t.yaml", COLLECT)


def test_missing_paths_and_empty_patterns_stay_configuration_errors_in_collect_mode(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file or directory"):
        load([str(tmp_path / "missing")], COLLECT)
    with pytest.raises(ManifestError, match="the pattern matches no file"):
        load([str(tmp_path / "*.yaml")], COLLECT)


def test_a_named_path_that_exists_but_cannot_be_reached_says_why(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    with pytest.raises(ManifestError, match=r"loop\.yaml: cannot read: Too many levels of symbolic links"):
        load([str(tmp_path / "loop.yaml")], COLLECT)


def test_a_missing_renderer_is_an_error_of_its_source_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "chart" / "Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n")
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    result = load([str(tmp_path)], COLLECT)
    assert names(result) == ["root"]
    assert [e.source for e in result.errors] == [str(tmp_path / "chart")]
    assert "`helm` is not on PATH" in result.errors[0].message


def test_non_kubernetes_yaml_as_error_is_a_source_error_and_the_objects_load(tmp_path: Path) -> None:
    write(tmp_path / "values.yaml", "replicaCount: 2\n")
    write(tmp_path / "pod.yaml", PRIVILEGED_POD)
    result = load([str(tmp_path)], LoadOptions(collect_errors=True, non_k8s="error"))
    assert names(result) == ["root"]
    assert result.errors == [
        SourceError(
            str(tmp_path / "values.yaml"),
            f"{tmp_path / 'values.yaml'}:1: not a Kubernetes object (a mapping without apiVersion and kind)",
        )
    ]


# --- globs: walked, never skipping what cannot be read -------------------------------------------


@pytest.fixture
def unreadable_sub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """d/ok.yaml, and d/sub/h.yaml (a privileged Pod) in a folder that cannot be listed.

    The tests run as root, which reads any folder whatever its mode; listing it fails here as it
    does for an unprivileged user (test_manifest_sources_plugin.py has the real thing under setpriv).
    """
    write(tmp_path / "d" / "ok.yaml", configmap("ok"))
    write(tmp_path / "d" / "sub" / "h.yaml", PRIVILEGED_POD)
    blocked = str(tmp_path / "d" / "sub")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.fspath(path) == blocked:
            raise PermissionError(13, "Permission denied", blocked)
        return real_scandir(path)

    monkeypatch.setattr(manifests.os, "scandir", scandir)
    return tmp_path / "d"


def test_glob_over_an_unreadable_folder_is_an_error_not_a_skip(unreadable_sub: Path) -> None:
    result = load([f"{unreadable_sub}/**/*.yaml"], COLLECT)
    assert names(result) == ["ok"]
    assert result.errors == [
        SourceError(f"{unreadable_sub}/sub", f"{unreadable_sub}/sub: cannot read the folder: Permission denied")
    ]
    with pytest.raises(ManifestError, match="sub: cannot read the folder: Permission denied"):
        load([f"{unreadable_sub}/**/*.yaml"])


def test_directory_scan_over_an_unreadable_folder_is_an_error_and_the_rest_loads(unreadable_sub: Path) -> None:
    result = load([str(unreadable_sub)], COLLECT)
    assert names(result) == ["ok"]
    assert [e.source for e in result.errors] == [f"{unreadable_sub}/sub"]


def test_a_pattern_that_cannot_reach_the_unreadable_folder_does_not_read_it(unreadable_sub: Path) -> None:
    # "d/*.yaml" matches nothing under d/sub, so the folder is never listed.
    result = load([f"{unreadable_sub}/*.yaml"], COLLECT)
    assert names(result) == ["ok"] and result.errors == []


@pytest.mark.parametrize(
    "pattern",
    [
        "*.yaml",
        "**/*.yaml",
        "**/*.y*ml",
        "a/*",
        "a/**",
        "a/*/*.json",
        "**/b*",
        "a/[bc]*/**/*.yaml",
        "a/[!b]*/*",
        "?.yaml",
        "**",
    ],
)
def test_the_walk_matches_what_pythons_glob_matches_on_a_readable_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    for path in [
        "x.yaml",
        "a/y.yaml",
        "a/b/z.yaml",
        "a/b/deep/w.yaml",
        "a/c/v.json",
        "a/c/u.yml",
        "a/.h/t.yaml",
        "bb.yaml",
    ]:
        write(tmp_path / path, configmap(Path(path).stem))
    monkeypatch.chdir(tmp_path)
    ours = {source for _, source, _ in expand([pattern]).sources}
    theirs: set[str] = set()
    for match in glob.glob(pattern, recursive=True):
        if os.path.isdir(match):
            theirs |= {source for _, source, _ in expand([match]).sources}
        elif match.endswith((".yaml", ".yml", ".json")):
            theirs.add(match)
    assert ours == theirs


def test_a_pattern_through_a_parent_folder_still_skips_hidden_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "d" / "a.yaml", configmap("a"))
    write(tmp_path / "d" / ".hidden.yaml", configmap("hidden"))
    write(tmp_path / "d" / ".git" / "x.yaml", configmap("git"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert names(load(["../d/**/*.yaml"])) == ["a"]
    assert names(load(["../d/.*.yaml"])) == ["hidden"]


# --- --k8s-exclude ------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for path in [
        "deploy/web.yaml",
        "deploy/legacy/old.yaml",
        "deploy/legacy/deeper/older.yaml",
        "deploy/app/x.tpl.yaml",
        "deploy/app/y.yaml",
        "examples/e.yaml",
    ]:
        write(tmp_path / path, configmap(Path(path).name.split(".")[0]))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_exclude_name_pattern_matches_at_any_depth(repo: Path) -> None:
    result = load(["deploy"], LoadOptions(exclude=("*.tpl.yaml", "legacy")))
    assert names(result) == ["web", "y"]
    assert result.excluded == [("deploy/legacy", "legacy"), ("deploy/app/x.tpl.yaml", "*.tpl.yaml")]


def test_exclude_path_pattern_matches_relative_to_the_scanned_folder_and_as_given(repo: Path) -> None:
    relative = load(["deploy"], LoadOptions(exclude=("legacy/**",)))
    assert names(relative) == ["web", "x", "y"]
    as_given = load(["deploy"], LoadOptions(exclude=("deploy/legacy/*",)))
    assert names(as_given) == ["web", "x", "y"]
    # An excluded folder is not entered: one entry, the folder.
    folder = load(["deploy"], LoadOptions(exclude=("deploy/legacy",)))
    assert folder.excluded == [("deploy/legacy", "deploy/legacy")] and names(folder) == ["web", "x", "y"]


def test_exclude_applies_to_globs_relative_to_their_fixed_folders(repo: Path) -> None:
    result = load(["deploy/**/*.yaml"], LoadOptions(exclude=("legacy/**", "app/*.tpl.yaml")))
    assert names(result) == ["y", "web"]  # path order: deploy/app/y.yaml, deploy/web.yaml
    assert result.excluded == [("deploy/legacy", "legacy/**"), ("deploy/app/x.tpl.yaml", "app/*.tpl.yaml")]


def test_exclude_does_not_touch_a_file_named_explicitly(repo: Path) -> None:
    result = load(["deploy/legacy/old.yaml"], LoadOptions(exclude=("legacy", "*.yaml")))
    assert names(result) == ["old"] and result.excluded == []


def test_a_glob_whose_every_match_is_excluded_says_so(repo: Path) -> None:
    with pytest.raises(
        ManifestError,
        match=r"^deploy/app/\*\.yaml: the pattern matches no file that --k8s-exclude leaves in \(2 paths left out\)$",
    ):
        load(["deploy/app/*.yaml"], LoadOptions(exclude=("*.yaml",)))
    with pytest.raises(ManifestError, match=r"^deploy/app/\*\.json: the pattern matches no file$"):
        load(["deploy/app/*.json"], LoadOptions(exclude=("*.yaml",)))


def test_exclude_leaves_out_a_broken_file(repo: Path) -> None:
    write(repo / "deploy" / "app" / "broken.tpl.yaml", "kind: {{ .Values.kind }}\n")
    assert load(["deploy"], LoadOptions(exclude=("*.tpl.yaml",), collect_errors=True)).errors == []


# --- only regular files, symlinks ---------------------------------------------------------------


def _load_in_thread(paths: list[str], options: LoadOptions) -> LoadResult:
    """load() in a daemon thread: a hang fails the test in seconds instead of blocking the run."""
    box: list[LoadResult | BaseException] = []

    def run() -> None:
        try:
            box.append(load(paths, options))
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(20)
    assert box, "load() hung"
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def test_a_fifo_among_the_manifests_is_an_error_never_opened(tmp_path: Path) -> None:
    write(tmp_path / "d" / "pod.yaml", PRIVILEGED_POD)
    os.mkfifo(tmp_path / "d" / "pipe.yaml")
    result = _load_in_thread([str(tmp_path / "d")], COLLECT)
    assert names(result) == ["root"]
    pipe = tmp_path / "d" / "pipe.yaml"
    assert result.errors == [
        SourceError(str(pipe), f"{pipe}: cannot read: a FIFO, not a regular file (only regular files are read)")
    ]
    with pytest.raises(ManifestError, match="a FIFO, not a regular file"):
        _load_in_thread([str(pipe)], LoadOptions())


def test_a_device_named_explicitly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"^/dev/zero: cannot read: a character device, not a regular file"):
        _load_in_thread(["/dev/zero"], LoadOptions())


def test_symlinked_folders_are_followed_once_and_loops_end(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "pod.yaml", PRIVILEGED_POD)
    tree = tmp_path / "tree"
    write(tree / "a.yaml", configmap("a"))
    (tree / "linked").symlink_to(outside)
    (tree / "loop").symlink_to(tree)  # back to the root: nothing new
    (tree / "sub").mkdir()
    (tree / "sub" / "up").symlink_to(tree / "sub")
    result = _load_in_thread([str(tree)], COLLECT)
    assert names(result) == ["a", "root"] and result.errors == []


def test_a_symlink_loop_or_a_dangling_link_is_an_error_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "missing.yaml")
    write(tmp_path / "c.yaml", PRIVILEGED_POD)
    result = _load_in_thread([str(tmp_path)], COLLECT)
    assert names(result) == ["root"]
    assert [e.message for e in result.errors] == [
        f"{tmp_path / 'a.yaml'}: cannot read: Too many levels of symbolic links",
        f"{tmp_path / 'b.yaml'}: cannot read: Too many levels of symbolic links",
        f"{tmp_path / 'gone.yaml'}: cannot read: No such file or directory",
    ]


# --- a top-level sequence of objects -------------------------------------------------------------


def test_a_top_level_yaml_sequence_of_objects_loads_with_the_line_of_each(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d" / "seq.yaml",
        "---\n- "
        + configmap("first").replace("\n", "\n  ").rstrip()
        + "\n- "
        + PRIVILEGED_POD.replace("\n", "\n  ").rstrip()
        + "\n",
    )
    result = load([str(tmp_path / "d")], COLLECT)
    assert [(o.name, o.provenance.line) for o in result.objects] == [("first", 2), ("root", 6)]
    assert result.skipped == [] and result.errors == []
    assert str(result.objects[1].provenance) == f"{path}:6"


def test_a_top_level_json_array_of_objects_loads_with_the_line_of_each(tmp_path: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"}, "spec": {"containers": []}}
    text = (
        "[\n  "
        + json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
        + ",\n\n  "
        + json.dumps(pod)
        + "\n]\n"
    )
    result = load([str(write(tmp_path / "arr.json", text))], COLLECT)
    assert [(o.name, o.provenance.line) for o in result.objects] == [("a", 2), ("root", 4)]


def test_a_sequence_mixing_objects_and_other_values_fails_on_the_others(tmp_path: Path) -> None:
    path = write(tmp_path / "seq.yaml", "- just a string\n- " + PRIVILEGED_POD.replace("\n", "\n  ").rstrip() + "\n")
    result = load([str(tmp_path)], COLLECT)
    assert names(result) == ["root"]
    assert result.errors == [
        SourceError(str(path), f"{path}:1: item 0 of the YAML sequence is a string, not an object")
    ]


def test_a_sequence_of_plain_values_in_a_scan_is_still_non_kubernetes_yaml(tmp_path: Path) -> None:
    write(tmp_path / "list.yaml", "- a\n- b\n")
    result = load([str(tmp_path)], COLLECT)
    assert result.objects == [] and result.errors == []
    assert result.skipped == [f"{tmp_path / 'list.yaml'}:1: not a Kubernetes object (a list); skipped"]


# --- Helm release names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "release"),
    [
        ("web", "web"),
        ("my_chart", "my-chart"),
        ("MyChart", "mychart"),
        ("My Chart.v2", "my-chart-v2"),
        ("__", "release"),
        ("x" * 80, "x" * 53),
        ("a" * 52 + "_b", "a" * 52),
    ],
)
def test_release_name_is_one_helm_accepts(tmp_path: Path, folder: str, release: str) -> None:
    assert release_name(str(tmp_path / folder)) == release
    assert manifests.HELM_RELEASE_NAME.match(release) and len(release) <= manifests.HELM_RELEASE_MAX
