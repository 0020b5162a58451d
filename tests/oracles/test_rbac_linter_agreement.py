"""Our RBAC checks and RBAC model agree with the RBAC cases of Polaris and kube-linter.

The data lives in ``../shared/oracles/linters/`` and is read in place. Role checks (Polaris
``clusterrolePodExecAttach``, ``rolePodExecAttach``; kube-linter ``wildcard-in-rules``) compare with a
registry check on the one object. Binding checks need the binding and its role together: our verdict
for a binding comes from the RBAC model built from the file's objects (no default roles, as the
linters see only the file): the catalog entries (pytest_k8ssec.model.rbac.risks) that its subjects
hold through it, exactly what ``assert_no_risky_permissions`` reports.

A Polaris file is one verdict: it fails when any object of the check's kind fails. kube-linter
labels objects: those a report points at fail, the others (``dont-fire`` among them) pass.

Where a definition differs, the objects on which it differs are excluded with the reason (``only``);
checks with nothing comparable are in ``DIFFERENCES``. Run with ``-s`` for the counts.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_k8ssec.asserts.rbac import to_user
from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac import RbacModel, subject_risks
from pytest_k8ssec.sources.manifests import load_file

# Fewer compared verdicts than this means a pair silently stopped comparing. Measured: 101
# (Polaris 95 + 35 excluded with a reason, kube-linter 6).
FLOOR = 95

EXEC_ATTACH = frozenset({"pods-exec", "pods-attach", "wildcard-all", "cluster-admin-service-account"})
ADMIN = frozenset({"wildcard-all", "cluster-admin-service-account"})
# Names Polaris never alerts on, whatever their rules (its check definitions' "default" exemptions).
POLARIS_EXEMPT = re.compile(r"^(system:.*|gce:podsecuritypolicy:calico-sa)$")


@dataclass(frozen=True)
class Case:
    where: str
    objects: tuple[K8sObject, ...]
    fails: bool  # their verdict
    judged: tuple[K8sObject, ...]  # the objects of their check's kind whose verdict makes up the file's


Verdict = Callable[[K8sObject, RbacModel], bool]
Reason = Callable[[K8sObject, RbacModel], "str | None"]


@dataclass(frozen=True)
class Pair:
    tool: str
    theirs: str
    kinds: frozenset[str]
    ours: str  # what of ours is compared, for messages
    verdict: Verdict
    note: str
    only: tuple[Reason, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.tool}:{self.theirs}"


# --- our verdicts ---------------------------------------------------------------------------------


def check_ids(check_id: str, risks: frozenset[str] | None = None) -> Verdict:
    """An object fails our registry check (only findings naming one of ``risks`` count, if given)."""

    def verdict(obj: K8sObject, model: RbacModel) -> bool:
        findings = evaluate([builtin_registry().get(check_id)], [obj])
        assert all(f.path for f in findings), f"{check_id} could not evaluate {obj.ref}"
        if risks is None:
            return bool(findings)
        return any(re.match(r"grants ([\w-]+) ", f.message) and f.message.split()[1] in risks for f in findings)

    return verdict


def binding_risks(risks: frozenset[str]) -> Verdict:
    """Some subject of the binding holds one of ``risks`` through it (the model's answer)."""

    def verdict(obj: K8sObject, model: RbacModel) -> bool:
        binding = next((b for b in model.bindings if b.obj is obj), None)
        assert binding is not None, f"{obj.ref} was rejected: {model.problems}"
        for subject in binding.subjects:
            perms = [p for p in model.permissions(to_user(subject)) if p.binding == binding.ref]
            if any(hit.risk.id in risks for hit in subject_risks(perms)):
                return True
        return False

    return verdict


def either(*verdicts: Verdict) -> Verdict:
    return lambda obj, model: any(v(obj, model) for v in verdicts)


# --- where the definitions coincide --------------------------------------------------------------


def exempt_name(obj: K8sObject, model: RbacModel) -> str | None:
    if POLARIS_EXEMPT.match(obj.name) or obj.name in ("admin", "edit", "cluster-admin"):
        return f"Polaris exempts the name {obj.name!r} whatever its rules; we judge rules (a default role by content)"
    return None


def exempt_binding_name(obj: K8sObject, model: RbacModel) -> str | None:
    if POLARIS_EXEMPT.match(obj.name) or obj.name == "cluster-admin":
        return f"Polaris exempts the binding name {obj.name!r} whatever it grants; we judge what it grants"
    return None


def _role_ref(obj: K8sObject) -> tuple[str, str]:
    ref = as_mapping(obj.raw.get("roleRef"))
    return str(ref.get("kind")), str(ref.get("name"))


def exempt_role_name(*names: str) -> Reason:
    def reason(obj: K8sObject, model: RbacModel) -> str | None:
        # The system:/gce exemptions of the role schema test the binding's own name (its template
        # variables are the binding's), so only roleRef names listed here are exempt.
        _kind, name = _role_ref(obj)
        if name in names:
            return f"Polaris exempts bindings to the role name {name!r} whatever its rules"
        return None

    return reason


def missing_role(obj: K8sObject, model: RbacModel) -> str | None:
    binding = next((b for b in model.bindings if b.obj is obj), None)
    if (
        binding is not None
        and model.role(binding.role_ref) is None
        and _role_ref(obj) != ("ClusterRole", "cluster-admin")
    ):
        return (
            f"the role {binding.role_ref} is not in the file: Polaris fails a binding to a missing role; the API "
            "server (and our model) grants nothing through it"
        )
    return None


def seven_verbs(obj: K8sObject, model: RbacModel) -> str | None:
    """Polaris counts get, list, watch, create, update, patch, delete on '*' as cluster-admin."""
    binding = next((b for b in model.bindings if b.obj is obj), None)
    role = model.role(binding.role_ref) if binding is not None else None
    for rule in role.rules if role is not None else ():
        if "*" in rule.api_groups and "*" in rule.resources and "*" not in rule.verbs and len(set(rule.verbs)) >= 7:
            return (
                "Polaris treats the seven read/write verbs on '*' as cluster-admin; without escalate, bind, "
                "impersonate, deletecollection ... it is not '*' on '*', which is what we report"
            )
    return None


def bound_to(kind: str) -> Reason:
    """Polaris splits RoleBindings by roleRef kind into two checks; the other kind passes this one."""

    def reason(obj: K8sObject, model: RbacModel) -> str | None:
        if _role_ref(obj)[0] != kind:
            return f"Polaris judges RoleBindings to a {_role_ref(obj)[0]} in its other check; this one passes them"
        return None

    return reason


# --- labelled data --------------------------------------------------------------------------------


def polaris_cases(oracles: Path, check_id: str, kinds: frozenset[str]) -> list[Case]:
    root = oracles / "linters" / "polaris"
    with (root / "index.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["check"] == check_id]
    assert rows, f"polaris index.csv lists no file for {check_id}"
    cases = []
    for row in rows:
        assert row["expected"] in ("pass", "fail"), row
        objects = tuple(load_file(root / row["file"]))
        judged = tuple(obj for obj in objects if obj.kind in kinds)
        cases.append(Case(f"polaris/{row['file']}", objects, row["expected"] == "fail", judged))
    return cases


def kube_linter_cases(oracles: Path, test: str) -> list[Case]:
    """One case per object of the check's kinds: reported (fails) or not."""
    root = oracles / "linters" / "kube-linter"
    entries = [e for e in json.loads((root / "expected_reports.json").read_text()) if e["test"] == test]
    assert len(entries) == 1, test
    entry = entries[0]
    objects = tuple(obj for name in entry["files"] for obj in load_file(root / name))
    reports = [r["kind_and_message"] for r in entry["expected_reports"]]
    count = entry["expected_report_count"]
    pointed: set[int] = set()
    if test == "wildcard-in-rules":
        # The entry gives the count (1) but no report text. Of its two Roles only one spells "*"
        # anywhere, so no definition of a wildcard can report the other: the report is that one.
        assert count == 1 and not reports
        starred = [i for i, obj in enumerate(objects) if "*" in json.dumps(obj.raw.get("rules"))]
        assert len(starred) == 1
        pointed = set(starred)
    else:
        assert count == len(reports), f"{test}: report list incomplete"
        for report in reports:
            kind, _, message = report.partition(": ")
            named = re.search(r'binding to "([^"]+)" role', message)
            targets = [
                i
                for i, obj in enumerate(objects)
                if obj.kind == kind and obj.name != "dont-fire" and (named is None or _role_ref(obj)[1] == named[1])
            ]
            assert len(targets) == 1, f"{test}: {report!r} points at {len(targets)} objects"
            pointed.add(targets[0])
    return [
        Case(f"kube-linter/{entry['files'][0]} {obj.kind}/{obj.name}", objects, i in pointed, (obj,))
        for i, obj in enumerate(objects)
    ]


# --- the pairs ------------------------------------------------------------------------------------

ROLE = frozenset({"Role"})
CLUSTER_ROLE = frozenset({"ClusterRole"})
RB = frozenset({"RoleBinding"})
CRB = frozenset({"ClusterRoleBinding"})
ROLES = ROLE | CLUSTER_ROLE
BINDINGS = RB | CRB

PAIRS: tuple[Pair, ...] = (
    Pair(
        "polaris",
        "clusterrolePodExecAttach",
        CLUSTER_ROLE,
        "rbac-risky-rules (pods-exec, pods-attach)",
        check_ids("rbac-risky-rules", EXEC_ATTACH),
        "a rule allowing get or create on pods/exec or pods/attach in the core group",
        only=(exempt_name,),
    ),
    Pair(
        "polaris",
        "rolePodExecAttach",
        ROLE,
        "rbac-risky-rules (pods-exec, pods-attach)",
        check_ids("rbac-risky-rules", EXEC_ATTACH),
        "a rule allowing get or create on pods/exec or pods/attach in the core group",
        only=(exempt_name,),
    ),
    Pair(
        "polaris",
        "clusterrolebindingPodExecAttach",
        CRB,
        "model: pods-exec/pods-attach through the binding",
        binding_risks(EXEC_ATTACH),
        "the bound ClusterRole allows exec or attach",
        only=(exempt_binding_name, exempt_role_name("view", "cluster-admin"), missing_role),
    ),
    Pair(
        "polaris",
        "rolebindingClusterRolePodExecAttach",
        RB,
        "model: pods-exec/pods-attach through the binding",
        binding_risks(EXEC_ATTACH),
        "the bound ClusterRole allows exec or attach",
        only=(bound_to("ClusterRole"), exempt_binding_name, exempt_role_name(), missing_role),
    ),
    Pair(
        "polaris",
        "rolebindingRolePodExecAttach",
        RB,
        "model: pods-exec/pods-attach through the binding",
        binding_risks(EXEC_ATTACH),
        "the bound Role allows exec or attach",
        only=(bound_to("Role"), exempt_binding_name, exempt_role_name(), missing_role),
    ),
    Pair(
        "polaris",
        "clusterrolebindingClusterAdmin",
        CRB,
        "rbac-cluster-admin-binding, or model: '*' on '*' through the binding",
        either(check_ids("rbac-cluster-admin-binding"), binding_risks(ADMIN)),
        "a binding to cluster-admin or to a role with '*' verbs on '*' resources in '*' groups",
        only=(exempt_binding_name, exempt_role_name("view"), missing_role, seven_verbs),
    ),
    Pair(
        "polaris",
        "rolebindingClusterAdminClusterRole",
        RB,
        "rbac-cluster-admin-binding, or model: '*' on '*' through the binding",
        either(check_ids("rbac-cluster-admin-binding"), binding_risks(ADMIN)),
        "a RoleBinding to cluster-admin or to a ClusterRole with '*' on '*'",
        only=(bound_to("ClusterRole"), exempt_binding_name, exempt_role_name(), missing_role, seven_verbs),
    ),
    Pair(
        "polaris",
        "rolebindingClusterAdminRole",
        RB,
        "model: '*' on '*' through the binding",
        binding_risks(ADMIN),
        "a RoleBinding to a Role with '*' on '*'",
        only=(bound_to("Role"), exempt_binding_name, exempt_role_name(), missing_role, seven_verbs),
    ),
    Pair(
        "kube-linter",
        "access-to-create-pods",
        BINDINGS,
        "model: create-pods through the binding",
        binding_risks(frozenset({"create-pods", "wildcard-all", "cluster-admin-service-account"})),
        "create on pods or a pod-creating workload",
    ),
    Pair(
        "kube-linter",
        "access-to-secrets",
        BINDINGS,
        "model: read-secrets through the binding",
        binding_risks(frozenset({"read-secrets", "wildcard-all", "cluster-admin-service-account"})),
        "get/list/watch on secrets (kube-linter also counts create and delete, which no case here uses)",
    ),
    Pair(
        "kube-linter",
        "cluster-admin-role-binding",
        CRB,
        "rbac-cluster-admin-binding",
        check_ids("rbac-cluster-admin-binding"),
        "a ClusterRoleBinding to cluster-admin",
    ),
    Pair(
        "kube-linter",
        "wildcard-in-rules",
        ROLES,
        "rbac-wildcard",
        check_ids("rbac-wildcard"),
        "'*' in a rule's verbs or resources",
    ),
)


@dataclass(frozen=True)
class Difference:
    tool: str
    theirs: str
    reason: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "polaris",
        "(all RBAC checks) exempt names",
        "Polaris exempts objects named system:*, gce:podsecuritypolicy:calico-sa (and admin, edit, cluster-admin "
        "roles) whatever they grant; we exempt the default roles and bindings by content, so a widened default "
        "or a user role named system:foo is reported. Such cases are excluded, not compared.",
    ),
    Difference(
        "polaris",
        "(binding checks) missing roles",
        "Polaris fails a binding whose role is not in the file; the API server grants nothing through it until "
        "the role exists, and so do our model and checks (RbacModel.problems names it).",
    ),
    Difference(
        "kube-linter",
        "access-to-secrets create/delete",
        "kube-linter also reports create, delete and '*' on secrets; our read-secrets entry is get, list and "
        "watch (creating a Secret is not reading one; '*' is wildcard-all for us).",
    ),
)


# --- comparison -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    compared: list[tuple[str, bool, bool]] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)

    @property
    def disagreements(self) -> list[tuple[str, bool, bool]]:
        return [case for case in self.compared if case[1] != case[2]]


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
        model = RbacModel.from_objects(case.objects, defaults=None)
        if not case.judged:
            outcome.excluded.append((case.where, f"no {'/'.join(sorted(pair.kinds))} in the file"))
            continue
        reasons = [r for obj in case.judged for only in pair.only if (r := only(obj, model))]
        if reasons:
            outcome.excluded.append((case.where, "; ".join(dict.fromkeys(reasons))))
            continue
        ours = any(pair.verdict(obj, model) for obj in case.judged)
        outcome.compared.append((case.where, case.fails, ours))
    _outcomes[key] = outcome
    return outcome


def _verdict(fails: bool) -> str:
    return "fails" if fails else "passes"


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.id for pair in PAIRS])
def test_agreement(pair: Pair, oracles: Path) -> None:
    outcome = compare(pair, oracles)
    print(f"\n{pair.id}: {len(outcome.compared)} compared, {len(outcome.excluded)} excluded")
    for where, why in outcome.excluded:
        print(f"  excluded {where}: {why}")
    assert outcome.compared, f"{pair.id}: nothing compared"
    assert any(theirs for _, theirs, _ in outcome.compared), f"{pair.id}: no failing case compared"
    problems = [
        f"  {where}: {pair.tool} {_verdict(t)}, ours ({pair.ours}) {_verdict(o)}"
        for where, t, o in outcome.disagreements
    ]
    assert not problems, f"{pair.id} ({pair.note}): {len(problems)} disagreement(s)\n" + "\n".join(problems)


def test_compared_count(oracles: Path) -> None:
    per_tool: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    for pair in PAIRS:
        outcome = compare(pair, oracles)
        per_tool[pair.tool] += len(outcome.compared)
        excluded[pair.tool] += len(outcome.excluded)
    total = sum(per_tool.values())
    print(
        f"\nRBAC linter agreement: {total} verdicts compared over {len(PAIRS)} pairs: "
        + ", ".join(f"{tool} {n} (+{excluded[tool]} excluded)" for tool, n in per_tool.items())
    )
    assert set(per_tool) == {"polaris", "kube-linter"}
    assert total >= FLOOR, f"only {total} verdicts compared (floor {FLOOR})"


def test_tables_are_consistent() -> None:
    ids = [pair.id for pair in PAIRS]
    assert len(ids) == len(set(ids))
    registry = builtin_registry()
    for check_id in ("rbac-risky-rules", "rbac-cluster-admin-binding", "rbac-wildcard"):
        assert check_id in registry
    for difference in DIFFERENCES:
        assert difference.reason and difference.tool in ("polaris", "kube-linter")
    # Every Polaris RBAC check of the oracle data is compared.
    assert {p.theirs for p in PAIRS if p.tool == "polaris"} == {
        "clusterrolePodExecAttach", "clusterrolebindingClusterAdmin", "clusterrolebindingPodExecAttach",
        "rolePodExecAttach", "rolebindingClusterAdminClusterRole", "rolebindingClusterAdminRole",
        "rolebindingClusterRolePodExecAttach", "rolebindingRolePodExecAttach",
    }  # fmt: skip
    assert as_list(None) == []  # the helpers this file leans on read missing lists as empty
