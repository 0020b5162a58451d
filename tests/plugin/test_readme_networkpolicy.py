"""The README's NetworkPolicy example runs as written on the bundled hardened manifests, and fails
when the policies it relies on are gone. (Its live run on the local node: tests/live.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
HARDENED = ROOT / "example_suites" / "manifests" / "hardened"


def readme_networkpolicy_example() -> str:
    section = README.split("\n## NetworkPolicy\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_networkpolicy_example_passes_on_the_hardened_manifests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_network=readme_networkpolicy_example())
    result = pytester.runpytest(f"--k8s-manifests={HARDENED}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_readme_networkpolicy_example_fails_without_the_policies(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_network=readme_networkpolicy_example())
    copy = pytester.path / "hardened"
    shutil.copytree(HARDENED, copy)
    (copy / "network.yaml").unlink()
    result = pytester.runpytest(f"--k8s-manifests={copy}", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
