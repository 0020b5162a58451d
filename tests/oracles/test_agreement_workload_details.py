"""The workload-detail checks agree with the peers that have the same definition.

The labelled objects are the ones ``test_linter_agreement.py`` reads (kube-linter's
``expected_reports.json``, Polaris' ``index.csv``, kubesec's scores, all in ``../shared/oracles``),
through its sources, so a label means the same thing in both files; kube-score's grades for the
two checks it shares with us are transcribed below from its Go tests, and its testdata is read
from its Go module, as there. The comparison differs in one
point: every object is judged together with the other objects of its file, as a selection check
needs (``service-account-missing`` looks the account up among them); for object checks this is
the same verdict.

kubesec's ``HostAliases`` rule (-3) is ours (``host-aliases-set``), but the sign of a file's score
decides it in none of kubesec's files (``test_kubesec_host_aliases_is_undecided`` keeps that true),
so it has no pair. Where a peer's definition differs from ours on purpose, ``DIFFERENCES`` names the case and why,
and ``test_differences_show_on_a_case`` proves each one on a manifest of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_linter_agreement import (
    GRADE_CRITICAL,
    PF,
    REPORTED,
    Labelled,
    Source,
    kube_linter,
    kubesec_label,
    polaris,
)

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.sources.manifests import load_file
from tests.builders import as_object

# Fewer compared verdicts than this means a pair silently stopped comparing. Measured: 28
# (kube-linter 15, Polaris 6, kube-score 7).
FLOOR = 28


@dataclass(frozen=True)
class Pair:
    tool: str
    theirs: str
    ours: str
    source: Source = field(repr=False)
    fails: Mapping[str, bool]
    note: str

    @property
    def id(self) -> str:
        return f"{self.tool}:{self.theirs}~{self.ours}"


# kube-score's grades for the two checks of ours it has, transcribed from its Go tests:
# github.com/zegl/kube-score@v1.20.0 (tests/oracles/go-modules.txt), file:line of the call,
# testdata file, grade. user-group-id is an optional check in kube-score too (the tests enable
# it with EnabledOptionalTests).
KUBE_SCORE_GRADES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Container Ephemeral Storage Request and Limit": (
        ("score/score_test.go:367", "pod-ephemeral-storage-request-nomatch-limit.yaml", "all_ok"),
        ("score/score_test.go:372", "pod-ephemeral-storage-missing-limit.yaml", "critical"),
        # Warning: the request is missing; the API server defaults it to the limit, so it passes here.
        ("score/score_test.go:377", "pod-ephemeral-storage-missing-request.yaml", "warning"),
    ),
    "Container Security Context User Group ID": (
        ("score/security_test.go:98", "pod-security-context-all-good.yaml", "all_ok"),
        ("score/security_test.go:108", "pod-security-context-low-group-id.yaml", "critical"),
        ("score/security_test.go:123", "pod-security-context-low-user-id.yaml", "critical"),
        ("score/security_test.go:137", "pod-security-context-nosecuritycontext.yaml", "critical"),
    ),
}


def kube_score(check_name: str) -> Source:
    def source(module: Path) -> list[Labelled]:
        cases = []
        for where, name, grade in KUBE_SCORE_GRADES[check_name]:
            objects = load_file(module / "score" / "testdata" / name)
            assert len(objects) == 1, f"kube-score {name}: one object per file"
            label = f"{grade} ({where})"
            cases.append(Labelled(f"kube-score/score/testdata/{name}", objects[0], tuple(objects), grade, label))
        return cases

    return source


PAIRS: tuple[Pair, ...] = (
    Pair(
        "kube-linter",
        "writable-host-mount",
        "writable-host-path-mount",
        kube_linter("writable-host-mount"),
        REPORTED,
        "a container mounts a hostPath volume without readOnly: true",
    ),
    Pair(
        "kube-linter",
        "privileged-ports",
        "privileged-port",
        kube_linter("privileged-ports"),
        REPORTED,
        "a containerPort below 1024 (no pod in their data lowers ip_unprivileged_port_start)",
    ),
    Pair(
        "kube-linter",
        "ssh-port",
        "ssh-port-exposed",
        kube_linter("ssh-port"),
        REPORTED,
        "containerPort 22 over TCP, the protocol written or defaulted",
    ),
    Pair(
        "kube-linter",
        "use-namespace",
        "default-namespace-used",
        kube_linter("use-namespace"),
        REPORTED,
        "the object is in the default namespace",
    ),
    Pair(
        "kube-linter",
        "non-existent-service-account",
        "service-account-missing",
        kube_linter("non-existent-service-account"),
        REPORTED,
        "the pod's ServiceAccount (here through the deprecated serviceAccount alias) is not among the file's",
    ),
    Pair(
        "kube-linter",
        "no-liveness-probe",
        "liveness-probe-missing",
        kube_linter("no-liveness-probe"),
        REPORTED,
        "a regular container without livenessProbe; init containers are not judged",
    ),
    Pair(
        "kube-linter",
        "no-readiness-probe",
        "readiness-probe-missing",
        kube_linter("no-readiness-probe"),
        REPORTED,
        "a regular container without readinessProbe; init containers are not judged",
    ),
    Pair(
        "polaris",
        "livenessProbeMissing",
        "liveness-probe-missing",
        polaris("livenessProbeMissing"),
        PF,
        "a container without livenessProbe (Polaris's fix adds one: the mutated file passes)",
    ),
    Pair(
        "polaris",
        "readinessProbeMissing",
        "readiness-probe-missing",
        polaris("readinessProbeMissing"),
        PF,
        "a container without readinessProbe (Polaris's fix adds one: the mutated file passes)",
    ),
    Pair(
        "kube-score",
        "container-ephemeral-storage-request-and-limit",
        "missing-ephemeral-storage-limit",
        kube_score("Container Ephemeral Storage Request and Limit"),
        GRADE_CRITICAL,
        "critical when the limit is missing; its warning (request missing, limit set) passes here",
    ),
    Pair(
        "kube-score",
        "container-security-context-user-group-id",
        "run-as-low-id",
        kube_score("Container Security Context User Group ID"),
        GRADE_CRITICAL,
        "critical when runAsUser or runAsGroup is below 10000 or unset (no securityContext at all)",
    ),
)
KUBE_SCORE_PAIRS = tuple(pair for pair in PAIRS if pair.tool == "kube-score")
SHARED_PAIRS = tuple(pair for pair in PAIRS if pair.tool != "kube-score")


@dataclass
class Outcome:
    compared: list[tuple[str, bool, bool]] = field(default_factory=list)  # where, theirs fails, ours fails
    excluded: list[tuple[str, str]] = field(default_factory=list)


def compare(pair: Pair, oracles: Path) -> Outcome:
    check = builtin_registry().get(pair.ours)
    outcome = Outcome()
    for case in pair.source(oracles):
        theirs = pair.fails.get(case.value)
        if theirs is None:
            continue
        obj = case.obj
        if case.rejected:
            outcome.excluded.append((case.where, f"our loader rejects the file: {case.rejected}"))
            continue
        if obj is None or not check.applies_to(obj):
            kind = f"{obj.api_version} {obj.kind}" if obj is not None else "no workload"
            outcome.excluded.append((case.where, f"outside the kinds our check judges ({kind})"))
            continue
        findings = [f for f in evaluate([check], list(case.context)) if f.obj is obj]
        crashed = [f.message for f in findings if f.path == ""]
        assert not crashed, f"{case.where}: {pair.ours} could not evaluate the object: {crashed}"
        outcome.compared.append((f"{case.where} [{case.label}]", theirs, bool(findings)))
    return outcome


@pytest.mark.parametrize("pair", SHARED_PAIRS, ids=[pair.id for pair in SHARED_PAIRS])
def test_agreement(pair: Pair, oracles: Path) -> None:
    _assert_agreement(pair, oracles)


@pytest.mark.parametrize("pair", KUBE_SCORE_PAIRS, ids=[pair.id for pair in KUBE_SCORE_PAIRS])
def test_kube_score_agreement(pair: Pair, kube_score_module: Path) -> None:
    _assert_agreement(pair, kube_score_module)


def _assert_agreement(pair: Pair, data: Path) -> None:
    outcome = compare(pair, data)
    for where, why in outcome.excluded:
        print(f"  excluded {where}: {why}")
    assert outcome.compared, f"{pair.id}: no labelled object to compare; drop the pair or fix its source"
    problems = [
        f"  {where}: {pair.tool} {'fails' if theirs else 'passes'}, {pair.ours} {'fails' if ours else 'passes'}"
        for where, theirs, ours in outcome.compared
        if theirs != ours
    ]
    assert not problems, f"{pair.id} ({pair.note}): {len(problems)} disagreement(s)\n" + "\n".join(problems)


def test_compared_count(oracles: Path, kube_score_module: Path) -> None:
    total = sum(len(compare(pair, oracles).compared) for pair in SHARED_PAIRS)
    total += sum(len(compare(pair, kube_score_module).compared) for pair in KUBE_SCORE_PAIRS)
    assert total >= FLOOR, f"only {total} verdicts compared (floor {FLOOR}): some pairs stopped comparing"


# --------------------------------------------------------------------------------------------------
# Where our definition differs on purpose: each case, and what each side says about it


@dataclass(frozen=True)
class Difference:
    tool: str
    theirs: str
    ours: str
    reason: str
    manifest: Mapping[str, Any]
    theirs_fails: bool
    ours_fails: bool


def _pod(spec: Mapping[str, Any], namespace: str | None = "shop") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "p"}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": dict(spec)}


def _deployment(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": spec},
        },
    }


def _app(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "registry.example.com/shop/app:1.0", **fields}


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "kube-linter",
        "privileged-ports",
        "privileged-port",
        "the pod lowers the safe sysctl net.ipv4.ip_unprivileged_port_start (Kubernetes 1.22+) to 0, so "
        "binding port 80 needs no privilege; kube-linter reads the port alone",
        _pod(
            {
                "securityContext": {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
                "containers": [_app(ports=[{"containerPort": 80}])],
            }
        ),
        theirs_fails=True,
        ours_fails=False,
    ),
    Difference(
        "checkov",
        "CKV_K8S_33",
        "dangerous-component",
        "checkov fails any Kubernetes Dashboard image; a Dashboard v2 that requires a login is the supported "
        "way to run it, and we report only skip-login, insecure login and releases before v1.10.1",
        _deployment(
            {"containers": [_app(image="kubernetesui/dashboard:v2.7.0", args=["--auto-generate-certificates"])]}
        ),
        theirs_fails=True,
        ours_fails=False,
    ),
    Difference(
        "checkov",
        "CKV_K8S_8",
        "liveness-probe-missing",
        "a sidecar (an init container with restartPolicy: Always) runs for the pod's lifetime and accepts "
        "probes since v1.28; checkov, Polaris and kube-linter look at regular containers only",
        _deployment(
            {
                "initContainers": [{"name": "proxy", "image": "envoyproxy/envoy:v1.31.0", "restartPolicy": "Always"}],
                "containers": [_app(livenessProbe={"tcpSocket": {"port": 8080}})],
            }
        ),
        theirs_fails=False,
        ours_fails=True,
    ),
    Difference(
        "kube-linter",
        "no-liveness-probe",
        "liveness-probe-missing",
        "a bare Pod with restartPolicy: Never runs to completion, as a Job does; kube-linter judges it",
        _pod({"restartPolicy": "Never", "containers": [_app()]}),
        theirs_fails=True,
        ours_fails=False,
    ),
    Difference(
        "kube-score",
        "container-ephemeral-storage-request-and-limit",
        "missing-ephemeral-storage-limit",
        "a limit alone passes: the API server defaults the missing request to the limit; kube-score reads the "
        "request as written",
        _pod({"containers": [_app(resources={"limits": {"ephemeral-storage": "1Gi"}})]}),
        theirs_fails=True,
        ours_fails=False,
    ),
    Difference(
        "kube-score",
        "pod-probes",
        "readiness-probe-missing",
        "kube-score asks for a readiness probe only when a Service in the same files selects the pod; we "
        "judge the container, since a Service created elsewhere (or later) sends it traffic all the same",
        _pod({"containers": [_app(livenessProbe={"tcpSocket": {"port": 8080}})]}),
        theirs_fails=False,
        ours_fails=True,
    ),
    Difference(
        "Trivy",
        "KSV020",
        "run-as-low-id",
        "runAsUser 10000 passes: kube-score and checkov accept 10000 and up, Trivy wants more than 10000",
        _pod({"securityContext": {"runAsUser": 10000, "runAsGroup": 10000}, "containers": [_app()]}),
        theirs_fails=True,
        ours_fails=False,
    ),
)


@pytest.mark.parametrize("difference", DIFFERENCES, ids=[f"{d.tool}:{d.theirs}~{d.ours}" for d in DIFFERENCES])
def test_differences_show_on_a_case(difference: Difference) -> None:
    assert difference.reason and difference.theirs_fails != difference.ours_fails
    obj: K8sObject = as_object(dict(difference.manifest))
    findings = evaluate([builtin_registry().get(difference.ours)], [obj])
    assert bool(findings) == difference.ours_fails, [f.message for f in findings]


def test_kubesec_host_aliases_is_undecided(oracles: Path) -> None:
    # If kubesec's data ever decides HostAliases, it belongs in PAIRS.
    root = oracles / "linters" / "kubesec" / "test" / "asset"
    texts = [path.read_text() for path in sorted(root.glob("*.y*ml"))]
    assert texts, f"no kubesec fixture under {root}"
    for sign in ("score<0", "score==0", "score>0"):
        assert {kubesec_label("HostAliases", text, sign)[0] for text in texts} == {"undecided"}
