"""The README stays true: its two commands at the top, and its sample failure is what the demo prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_readme_opens_with_the_demo_and_the_test_command_ci_runs() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    demo, tests = commands
    assert demo == (
        "pip install . && pytest --pyargs pytest_k8ssec.suites.pss --k8s-manifests=example_suites/manifests/hardened"
        " && pytest --pyargs pytest_k8ssec.suites.pss --k8s-manifests=example_suites/manifests/insecure"
    )
    # The test command makes its own virtual environment, so a missing install step cannot hide
    # behind packages already on the machine; CI runs exactly that line.
    assert tests == "python -m venv .venv && . .venv/bin/activate && bash .ci/install && python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, ".ci/run must run the README's test command as one line, unchanged"
    assert "rm -rf .venv" in ci[: ci.index(tests)], ".ci/run must start from a new .venv"
    assert "export K8SSEC_REQUIRE_ORACLES=1" in ci[: ci.index(tests)], "CI must require the ../shared judges"
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()


def test_ci_runs_the_unit_plugin_and_check_tests_with_the_oldest_declared_versions() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".ci/lowest_constraints.py pyproject.toml" in ci
    assert ".venv-lowest/bin/python -m pytest -q tests/unit tests/plugin tests/checks" in ci
    assert ci.count("bash .ci/versions") + (ROOT / ".ci" / "install").read_text().count("bash .ci/versions") == 2


def test_the_sample_failure_is_what_the_demo_prints(pytester: pytest.Pytester) -> None:
    sample = README.split("the container and the fix:\n\n```\n", 1)[1].split("```", 1)[0].strip().splitlines()
    # In a process of its own: an in-process run drops the modules it imported first when it ends,
    # and a later test that imports them again gets new module objects.
    result = pytester.runpytest_subprocess(
        str(ROOT / "example_suites" / "workload_hardening"),
        f"--k8s-manifests={ROOT / 'example_suites' / 'manifests' / 'insecure'}",
        f"--rootdir={ROOT}",
        "-k",
        "test_not_privileged and worker",
    )
    out = result.stdout.str().replace(f"{ROOT}/", "")
    for line in sample:
        assert re.sub(r"\s+", " ", line.strip()) in re.sub(r"\s+", " ", out), line
