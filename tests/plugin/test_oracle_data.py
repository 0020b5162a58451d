"""Where the project's judges get their data (the root conftest.py), in real pytest runs of a copy of it.

A clone has no ``../shared`` beside it: the judges that read ``../shared/oracles`` are skipped with one
summary line saying how many did not run and why, unless ``K8SSEC_REQUIRE_ORACLES=1`` (CI) makes that
absence an error. Go module data is looked up in the module cache and is never optional.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

JUDGES = """
def test_judge_one(oracles):
    assert (oracles / "answer.txt").read_text() == "42"

def test_judge_two(oracles):
    assert oracles.is_dir()

def test_no_judge():
    pass
"""


@pytest.fixture
def clone(pytester: pytest.Pytester) -> Path:
    """``<tmp>/clone`` holding the project's conftest and module pins; ``<tmp>/shared`` is its ``../shared``."""
    root = pytester.path / "clone"
    (root / "tests" / "oracles").mkdir(parents=True)
    shutil.copy(ROOT / "conftest.py", root / "conftest.py")
    shutil.copy(ROOT / "tests" / "oracles" / "go-modules.txt", root / "tests" / "oracles" / "go-modules.txt")
    (root / "test_judges.py").write_text(JUDGES)
    return root


def test_absent_shared_oracles_are_reported_as_not_run(
    pytester: pytest.Pytester, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("K8SSEC_REQUIRE_ORACLES", raising=False)
    result = pytester.runpytest_subprocess(str(clone), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2)
    summary = [line for line in result.outlines if line.startswith("k8ssec oracles:")]
    assert summary == [
        f"k8ssec oracles: 2 judge tests not run: {pytester.path / 'shared' / 'oracles'} is absent "
        "(set K8SSEC_REQUIRE_ORACLES=1 to make that an error; see README.md, Developing)"
    ]


def test_ci_requires_the_shared_oracles(
    pytester: pytest.Pytester, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K8SSEC_REQUIRE_ORACLES", "1")
    result = pytester.runpytest_subprocess(str(clone), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*shared/oracles is missing and K8SSEC_REQUIRE_ORACLES=1 requires it*"])
    assert "judge tests not run" not in result.stdout.str()


def test_present_shared_oracles_are_judged(
    pytester: pytest.Pytester, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K8SSEC_REQUIRE_ORACLES", "1")
    shared = pytester.path / "shared" / "oracles"
    shared.mkdir(parents=True)
    (shared / "answer.txt").write_text("41")
    result = pytester.runpytest_subprocess(str(clone), "-p", "no:cacheprovider")
    # A judge that reads wrong data fails: present data is judged, not skipped.
    result.assert_outcomes(passed=2, failed=1)
    (shared / "answer.txt").write_text("42")
    pytester.runpytest_subprocess(str(clone), "-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_a_missing_go_module_fails_naming_the_install_step(
    pytester: pytest.Pytester, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOMODCACHE", str(pytester.path / "empty-modcache"))
    (clone / "test_judges.py").write_text("def test_psa(psa_fixtures):\n    assert psa_fixtures\n")
    result = pytester.runpytest_subprocess(str(clone), "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*k8s.io/pod-security-admission@v0.37.2 is not in the Go module cache*run `bash .ci/install`*"]
    )


def test_psa_rows_are_derived_from_the_module_tree(
    pytester: pytest.Pytester, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = pytester.path / "modcache"
    testdata = cache / "k8s.io" / "pod-security-admission@v0.37.2" / "test" / "testdata"
    for relative in (
        "baseline/v1.0/pass/base.yaml",
        "restricted/v1.29/pass/base_linux.yaml",
        "baseline/v1.37/fail/hostnamespaces12.yaml",
    ):
        (testdata / relative).parent.mkdir(parents=True, exist_ok=True)
        (testdata / relative).write_text("kind: Pod\n")
    monkeypatch.setenv("GOMODCACHE", str(cache))
    (clone / "test_judges.py").write_text(
        "def test_rows(psa_fixtures):\n"
        "    assert [(r['path'], r['expected'], r['check_id_lowercase'], r['index']) for r in psa_fixtures] == [\n"
        "        ('baseline/v1.0/pass/base.yaml', 'pass', '(minimal-valid-pod)', ''),\n"
        "        ('baseline/v1.37/fail/hostnamespaces12.yaml', 'fail', 'hostnamespaces', '12'),\n"
        "        ('restricted/v1.29/pass/base_linux.yaml', 'pass', '(minimal-valid-pod)', ''),\n"
        "    ]\n"
    )
    pytester.runpytest_subprocess(str(clone), "-p", "no:cacheprovider").assert_outcomes(passed=1)
    # A file outside the layout is an error naming it, never a row silently left out.
    (testdata / "baseline/v1.37/fail/notes.yaml").write_text("kind: Pod\n")
    result = pytester.runpytest_subprocess(str(clone), "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*baseline/v1.37/fail/notes.yaml: not a fixture of the*layout*"])


def test_the_psa_fixtures_are_those_of_the_admission_the_control_plane_runs() -> None:
    # The live differential test judges our evaluator against the control plane's PodSecurity
    # admission; its fixtures must come from the same module version.
    go_mod = (ROOT / "controlplane" / "go.mod").read_text()
    replaced = re.search(r"^\s*k8s\.io/pod-security-admission => k8s\.io/pod-security-admission (\S+)", go_mod, re.M)
    assert replaced, "controlplane/go.mod no longer pins k8s.io/pod-security-admission"
    pinned = re.search(
        r"^k8s\.io/pod-security-admission\s+(\S+)", (ROOT / "tests/oracles/go-modules.txt").read_text(), re.M
    )
    assert pinned and pinned.group(1) == replaced.group(1)
