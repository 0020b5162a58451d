"""Finding control plane binaries (starting them is tested in tests/live against the real thing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_k8ssec.sources.local_control_plane import Binaries, LocalClusterError


def _exe(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_missing_binaries_say_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("K8SSEC_CONTROL_PLANE_BIN", raising=False)
    with pytest.raises(LocalClusterError) as info:
        Binaries.find(str(tmp_path / "nowhere"))
    message = str(info.value)
    assert "no control plane binaries: --k8s-control-plane-bin" in message and "does not exist" in message
    assert "bash controlplane/build.sh" in message and "KUBEBUILDER_ASSETS" in message


def test_an_envtest_folder_without_kube_controller_manager_is_refused(tmp_path: Path) -> None:
    _exe(tmp_path / "etcd")
    _exe(tmp_path / "kube-apiserver")
    with pytest.raises(LocalClusterError, match="missing kube-controller-manager"):
        Binaries.find(str(tmp_path))


def test_folder_with_separate_binaries_and_the_multicall_binary(tmp_path: Path) -> None:
    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        _exe(tmp_path / name)
    assert Binaries.find(str(tmp_path)).controller_manager == (str(tmp_path / "kube-controller-manager"),)
    multicall = _exe(tmp_path / "k8s-controlplane")
    found = Binaries.find(str(tmp_path))
    assert found.etcd == (str(multicall), "etcd")
    assert Binaries.find(str(multicall)).apiserver == (str(multicall), "kube-apiserver")


def test_environment_variable_is_used_when_no_option_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    multicall = _exe(tmp_path / "k8s-controlplane")
    monkeypatch.setenv("K8SSEC_CONTROL_PLANE_BIN", str(multicall))
    assert Binaries.find().etcd == (str(multicall), "etcd")


def test_working_folders_of_dead_runs_are_swept_and_no_other(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    from pytest_k8ssec.sources.local_control_plane import _owner, sweep_dead_workdirs

    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()

    def folder(name: str, owner: str | None) -> Path:
        path = tmp_path / f"k8ssec-cp-{name}"
        (path / "etcd").mkdir(parents=True)
        if owner is not None:
            (path / "owner").write_text(owner)
        return path

    dead = folder("dead", f"{done.pid} 1")  # its process has exited
    reused = folder("reused", f"{os.getpid()} 1")  # our PID, but a process started at another time
    alive = folder("alive", _owner(os.getpid()))
    starting = folder("starting", None)  # its owner may be writing the owner file right now
    old = folder("old", None)
    os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    other = tmp_path / "not-ours"
    other.mkdir()
    assert sorted(p.name for p in sweep_dead_workdirs(str(tmp_path))) == sorted([dead.name, reused.name, old.name])
    assert alive.exists() and starting.exists() and other.exists()
    assert not dead.exists() and not reused.exists() and not old.exists()


def test_the_build_cache_is_the_checkouts_controlplane_cache() -> None:
    # Without K8SSEC_CONTROL_PLANE_BIN a checkout finds the binary controlplane/build.sh wrote; the
    # path is computed from the module's place in the package, so it must follow a move.
    from pytest_k8ssec.sources.local_control_plane import BUILD_CACHE

    root = Path(__file__).resolve().parents[2]
    assert (root / "controlplane" / "build.sh").is_file()
    assert BUILD_CACHE == root / "controlplane" / ".cache" / "bin"
