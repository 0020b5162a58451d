"""CI's oldest-versions stage pins exactly the lower bounds pyproject.toml declares."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "lowest_constraints.py"


def _constraints(pyproject: Path) -> list[str]:
    result = subprocess.run([sys.executable, str(SCRIPT), str(pyproject)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the script reads pyproject.toml with tomllib (Python 3.11+)")
def test_every_lower_bound_of_pyproject_is_pinned() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    declared = re.findall(r'^\s*"([A-Za-z0-9_.-]+)>=([^",;]+)"', text, re.M)
    assert len(declared) >= 6
    assert sorted(_constraints(ROOT / "pyproject.toml")) == sorted(f"{name}=={version}" for name, version in declared)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the script reads pyproject.toml with tomllib (Python 3.11+)")
def test_extras_markers_and_unbounded_requirements(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["a>=1.2,<3", "b[extra] >= 2.0 ; python_version >= \'3.10\'", "c"]\n'
        '[project.optional-dependencies]\ntest = ["d>=0.5", "e~=1.0"]\n'
    )
    assert _constraints(pyproject) == ["a==1.2", "b==2.0", "d==0.5"]


FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for python: makes "venvs", records pytest runs, fails where the test says.
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin"
    printf 'deactivate() { unset VIRTUAL_ENV; }\\nVIRTUAL_ENV=%s\\n' "$3" > "$3/bin/activate"
    cp "$0" "$3/bin/python"
    exit 0
fi
if [ "$1 $2" = "-m pytest" ]; then
    echo "pytest ${*:3} require=${K8SSEC_REQUIRE_ORACLES:-}" >> "$CI_LOG"
    [ "$3" = "-q" ] && [ $# -eq 3 ] && exit "${STAGE1_PYTEST_RC:-0}"
    exit 0
fi
exit 0
"""


@pytest.mark.parametrize(
    ("install_rc", "pytest_rc", "expected_rc", "stage1_ran_pytest"),
    [(0, 0, 0, True), (3, 0, 3, False), (0, 1, 1, True)],
    ids=["all-pass", "install-fails", "tests-fail"],
)
def test_ci_run_fails_when_any_step_of_the_readme_command_fails(
    tmp_path: Path, install_rc: int, pytest_rc: int, expected_rc: int, stage1_ran_pytest: bool
) -> None:
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "run").write_text((ROOT / ".ci" / "run").read_text())
    (tmp_path / ".ci" / "install").write_text(f"exit {install_rc}\n")
    (tmp_path / ".ci" / "versions").write_text("exit 0\n")
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "ci.log"
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "CI_LOG": str(log), "STAGE1_PYTEST_RC": str(pytest_rc)}
    result = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == expected_rc, result.stdout + result.stderr
    runs = log.read_text().splitlines() if log.exists() else []
    expected = ["pytest -q require=1"] if stage1_ran_pytest else []
    # Stage 2 runs either way (its verdict is worth having), and the oracles are required in both.
    assert runs == [*expected, "pytest -q tests/unit tests/plugin tests/checks require=1"]
