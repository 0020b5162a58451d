"""Control markers are validated, --k8s-controls selects by them, k8s_extra_controls adds ids: real pytest runs."""

from __future__ import annotations

import pytest

from pytest_k8ssec.checks._controls import known

SUITE = """
import pytest

@pytest.mark.k8s_control("CIS-5.2.2", "PSS-baseline-privileged-containers")
def test_privileged():
    pass

@pytest.mark.k8s_control("CIS-5.2.6")
def test_escalation():
    pass

@pytest.mark.k8s_control("NSA-net-policies")
def test_network():
    pass

@pytest.mark.k8s_control("MITRE-T1611")
class TestEscape:
    def test_host_pid(self):
        pass

    @pytest.mark.k8s_control("CIS-5.2.3")
    def test_host_pid_cis(self):
        pass

def test_unmarked():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(SUITE)
    return pytester


def _ran(result: pytest.RunResult) -> set[str]:
    return {line.split("::")[-1].split(" ")[0] for line in result.outlines if " PASSED" in line}


def test_without_a_selection_every_test_runs(suite: pytest.Pytester) -> None:
    suite.runpytest("-p", "no:randomly").assert_outcomes(passed=6)


def test_a_pattern_keeps_the_matching_tests_and_deselects_the_rest(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--k8s-controls=CIS-5.2.*", "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=3, deselected=3)
    assert _ran(result) == {"test_privileged", "test_escalation", "test_host_pid_cis"}
    result.stdout.fnmatch_lines(["k8ssec: --k8s-controls CIS-5.2.*: 3 test(s) selected, 3 deselected"])
    assert result.ret == pytest.ExitCode.OK


def test_patterns_repeat_and_class_markers_count(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--k8s-controls=NSA-*", "--k8s-controls=MITRE-T1611", "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=3, deselected=3)
    assert _ran(result) == {"test_network", "test_host_pid", "test_host_pid_cis"}


def test_the_ini_key_selects_and_the_command_line_wins(suite: pytest.Pytester) -> None:
    suite.makeini("[pytest]\nk8s_controls =\n    PSS-baseline-*\n    NSA-net-policies\n")
    result = suite.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2, deselected=4)
    assert _ran(result) == {"test_privileged", "test_network"}
    result = suite.runpytest("--k8s-controls=CIS-5.2.6", "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=1, deselected=5)


def test_a_pattern_that_matches_no_known_control_is_a_usage_error(suite: pytest.Pytester) -> None:
    # Kubescape #3551: a typo excluded every control and the run exited 0.
    result = suite.runpytest("--k8s-controls=CIS-5.2.22*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--k8s-controls 'CIS-5.2.22*' matches no known control id; did you mean*"])
    result = suite.runpytest("--k8s-controls=CIS-5.7.*")  # the v1.10 numbering of General Policies
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--k8s-controls 'CIS-5.7.*' matches no known control id*"])


def test_valid_patterns_that_select_no_test_do_not_look_green(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--k8s-controls=CIS-5.3.*")
    result.assert_outcomes(deselected=6)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(
        ["k8ssec: --k8s-controls CIS-5.3.*: 0 test(s) selected, 6 deselected (no test is marked *k8s_control*)"]
    )


def test_an_unknown_marker_id_is_a_usage_error_naming_test_id_and_close_matches(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_control("CIS-5.2.2", "CIS-5.7.1")
        def test_general():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*test_an_unknown_marker_id_is_a_usage_error_naming_test_id_and_close_matches.py::test_general: "
            "@pytest.mark.k8s_control: unknown control id 'CIS-5.7.1'; CIS v1.9/v1.10 numbered General Policies 5.7, "
            "v1.12 (the numbering of these ids) 5.6: did you mean 'CIS-5.6.1'?"
        ]
    )


def test_a_typo_on_a_deselected_test_is_still_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_control("CIS-5.2.2")
        def test_kept():
            pass

        @pytest.mark.k8s_control("NSA-net-policy")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest("--k8s-controls=CIS-*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_typo: @pytest.mark.k8s_control: unknown control id 'NSA-net-policy'*"])


def test_extra_controls_are_known_to_markers_and_selection_for_that_run_only(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nk8s_extra_controls =\n    TEAM-OWNERS: Every workload names its owning team\n")
    pytester.makepyfile(
        """
        import pytest
        from pytest_k8ssec.checks._controls import control

        @pytest.mark.k8s_control("TEAM-OWNERS")
        def test_owners():
            assert control("TEAM-OWNERS").title == "Every workload names its owning team"

        @pytest.mark.k8s_control("CIS-5.2.2")
        def test_cis():
            pass
        """
    )
    result = pytester.runpytest("--k8s-controls=TEAM-*", "-p", "no:randomly")
    result.assert_outcomes(passed=1, deselected=1)
    # The catalog is process-wide: the run removed its own ids at the end.
    assert not known("TEAM-OWNERS")
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_owners: @pytest.mark.k8s_control: unknown control id 'TEAM-OWNERS'*"])
    result = pytester.runpytest(
        "--k8s-extra-control=TEAM-OWNERS: Every workload names its owning team", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("TEAM-1 has no title", "k8s_extra_controls entry 2: 'TEAM-1 has no title' must read 'ID: title'"),
        ("CIS-5.2.2: our own privileged rule", "k8s_extra_controls entry 2: control id 'CIS-5.2.2' is already known"),
        ("TEAM *: spaces", "k8s_extra_controls entry 2: control id 'TEAM *' must be letters*"),
    ],
)
def test_a_bad_extra_control_line_is_a_usage_error_naming_the_entry(
    pytester: pytest.Pytester, line: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\nk8s_extra_controls =\n    TEAM-0: fine\n    {line}\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert not known("TEAM-0")  # the entries before the bad one are not left behind


def test_a_plugin_check_may_claim_an_extra_control(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nk8s_extra_controls = TEAM-LABELS: Workloads carry the team label\n")
    pytester.makeconftest(
        """
        from pytest_k8ssec.checks import Category, Check, Severity

        def pytest_k8ssec_register_checks(registry):
            registry.add(Check(
                id="team-label-missing", title="t", summary="s", remediation="Add the label.",
                category=Category.SCHEMA, severity=Severity.LOW, evaluate=lambda obj: [],
                controls=("TEAM-LABELS",),
            ))
        """
    )
    pytester.makepyfile(
        """
        from pytest_k8ssec.checks import active_registry

        def test_registered():
            assert active_registry().get("team-label-missing").controls == ("TEAM-LABELS",)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
