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
