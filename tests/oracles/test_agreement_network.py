"""The network exposure and isolation checks agree with the peers that have the same definition.

Issue 16 item 5, on the labelled data the linter agreement already uses (see
``test_linter_agreement.py``): Polaris' and kube-linter's test files in ``../shared/oracles/linters``
(read in place), kube-score's testdata from its Go module (``tests/oracles/go-modules.txt``) with
the grades below, transcribed from the same module's Go tests. Those pairs judge one object given
the others in its file, which isolation needs (the NetworkPolicies), so they are compared here.

Isolation is per direction for us (``network-not-isolated`` judges ingress,
``network-egress-not-isolated`` egress) and per workload for the peers; each peer's label is a
statement about our two verdicts:

- kube-score ``Pod NetworkPolicy``: critical when no policy isolates the pod, warning when one
  direction is isolated, all_ok when both are (it reads policyTypes as written);
- kube-linter ``non-isolated-pod``: reported when no NetworkPolicy selects the pod at all;
- Polaris ``missingNetworkPolicy``: fails unless a policy isolates both directions (and has rules
  in both: see the exclusion).

Where a definition differs on purpose, the case is excluded with its reason, or named by a test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import is_workload
from pytest_k8ssec.sources.manifests import load_file

INGRESS, EGRESS = "network-not-isolated", "network-egress-not-isolated"

# zegl/kube-score v1.20.0, score/networkpolicy_test.go and score/service_test.go: (file, check,
# grade, line of the testExpectedScore call); every call runs the default configuration.
KUBE_SCORE_GRADES: tuple[tuple[str, str, str, int], ...] = (
    ("networkpolicy-not-matching.yaml", "Pod NetworkPolicy", "critical", 11),
    ("networkpolicy-matching.yaml", "Pod NetworkPolicy", "all_ok", 16),
    ("networkpolicy-matching-only-ingress.yaml", "Pod NetworkPolicy", "warning", 21),
    ("networkpolicy-matching-only-egress.yaml", "Pod NetworkPolicy", "warning", 26),
    ("networkpolicy-deployment-matching.yaml", "Pod NetworkPolicy", "all_ok", 47),
    ("networkpolicy-statefulset-matching.yaml", "Pod NetworkPolicy", "all_ok", 53),
    ("networkpolicy-cronjob-matching.yaml", "Pod NetworkPolicy", "all_ok", 59),
    ("networkpolicy-deployment-not-matching-selector.yaml", "Pod NetworkPolicy", "critical", 65),
    ("networkpolicy-statefulset-not-matching-selector.yaml", "Pod NetworkPolicy", "critical", 71),
    ("networkpolicy-cronjob-not-matching-selector.yaml", "Pod NetworkPolicy", "critical", 77),
    ("networkpolicy-targets-all-pods.yaml", "Pod NetworkPolicy", "all_ok", 83),
    ("service-type-nodeport.yaml", "Service Type", "warning", 66),
    ("service-type-clusterip.yaml", "Service Type", "all_ok", 71),
    ("service-type-default.yaml", "Service Type", "all_ok", 76),
)


@dataclass(frozen=True)
class Isolation:
    """Our two verdicts on one workload, given every object of its file."""

    ingress_fails: bool
    egress_fails: bool


def isolation(obj: K8sObject, objects: list[K8sObject]) -> Isolation | str:
    """Our verdicts, or why the selection cannot be judged (then there is nothing to compare)."""
    registry = builtin_registry()
    findings = [f for f in evaluate([registry.get(INGRESS), registry.get(EGRESS)], objects) if f.obj is obj]
    unjudged = [f.message for f in findings if f.path == ""]
    if unjudged:
        return unjudged[0]
    return Isolation(
        any(f.check.id == INGRESS for f in findings),
        any(f.check.id == EGRESS for f in findings),
    )


def _the_workload(objects: list[K8sObject], where: str) -> K8sObject:
    workloads = [o for o in objects if is_workload(o) and o.kind != "PodTemplate"]
    assert len(workloads) == 1, f"{where}: {len(workloads)} workloads; which one is labelled?"
    return workloads[0]


def _policies_of_namespace(obj: K8sObject, objects: list[K8sObject]) -> list[K8sObject]:
    # Only used to find the cases a definition difference decides (each file has one namespace);
    # the verdicts are the model's.
    return [o for o in objects if o.kind == "NetworkPolicy" and (o.namespace == obj.namespace)]


@dataclass
class Outcome:
    compared: list[tuple[str, str, bool]]  # where, their label, agreed
    excluded: list[tuple[str, str]]


def _judge(
    cases: list[tuple[str, list[K8sObject], K8sObject, str]],
    agrees: Callable[[str, Isolation], bool],
    exclude: Callable[[K8sObject, list[K8sObject]], str | None] = lambda obj, objects: None,
) -> Outcome:
    outcome = Outcome([], [])
    for where, objects, obj, label in cases:
        reason = exclude(obj, objects)
        ours = isolation(obj, objects)
        if isinstance(ours, str):
            outcome.excluded.append(
                (where, f"our model refuses the file, as the API server's strict field validation does: {ours}")
            )
        elif reason:
            outcome.excluded.append((where, reason))
        else:
            outcome.compared.append((f"{where} [{label}; ours {ours}]", label, agrees(label, ours)))
    return outcome


def _report(name: str, outcome: Outcome, minimum: int) -> None:
    print(f"\n{name}: {len(outcome.compared)} compared, {len(outcome.excluded)} excluded")
    for where, why in outcome.excluded:
        print(f"  excluded {where}: {why}")
    disagreements = [where for where, _, agreed in outcome.compared if not agreed]
    assert not disagreements, f"{name}: {len(disagreements)} disagreement(s)\n  " + "\n  ".join(disagreements)
    # Fewer compared verdicts than measured means the data moved or a loader broke.
    assert len(outcome.compared) >= minimum, f"{name}: only {len(outcome.compared)} compared (measured {minimum})"


# --- kube-score -------------------------------------------------------------------------------------


def _kube_score_cases(root: Path, check: str) -> list[tuple[str, list[K8sObject], K8sObject, str]]:
    cases = []
    for name, check_name, grade, line in KUBE_SCORE_GRADES:
        if check_name != check:
            continue
        objects = load_file(root / "score" / "testdata" / name)
        where = f"kube-score/score/testdata/{name} (line {line})"
        subject = (
            _the_workload(objects, where)
            if check == "Pod NetworkPolicy"
            else next(o for o in objects if o.kind == "Service")
        )
        cases.append((where, objects, subject, grade))
    return cases


def _policy_types_omitted(obj: K8sObject, objects: list[K8sObject]) -> str | None:
    if any(as_mapping(p.raw.get("spec")).get("policyTypes") is None for p in _policies_of_namespace(obj, objects)):
        return (
            "a policy of the namespace omits policyTypes: kube-score reads the field as written, the API server "
            "defaults it (Ingress, plus Egress when there are egress rules), and we judge the default"
        )
    return None


def test_kube_score_pod_networkpolicy(kube_score_module: Path) -> None:
    def agrees(grade: str, ours: Isolation) -> bool:
        failing = ours.ingress_fails + ours.egress_fails
        return {"critical": 2, "warning": 1, "all_ok": 0}[grade] == failing

    outcome = _judge(_kube_score_cases(kube_score_module, "Pod NetworkPolicy"), agrees, _policy_types_omitted)
    _report("kube-score Pod NetworkPolicy ~ network-not-isolated + network-egress-not-isolated", outcome, 10)


def test_kube_score_one_direction_warnings_name_our_failing_direction(kube_score_module: Path) -> None:
    # The two warnings are one direction each: the record of that direction, and only it, fails.
    for name, expected in (
        ("networkpolicy-matching-only-ingress.yaml", Isolation(ingress_fails=False, egress_fails=True)),
        ("networkpolicy-matching-only-egress.yaml", Isolation(ingress_fails=True, egress_fails=False)),
    ):
        objects = load_file(kube_score_module / "score" / "testdata" / name)
        assert isolation(_the_workload(objects, name), objects) == expected, name


def test_kube_score_service_type(kube_score_module: Path) -> None:
    check = builtin_registry().get("service-externally-exposed")
    cases = _kube_score_cases(kube_score_module, "Service Type")
    compared = [(where, grade == "warning", bool(evaluate([check], [svc]))) for where, _, svc, grade in cases]
    assert [c for c in compared if c[1] != c[2]] == []
    assert len(compared) == 3


# --- kube-linter ------------------------------------------------------------------------------------


def _kube_linter(oracles: Path, test: str) -> tuple[list[K8sObject], list[str]]:
    root = oracles / "linters" / "kube-linter"
    (entry,) = [e for e in json.loads((root / "expected_reports.json").read_text()) if e["test"] == test]
    reports = [r["kind_and_message"] for r in entry["expected_reports"]]
    assert entry["expected_report_count"] == len(reports), f"{test}: report list incomplete"
    objects = [obj for name in entry["files"] for obj in load_file(root / name)]
    return objects, reports


def test_kube_linter_non_isolated_pod(oracles: Path) -> None:
    objects, reports = _kube_linter(oracles, "non-isolated-pod")
    # Reports name the kind only; with the DeploymentConfigs (an OpenShift kind we do not judge)
    # set aside, one Deployment is reported and the one named dont-fire is not.
    assert reports.count("Deployment: pods created by this object are non-isolated") == 1
    deployments = [o for o in objects if o.kind == "Deployment"]
    cases = [
        (
            f"kube-linter non-isolated-pod Deployment/{o.name}",
            objects,
            o,
            "dont-fire" if o.name == "dont-fire" else "reported",
        )
        for o in deployments
    ]

    def agrees(label: str, ours: Isolation) -> bool:
        # Selected by no NetworkPolicy at all = isolated in neither direction (every policy has a type).
        return (label == "reported") == (ours.ingress_fails and ours.egress_fails)

    _report("kube-linter non-isolated-pod ~ both isolation records", _judge(cases, agrees), 2)


def test_kube_linter_exposed_services(oracles: Path) -> None:
    objects, reports = _kube_linter(oracles, "exposed-services")
    assert reports == ['Service: "NodePort" service type is forbidden.']
    check = builtin_registry().get("service-externally-exposed")
    verdicts = {o.name: bool(evaluate([check], [o])) for o in objects if o.kind == "Service"}
    assert verdicts == {"dont-fire": False, "app": True}


# --- Polaris ----------------------------------------------------------------------------------------


def _polaris(oracles: Path, check: str) -> list[tuple[str, list[K8sObject], str]]:
    root = oracles / "linters" / "polaris"
    rows = [line.split(",") for line in (root / "index.csv").read_text().splitlines()[1:]]
    cases = [(f"polaris/{file}", load_file(root / file), expected) for name, file, expected in rows if name == check]
    assert cases, f"polaris index.csv lists no file for {check}"
    return cases


def _a_direction_without_rules(obj: K8sObject, objects: list[K8sObject]) -> str | None:
    for policy in _policies_of_namespace(obj, objects):
        spec = as_mapping(policy.raw.get("spec"))
        for kind, rules in (("Ingress", "ingress"), ("Egress", "egress")):
            if kind in as_list(spec.get("policyTypes")) and not as_list(spec.get(rules)):
                return (
                    f"policy {policy.name} has policyType {kind} and no {rules} rules: Polaris fails it for the "
                    "missing rules; Kubernetes, and we, call it isolated (it denies every connection)"
                )
    return None


def test_polaris_missing_network_policy(oracles: Path) -> None:
    cases = [
        (where, objects, _the_workload(objects, where), label)
        for where, objects, label in _polaris(oracles, "missingNetworkPolicy")
    ]

    def agrees(label: str, ours: Isolation) -> bool:
        return (label == "fail") == (ours.ingress_fails or ours.egress_fails)

    _report(
        "polaris missingNetworkPolicy ~ both isolation records", _judge(cases, agrees, _a_direction_without_rules), 4
    )


def test_polaris_tls_settings_missing(oracles: Path) -> None:
    check = builtin_registry().get("ingress-tls-missing")
    verdicts = {}
    for where, objects, label in _polaris(oracles, "tlsSettingsMissing"):
        (ingress,) = [o for o in objects if o.kind == "Ingress"]
        verdicts[where.rsplit("/", 1)[-1]] = (label, [f.path for f in evaluate([check], [ingress])])
    # No spec.tls: both fail.
    assert verdicts["failure.yaml"] == ("fail", ["spec.rules[0]"])
    # Differs on purpose: Polaris passes any non-empty spec.tls. Here the TLS entry lists
    # example.com but the only rule has no host, so it serves every host (example.com included)
    # in plain HTTP on the catch-all server; only a TLS entry without hosts would cover it.
    assert verdicts["success.yaml"] == ("pass", ["spec.rules[0]"])
