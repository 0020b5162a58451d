"""The parse cache trusts only a local key: an entry forged by someone who knows the manifest and
can write ``.pytest_cache`` (a shared CI cache) is a cache miss (issue 12 item 3)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from pytest_k8ssec.model.objects import Provenance
from pytest_k8ssec.sources import manifests
from pytest_k8ssec.sources.manifests import LoadOptions, cache, load

PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: app
      image: registry.example.com/web:1.0
      securityContext: {privileged: true}
"""
TEST = """
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)
"""
CACHE = Path(".pytest_cache", "d", "k8ssec-parsed-manifests")


def _benign_documents() -> manifests.Documents:
    """What a forger wants the run to see: the same Pod, unprivileged, at the same lines."""
    text = PRIVILEGED.replace("privileged: true", "privileged: false")
    return list(manifests._yaml_documents(text, Provenance("pod.yaml")))


def _forge_as_before_the_fix(data: bytes, path: Path) -> None:
    # The attack of the issue, against the scheme before the fix: the entry key came from the
    # manifest's bytes alone, so anyone holding the manifest could seal an entry.
    key = hashlib.blake2b(data, digest_size=32, person=b"k8ssec-cachekey").digest()
    payload = cache.marshal.dumps(_benign_documents())
    path.write_bytes(Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor().update(payload))


def _forge_with_own_key(data: bytes, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, elsewhere: Path) -> None:
    # The same attack from a machine that runs this very code: the forger's own key seals it.
    with monkeypatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(elsewhere))
        patch.setattr(cache, "_local_keys", {})
        cache._store(data, False, str(cache_dir), _benign_documents())


@pytest.mark.parametrize("forgery", ["as-before-the-fix", "with-the-forgers-own-key"])
def test_a_forged_entry_cannot_make_a_privileged_pod_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, forgery: str
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "victim-home-cache"))
    pod = pytester.path / "pod.yaml"
    pod.write_text(PRIVILEGED)
    pytester.makepyfile(test_pods=TEST)
    pytester.runpytest("--k8s-manifests=pod.yaml").assert_outcomes(failed=1)
    cache_dir = pytester.path / CACHE
    (entry,) = cache_dir.iterdir()  # the path is a hash of the manifest: anyone can compute it
    assert entry.name == Path(cache._cache_path(pod.read_bytes(), False, str(cache_dir))).name
    if forgery == "as-before-the-fix":
        _forge_as_before_the_fix(pod.read_bytes(), entry)
    else:
        _forge_with_own_key(pod.read_bytes(), cache_dir, monkeypatch, tmp_path / "forger-cache")
    forged = entry.read_bytes()
    result = pytester.runpytest("--k8s-manifests=pod.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*privileged*"])
    # The forged entry was refused and replaced by the run's own.
    assert entry.read_bytes() != forged


def test_the_run_own_entries_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    source = tmp_path / "pod.yaml"
    source.write_text(PRIVILEGED)
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    load([str(source)], options)
    monkeypatch.setattr(
        manifests, "_yaml_documents", lambda *a, **k: pytest.fail("parsed although the cache holds the file")
    )
    assert [o.name for o in load([str(source)], options).objects] == ["web"]


def test_the_key_is_private_created_once_and_never_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    key_path = Path(manifests.cache_key_path())
    assert key_path == tmp_path / "home-cache" / "pytest-k8ssec" / "parse-cache.key"
    source = tmp_path / "pod.yaml"
    source.write_text(PRIVILEGED)
    load([str(source)], LoadOptions(cache_dir=str(tmp_path / "cache")))
    key = key_path.read_bytes()
    assert len(key) == 32
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    assert not [p for p in key_path.parent.iterdir() if p != key_path], "a temporary file was left"
    monkeypatch.setattr(cache, "_local_keys", {})
    load([str(source)], LoadOptions(cache_dir=str(tmp_path / "cache")))
    assert key_path.read_bytes() == key
    for entry in (tmp_path / "cache").iterdir():
        assert key not in entry.read_bytes()


@pytest.mark.parametrize("spoil", ["readable-by-others", "wrong-size", "symlink"])
def test_a_key_that_cannot_be_trusted_means_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spoil: str
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    key_path = Path(manifests.cache_key_path())
    key_path.parent.mkdir(parents=True)
    if spoil == "symlink":
        target = tmp_path / "elsewhere.key"
        target.write_bytes(os.urandom(32))
        target.chmod(0o600)
        key_path.symlink_to(target)
    else:
        key_path.write_bytes(os.urandom(32 if spoil == "readable-by-others" else 16))
        key_path.chmod(0o644 if spoil == "readable-by-others" else 0o600)
    source = tmp_path / "pod.yaml"
    source.write_text(PRIVILEGED)
    options = LoadOptions(cache_dir=str(tmp_path / "cache"))
    assert [o.name for o in load([str(source)], options).objects] == ["web"]
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
