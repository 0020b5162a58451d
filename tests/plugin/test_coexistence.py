"""Our options must not clash with the other Kubernetes pytest plugins (argparse refuses duplicates,
so a clash breaks pytest start-up for anyone who has both installed)."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

OTHER_PLUGINS = ("pytest-kubernetes", "pytest-helm-charts")


@pytest.mark.slow
def test_pytest_help_works_with_pytest_kubernetes_and_pytest_helm_charts(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # System site-packages: the venv sees pytest-k8ssec as installed for this run.
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *OTHER_PLUGINS],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, f"pip install {' '.join(OTHER_PLUGINS)} failed:\n{install.stderr[-3000:]}"
    result = subprocess.run(
        [str(python), "-m", "pytest", "--help"], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "--k8s-manifests" in out  # ours
    assert "--k8s-provider" in out  # pytest-kubernetes
    assert "--kubeconfig" in out  # pytest-helm-charts
    plugins = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(sorted(e.name for e in m.entry_points(group='pytest11')))"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "k8ssec" in plugins, plugins
    assert sys.version_info >= (3, 10)
