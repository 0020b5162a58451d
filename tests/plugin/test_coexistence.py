"""Our options must not clash with the other Kubernetes pytest plugins (argparse refuses duplicates,
so a clash breaks pytest start-up for anyone who has both installed)."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

OTHER_PLUGINS = ("pytest-kubernetes", "pytest-helm-charts")


def _see_this_environment(python: Path) -> None:
    """Make the site-packages of the running interpreter visible to the venv of ``python``, after its own.

    ``system_site_packages`` would add the *base* interpreter's site-packages, which does not hold
    pytest-k8ssec when this runs from a virtual environment. ``site.addsitedir`` also runs the
    ``.pth`` files there, so an editable install is found as well.
    """
    ours = [path for path in sys.path if Path(path).name in ("site-packages", "dist-packages") and Path(path).is_dir()]
    assert ours, sys.path
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in ours)
    (Path(target) / "_k8ssec_test_parent_env.pth").write_text(lines)


@pytest.mark.slow
def test_pytest_help_works_with_pytest_kubernetes_and_pytest_helm_charts(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _see_this_environment(python)
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
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print(sorted(e.name for e in m.entry_points(group='pytest11')))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "k8ssec" in plugins, plugins
    assert sys.version_info >= (3, 10)
