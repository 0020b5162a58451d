"""The binding-level registry checks agree with the binding checks of Polaris and kube-linter.

The data and the way it is read are those of ``test_rbac_linter_agreement.py`` (``../shared/oracles/linters/``,
recorded verdicts, no tool runs): that file compares the RBAC *model* with the peers; this one
compares the registry check ``rbac-risky-binding`` as ``assert_passes`` runs it, over the file's
objects plus the default ClusterRoles (what a manifest target binds without listing).

A choice of the check meets Polaris' definition here, so those cases are compared, not excluded
as the model comparison excludes them: a binding to a role that is neither in the file nor a
default ClusterRole fails (the check fails closed: what it grants is decided outside the
selection), and Polaris fails such a binding too.

Where a definition differs, the case is excluded with its reason (printed with ``-s``); differences
with nothing to compare are in ``DIFFERENCES``, with the checks of ours that no peer's recorded data
covers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.rbac import RISKS, RbacModel
from pytest_k8ssec.sources.manifests import load_text
from tests.oracles.test_rbac_linter_agreement import (
    ADMIN,
    EXEC_ATTACH,
    Case,
    bound_to,
    exempt_binding_name,
    exempt_role_name,
    kube_linter_cases,
    polaris_cases,
    seven_verbs,
)

CHECK = "rbac-risky-binding"
# Fewer compared verdicts than this means a pair silently stopped comparing. Measured: 72 (Polaris
# 70, kube-linter 2; 26 Polaris cases excluded with a reason), no disagreement.
FLOOR = 70
_GETS = re.compile(r"(?:gets |; )([a-z][a-z-]+)(?= \(| cluster-wide| in namespace)")

Reason = Callable[[K8sObject, tuple[K8sObject, ...]], "str | None"]


def findings_of(obj: K8sObject, objects: tuple[K8sObject, ...]) -> list[str]:
    """Our findings' messages on ``obj``, the check run over the whole file as ``assert_passes`` would."""
    return [f.message for f in evaluate([builtin_registry().get(CHECK)], list(objects)) if f.obj is obj]


def risky(risks: frozenset[str]) -> Callable[[K8sObject, tuple[K8sObject, ...]], bool]:
    """The binding fails: a subject gets one of ``risks`` through it, or it cannot be judged."""

    def verdict(obj: K8sObject, objects: tuple[K8sObject, ...]) -> bool:
        for message in findings_of(obj, objects):
            if message.startswith("cannot be judged") or set(_GETS.findall(message)) & risks:
                return True
        return False

    return verdict


def also(pair: Pair, obj: K8sObject, objects: tuple[K8sObject, ...]) -> bool:
    checks = [builtin_registry().get(check_id) for check_id in pair.also]
    return any(f.obj is obj for f in evaluate(checks, list(objects)))


def _model(objects: tuple[K8sObject, ...]) -> RbacModel:
    return RbacModel.from_objects(objects, defaults=None)


def adapt(reason: Callable[[K8sObject, RbacModel], str | None]) -> Reason:
    """The other file's exclusions take the file's model (no defaults, as the peers see the file)."""
    return lambda obj, objects: reason(obj, _model(objects))


@dataclass(frozen=True)
class Pair:
    tool: str
    theirs: str
    kinds: frozenset[str]
    risks: frozenset[str]
    note: str
    only: tuple[Reason, ...] = ()
    # Other registry checks whose findings on the binding count as ours (the catalog's split of the question).
    also: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.tool}:{self.theirs}"


RB = frozenset({"RoleBinding"})
CRB = frozenset({"ClusterRoleBinding"})
BINDINGS = RB | CRB
_POLARIS = (adapt(exempt_binding_name),)

PAIRS: tuple[Pair, ...] = (
    Pair(
        "polaris",
        "clusterrolebindingPodExecAttach",
        CRB,
        EXEC_ATTACH,
        "the bound ClusterRole allows exec or attach",
        (*_POLARIS, adapt(exempt_role_name("view", "cluster-admin"))),
    ),
    Pair(
        "polaris",
        "rolebindingClusterRolePodExecAttach",
        RB,
        EXEC_ATTACH,
        "the bound ClusterRole allows exec or attach",
        (adapt(bound_to("ClusterRole")), *_POLARIS),
    ),
    Pair(
        "polaris",
        "rolebindingRolePodExecAttach",
        RB,
        EXEC_ATTACH,
        "the bound Role allows exec or attach",
        (adapt(bound_to("Role")), *_POLARIS),
    ),
    Pair(
        "polaris",
        "clusterrolebindingClusterAdmin",
        CRB,
        ADMIN,
        "a binding to cluster-admin or to a role with '*' on '*'",
        (*_POLARIS, adapt(exempt_role_name("view")), adapt(seven_verbs)),
        # A file that redefines cluster-admin narrowly: rbac-risky-binding judges the rules given,
        # rbac-cluster-admin-binding the name (the API server reconciles the default's rules back).
        also=("rbac-cluster-admin-binding",),
    ),
    Pair(
        "polaris",
        "rolebindingClusterAdminClusterRole",
        RB,
        ADMIN,
        "a RoleBinding to cluster-admin or to a ClusterRole with '*' on '*'",
        (adapt(bound_to("ClusterRole")), *_POLARIS, adapt(seven_verbs)),
        also=("rbac-cluster-admin-binding",),
    ),
    Pair(
        "polaris",
        "rolebindingClusterAdminRole",
        RB,
        ADMIN,
        "a RoleBinding to a Role with '*' on '*'",
        (adapt(bound_to("Role")), *_POLARIS, adapt(seven_verbs)),
    ),
    Pair(
        "kube-linter",
        "access-to-create-pods",
        BINDINGS,
        frozenset({"create-pods", "wildcard-all", "cluster-admin-service-account"}),
        "create on pods or a pod-creating workload",
    ),
    Pair(
        "kube-linter",
        "access-to-secrets",
        BINDINGS,
        frozenset({"read-secrets", "wildcard-all", "cluster-admin-service-account"}),
        "get/list/watch on secrets",
    ),
)


@dataclass(frozen=True)
class Difference:
    tool: str
    theirs: str
    reason: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "trivy",
        "KSV111 (rbac-admin-edit-service-account)",
        "KSV111 reports every binding whose roleRef is named cluster-admin, admin or edit, whatever its kind and "
        "subjects; rbac-admin-edit-service-account reports only service-account subjects of the built-in "
        "ClusterRoles admin and edit (they are meant for people; a Role named admin is the namespace's own), and "
        "cluster-admin is rbac-cluster-admin-binding's. No Trivy verdicts are recorded in the oracle data: its "
        "own test cases are compared below.",
    ),
    Difference(
        "kube-linter",
        "access-to-secrets create/delete",
        "kube-linter also reports create, delete and '*' on secrets; our read-secrets entry is get, list and "
        "watch (creating a Secret is not reading one; '*' is wildcard-all for us).",
    ),
    Difference(
        "(none)",
        "rbac-role-ref-missing, rbac-service-account-missing",
        "No peer with recorded data has these as checks on bindings: kube-linter's non-existent-service-account "
        "and Kubescape C-0307 judge workloads' service accounts; Polaris fails a binding to a missing role only "
        "as part of its exec/attach and cluster-admin checks (compared above through rbac-risky-binding).",
    ),
)


@dataclass
class Outcome:
    compared: list[tuple[str, bool, bool]] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)


def cases_of(pair: Pair, oracles: Path) -> list[Case]:
    if pair.tool == "polaris":
        return polaris_cases(oracles, pair.theirs, pair.kinds)
    return [case for case in kube_linter_cases(oracles, pair.theirs) if case.judged[0].kind in pair.kinds]


_outcomes: dict[tuple[str, Path], Outcome] = {}


def compare(pair: Pair, oracles: Path) -> Outcome:
    key = (pair.id, oracles)
    if key in _outcomes:
        return _outcomes[key]
    outcome = Outcome()
    for case in cases_of(pair, oracles):
        if not case.judged:
            outcome.excluded.append((case.where, "no binding of the check's kind in the file"))
            continue
        reasons = [r for obj in case.judged for only in pair.only if (r := only(obj, case.objects))]
        if reasons:
            outcome.excluded.append((case.where, "; ".join(dict.fromkeys(reasons))))
            continue
        ours = any(risky(pair.risks)(obj, case.objects) or also(pair, obj, case.objects) for obj in case.judged)
        outcome.compared.append((case.where, case.fails, ours))
    _outcomes[key] = outcome
    return outcome


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.id for pair in PAIRS])
def test_risky_binding_agrees(pair: Pair, oracles: Path) -> None:
    outcome = compare(pair, oracles)
    print(f"\n{pair.id}: {len(outcome.compared)} compared, {len(outcome.excluded)} excluded")
    for where, why in outcome.excluded:
        print(f"  excluded {where}: {why}")
    assert outcome.compared, f"{pair.id}: nothing compared"
    assert any(theirs for _, theirs, _ in outcome.compared), f"{pair.id}: no failing case compared"
    problems = [
        f"  {where}: {pair.tool} {'fails' if t else 'passes'}, {CHECK} {'fails' if o else 'passes'}"
        for where, t, o in outcome.compared
        if t != o
    ]
    assert not problems, f"{pair.id} ({pair.note}): {len(problems)} disagreement(s)\n" + "\n".join(problems)


def test_compared_count(oracles: Path) -> None:
    per_tool: Counter[str] = Counter()
    for pair in PAIRS:
        per_tool[pair.tool] += len(compare(pair, oracles).compared)
    total = sum(per_tool.values())
    print(f"\n{CHECK} agreement: {total} verdicts compared: " + ", ".join(f"{t} {n}" for t, n in per_tool.items()))
    assert total >= FLOOR, f"only {total} verdicts compared (floor {FLOOR})"


# Trivy KSV111 ("User with admin access", the version whose readRoleRefs are cluster-admin, admin
# and edit), as its rego reads: it denies any RoleBinding or ClusterRoleBinding whose roleRef.name is
# one of them, whatever the roleRef kind and the subjects. (binding kind, roleRef kind, roleRef name,
# subject kind and name, Trivy's verdict.)
KSV111_CASES = (
    ("RoleBinding", "Role", "cluster-admin", ("User", "jane"), True),
    ("ClusterRoleBinding", "ClusterRole", "edit", ("User", "jane"), True),
    ("RoleBinding", "ClusterRole", "admin", ("Group", "shop-team"), True),
    ("RoleBinding", "Role", "clusteradmin", ("User", "jane"), False),
)


@pytest.mark.parametrize(("kind", "ref_kind", "ref_name", "subject", "trivy_fails"), KSV111_CASES)
def test_admin_edit_service_account_differs_from_ksv111_on_purpose(
    kind: str, ref_kind: str, ref_name: str, subject: tuple[str, str], trivy_fails: bool
) -> None:
    # None of these names a service account, so each passes ours: admin and edit are meant for
    # people, and cluster-admin (only a ClusterRole of that name is it) is rbac-cluster-admin-binding's.
    # The same binding of the ClusterRole edit to a service account fails ours, where Trivy fails too.
    namespace = "\n  namespace: default" if kind == "RoleBinding" else ""
    text = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata:
  name: case{namespace}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {ref_kind}, name: {ref_name}}}
subjects: [{{kind: {subject[0]}, name: "{subject[1]}", apiGroup: rbac.authorization.k8s.io}}]
"""
    # The table restates the rule: Trivy fails exactly the names it lists.
    assert trivy_fails == (ref_name in ("cluster-admin", "admin", "edit"))
    check = builtin_registry().get("rbac-admin-edit-service-account")
    assert evaluate([check], load_text(text, "ksv111.yaml")) == []
    as_service_account = text.replace(f"kind: {ref_kind}, name: {ref_name}", "kind: ClusterRole, name: edit").replace(
        f'{{kind: {subject[0]}, name: "{subject[1]}", apiGroup: rbac.authorization.k8s.io}}',
        "{kind: ServiceAccount, name: ci, namespace: default}",
    )
    assert [f.path for f in evaluate([check], load_text(as_service_account, "sa.yaml"))] == ["subjects[0]"]


def test_tables_are_consistent() -> None:
    ids = [pair.id for pair in PAIRS]
    assert len(ids) == len(set(ids))
    for pair in PAIRS:
        assert pair.risks <= set(RISKS), pair.id
    for check_id in (CHECK, "rbac-admin-edit-service-account", "rbac-role-ref-missing", "rbac-service-account-missing"):
        assert check_id in builtin_registry()
    assert all(difference.reason for difference in DIFFERENCES)
