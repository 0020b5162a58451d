"""Data-driven check tests: tests/data/checks/<check-id>/{pass,fail}-<case>.yaml.

A ``pass-*`` file must give no finding of its check on any object (a selection check judges the
file's objects together); a ``fail-*`` file must give at
least one, and exactly the field paths its ``# expect: <path>`` lines list. A ``# configure: {json}``
line runs the check as its module's ``configure(**json)`` builds it (checks that take a policy).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_k8ssec.checks import BUILTIN_CHECK_MODULES, Check, CheckKind, builtin_registry, module_name
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.netpol import NetworkModel
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import is_workload
from pytest_k8ssec.sources.manifests import load_file

DATA = Path(__file__).parent.parent / "data" / "checks"
_EXPECT = re.compile(r"^#\s*expect:\s*(\S.*?)\s*$", re.MULTILINE)
_CONFIGURE = re.compile(r"^#\s*configure:\s*(\{.*\})\s*$", re.MULTILINE)


def _check_for(check_id: str, text: str) -> Check:
    configured = _CONFIGURE.search(text)
    if configured is None:
        return builtin_registry().get(check_id)
    for entry in BUILTIN_CHECK_MODULES:
        module = importlib.import_module(module_name(entry))
        if module.CHECK.id == check_id:
            check: Check = module.configure(**json.loads(configured.group(1)))
            assert check.id == check_id
            return check
    raise AssertionError(f"no module for {check_id}")


def _cases() -> list[pytest.param]:
    cases = []
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.yaml")):
            cases.append(pytest.param(folder.name, path, id=f"{folder.name}/{path.stem}"))
    return cases


@pytest.mark.parametrize(("check_id", "path"), _cases())
def test_check_verdict(check_id: str, path: Path) -> None:
    check = _check_for(check_id, path.read_text())
    objects = load_file(path)
    assert objects, f"{path} holds no object"
    assert any(check.applies_to(obj) for obj in objects), f"{check_id} applies to nothing in {path}"
    findings = evaluate([check], objects)
    paths = sorted(f.path for f in findings)
    if path.name.startswith("pass-"):
        assert findings == [], f"{path.name} must pass {check_id}: {[f.message for f in findings]}"
    else:
        assert path.name.startswith("fail-"), f"{path.name}: data files are pass-* or fail-*"
        assert findings, f"{path.name} must fail {check_id}"
        expected = sorted(_EXPECT.findall(path.read_text()))
        assert expected, f"{path.name}: a fail case lists its '# expect: <field path>' lines"
        assert paths == expected
        for finding in findings:
            assert finding.message, "every violation has a message"


# Its default fails closed (no scan reports); its passes need reports: tests/unit/test_vulnerabilities.py.
NO_PASS_WITHOUT_PARAMETERS = {"image-vulnerable"}


def test_every_check_has_pass_and_fail_data() -> None:
    folders = {p.name for p in DATA.iterdir() if p.is_dir()}
    # Requirement checks answer the test's question, not objects': their helpers' tests cover them.
    ids = {check.id for check in builtin_registry() if check.kind is not CheckKind.REQUIREMENT}
    assert folders - ids == set(), "data folders without an object or selection check"
    for check_id in sorted(ids):
        names = [p.name for p in (DATA / check_id).glob("*.yaml")] if check_id in folders else []
        if check_id not in NO_PASS_WITHOUT_PARAMETERS:
            assert any(n.startswith("pass-") for n in names), f"{check_id} has no pass-* data"
        assert any(n.startswith("fail-") for n in names), f"{check_id} has no fail-* data"


def _network_helper(check_id: str) -> Callable[[NetworkModel, list[K8sObject]], None]:
    # The helper that asks the same question of every workload (or namespace) in the file.
    from pytest_k8ssec.asserts import network

    def workloads(objs: list[K8sObject]) -> list[K8sObject]:
        return [o for o in objs if is_workload(o)]

    def default_deny(net: NetworkModel, objs: list[K8sObject]) -> None:
        for namespace in sorted({o.namespace for o in workloads(objs) if o.namespace}):
            network.assert_default_deny(net, namespace, direction="ingress")

    helpers: dict[str, Callable[[NetworkModel, list[K8sObject]], None]] = {
        "network-not-isolated": lambda net, objs: network.assert_isolated(net, workloads(objs), direction="ingress"),
        "network-egress-not-isolated": lambda net, objs: network.assert_isolated(
            net, workloads(objs), direction="egress"
        ),
        "network-egress-unrestricted": lambda net, objs: network.assert_egress_restricted(net, workloads(objs)),
        "network-policy-ineffective": lambda net, objs: network.assert_network_policies_effective(net),
        "network-default-deny-missing": default_deny,
    }
    return helpers[check_id]


NETWORK_SELECTION_CASES = [
    case
    for case in _cases()
    if case.values[0]
    in {
        "network-not-isolated",
        "network-egress-unrestricted",
        "network-policy-ineffective",
        "network-default-deny-missing",
        "network-egress-not-isolated",
    }
    and "# configure:" not in case.values[1].read_text()
]


@pytest.mark.parametrize(("check_id", "path"), NETWORK_SELECTION_CASES)
def test_network_selection_checks_agree_with_their_helpers(check_id: str, path: Path) -> None:
    # One rule, two entry points: the registry check on the whole file and the helper asked of
    # every workload in it pass and fail together.
    objects = load_file(path)
    check_fails = bool(evaluate([builtin_registry().get(check_id)], objects))
    try:
        _network_helper(check_id)(NetworkModel.from_objects(objects, endpoints="workloads"), objects)
        helper_fails = False
    except SecurityAssertionError:
        helper_fails = True
    assert check_fails == helper_fails == path.name.startswith("fail-")


@pytest.mark.parametrize(("check_id", "path"), [c for c in _cases() if c.values[0] == "rbac-cluster-admin-subject"])
def test_cluster_admin_subjects_agree_with_assert_not_cluster_admin(check_id: str, path: Path) -> None:
    from pytest_k8ssec.asserts.rbac import assert_not_cluster_admin
    from pytest_k8ssec.model.rbac import RbacModel
    from pytest_k8ssec.sources.default_roles import default_roles

    objects = load_file(path)
    model = RbacModel.from_objects(objects, defaults=default_roles("latest"))
    reported = {(f.obj.ref, f.path) for f in evaluate([builtin_registry().get(check_id)], objects)}
    admins = set()
    for binding in model.bindings:
        for subject in binding.subjects:
            try:
                assert_not_cluster_admin(model, subject)
            except SecurityAssertionError:
                admins.add(subject)
    # Every subject the helper calls cluster-admin is reported on its binding, and nothing else.
    expected = {
        (b.obj.ref, f"subjects[{i}]")
        for b in model.bindings
        if b.obj is not None and b.kind == "ClusterRoleBinding"
        for i, s in enumerate(b.subjects)
        if s in admins
    }
    assert reported == expected
    assert bool(reported) == path.name.startswith("fail-")
