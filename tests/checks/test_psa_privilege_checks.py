"""Our PSS-derived checks agree with Pod Security admission's own fixtures (``test/testdata`` of the
Go module ``k8s.io/pod-security-admission`` the control plane pins; see the root conftest.py).

Every fail fixture of a control must give a finding of the check(s) implementing it, at every
policy version where the control exists; every pass fixture must give none. Known, documented
divergences: our checks do not apply the v1.35 ``hostUsers: false`` relaxation of runAsNonRoot
and runAsUser (see their module docstrings), so such pass fixtures are left out for those two.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_k8ssec.checks import (
    capabilities_added,
    capabilities_not_dropped,
    dangerous_capabilities,
    host_namespaces,
    host_port,
    privilege_escalation_allowed,
    run_as_root_allowed,
    run_as_user_root,
)
from pytest_k8ssec.checks._check import Check
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.sources.manifests import load_file

# capabilities_restricted = drop ALL + add nothing but NET_BIND_SERVICE.
_RESTRICTED_ADD = capabilities_added.configure(["NET_BIND_SERVICE"])

# PSA check id (lower case, as the fixtures name it) -> (first version, our checks).
CONTROLS: dict[str, tuple[tuple[int, int], tuple[Check, ...]]] = {
    "allowprivilegeescalation": ((1, 8), (privilege_escalation_allowed.CHECK,)),
    "capabilities_restricted": ((1, 22), (capabilities_not_dropped.CHECK, _RESTRICTED_ADD)),
    "runasnonroot": ((1, 0), (run_as_root_allowed.CHECK,)),
    "runasuser": ((1, 23), (run_as_user_root.CHECK,)),
    "capabilities_baseline": ((1, 0), (capabilities_added.CHECK,)),
    "hostnamespaces": ((1, 0), (host_namespaces.CHECK,)),
    "hostports": ((1, 0), (host_port.CHECK,)),
}
_USERNS_RELAXED = {run_as_root_allowed.CHECK.id, run_as_user_root.CHECK.id}


def _version(text: str) -> tuple[int, int]:
    major, minor = text.removeprefix("v").split(".")
    return int(major), int(minor)


@pytest.mark.parametrize("control", sorted(CONTROLS))
def test_fail_fixtures_fail(psa_testdata: Path, psa_fixtures: list[dict[str, str]], control: str) -> None:
    since, checks = CONTROLS[control]
    rows = [
        row
        for row in psa_fixtures
        if row["expected"] == "fail" and row["check_id_lowercase"] == control and _version(row["version"]) >= since
    ]
    assert rows, f"no fail fixtures for {control}"
    missed = [row["path"] for row in rows if not evaluate(checks, load_file(psa_testdata / row["path"]))]
    assert missed == []


def _checks_for(level: str, version: tuple[int, int]) -> list[Check]:
    checks = [host_namespaces.CHECK, host_port.CHECK]
    if level == "baseline":
        return [*checks, capabilities_added.CHECK]
    checks += [run_as_root_allowed.CHECK, dangerous_capabilities.CHECK]
    for control in ("allowprivilegeescalation", "runasuser", "capabilities_restricted"):
        since, ours = CONTROLS[control]
        if version >= since:
            checks += ours
    if version < CONTROLS["capabilities_restricted"][0]:
        checks.append(capabilities_added.CHECK)
    return checks


def test_pass_fixtures_pass(psa_testdata: Path, psa_fixtures: list[dict[str, str]]) -> None:
    rows = [row for row in psa_fixtures if row["expected"] == "pass"]
    assert rows
    extra = []
    for row in rows:
        objects = load_file(psa_testdata / row["path"])
        checks = _checks_for(row["level"], _version(row["version"]))
        if any(obj.raw.get("spec", {}).get("hostUsers") is False for obj in objects):
            checks = [check for check in checks if check.id not in _USERNS_RELAXED]
        extra += [f"{row['path']}: {f.check.id}: {f.message}" for f in evaluate(checks, objects)]
    assert extra == []
