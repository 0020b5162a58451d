"""Guardrail assertions on live clusters: does admission really reject what the policy forbids?

They send objects to the API server as server-side dry-runs (``dryRun=All``): admission (Pod
Security, and any webhook such as Kyverno or Gatekeeper) runs in full and nothing is stored, so
they are safe on any cluster and observe the policy whatever enforces it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.asserts._failure import _check, _fail, _record_pass
from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.engine import Finding
from pytest_k8ssec.errors import ClusterError, SecurityAssertionError
from pytest_k8ssec.model.credentials import scrub, sensitive_values
from pytest_k8ssec.model.objects import K8sObject, Provenance

if TYPE_CHECKING:
    from pytest_k8ssec.checks.pss import Level
    from pytest_k8ssec.fixtures.cluster import K8sCluster, K8sNamespace

Manifest = K8sObject | Mapping[str, Any]
# The authorizer's refusal, as the API server words it (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go).
_RBAC_REFUSAL: Final = re.compile(r'\bcannot create resource "')


@dataclass(frozen=True)
class AdmissionResult:
    """What the API server answered to a dry-run create."""

    status: int
    message: str

    @property
    def admitted(self) -> bool:
        """201: admission let it through."""
        return self.status == 201

    @property
    def denied(self) -> bool:
        """Refused by admission: 403 (Pod Security, RBAC-style webhooks) or a webhook's 400.

        RBAC's own 403 (the caller may not create the object at all) comes before admission: it
        says nothing about the policy, so it is not a denial.
        """
        if self.status == 403:
            return not _RBAC_REFUSAL.search(self.message)
        return self.status == 400 and "admission webhook" in self.message


def _target(namespace: K8sNamespace | str, cluster: K8sCluster | None) -> tuple[Any, str]:
    if isinstance(namespace, str):
        if cluster is None:
            raise TypeError("pass cluster=k8s_cluster with a namespace name (or pass the k8s_namespace fixture)")
        return cluster.source, namespace
    return namespace.cluster.source, namespace.name


def _raw(manifest: Manifest) -> Mapping[str, Any]:
    return manifest.raw if isinstance(manifest, K8sObject) else manifest


def dry_run(namespace: K8sNamespace | str, manifest: Manifest, *, cluster: K8sCluster | None = None) -> AdmissionResult:
    """Dry-run create ``manifest`` in ``namespace`` and return the server's answer."""
    source, name = _target(namespace, cluster)
    try:
        status, body = source.dry_run_create(_raw(manifest), name)
    except ClusterError as exc:
        raise SecurityAssertionError(f"dry-run in namespace {name!r} could not be sent: {exc}") from None
    if not isinstance(body, dict):
        # Not the API server's Status (an HTML page of a proxy, a cut-off answer): no decision to read.
        raise SecurityAssertionError(
            f"dry-run in namespace {name!r}: HTTP {status} with {body}, not an answer of the API server"
        )
    # The server quotes values it refuses (an env value, a Secret's data): they never reach a message.
    return AdmissionResult(status, scrub(str(body.get("message", "")), sensitive_values(_raw(manifest))))


DECISION_CHECK: Final = _check("admission-decision-unexpected")
ENFORCED_CHECK: Final = _check("pod-security-not-enforced")


def _decision_failed(manifest: Manifest, namespace: str, message: str, *, error: bool = False) -> None:
    # The finding is about the object as it was sent (into ``namespace``): the reports name it.
    __tracebackhide__ = True
    raw = _raw(manifest)
    sent = {**raw, "metadata": {**(raw.get("metadata") or {}), "namespace": namespace}}
    provenance = manifest.provenance if isinstance(manifest, K8sObject) else Provenance("<dict>")
    finding = Finding(DECISION_CHECK, K8sObject(sent, provenance), Violation("", message))
    return _fail(message, DECISION_CHECK, findings=[finding], error=error)


def _describe(manifest: Manifest) -> str:
    raw = _raw(manifest)
    return f"{raw.get('kind')} {(raw.get('metadata') or {}).get('name')}"


def assert_admission_rejects(
    namespace: K8sNamespace | str, manifest: Manifest, *, cluster: K8sCluster | None = None, reason: str | None = None
) -> AdmissionResult:
    """Assert admission refuses ``manifest`` in ``namespace`` (optionally with ``reason`` in its message)."""
    __tracebackhide__ = True
    result = dry_run(namespace, manifest, cluster=cluster)
    name = namespace if isinstance(namespace, str) else namespace.name
    if result.admitted:
        _decision_failed(
            manifest,
            name,
            f"admission accepted {_describe(manifest)} in namespace {name!r} (dry-run); it should refuse it",
        )
        return result
    if not result.denied:
        _decision_failed(
            manifest,
            name,
            f"{_describe(manifest)} in namespace {name!r} failed with HTTP {result.status} before admission "
            f"could judge it (not a policy decision): {result.message}",
            error=True,
        )
        return result
    if reason is not None and reason not in result.message:
        _decision_failed(
            manifest, name, f"admission refused {_describe(manifest)} but not for {reason!r}: {result.message}"
        )
        return result
    _record_pass(f"admission rejects {_describe(manifest)} in {name}", DECISION_CHECK)
    return result


def assert_admission_allows(
    namespace: K8sNamespace | str, manifest: Manifest, *, cluster: K8sCluster | None = None
) -> AdmissionResult:
    """Assert admission accepts ``manifest`` in ``namespace`` (dry-run); a refusal shows the server's reason."""
    __tracebackhide__ = True
    result = dry_run(namespace, manifest, cluster=cluster)
    if not result.admitted:
        name = namespace if isinstance(namespace, str) else namespace.name
        _decision_failed(
            manifest,
            name,
            f"admission refused {_describe(manifest)} in namespace {name!r} (HTTP {result.status}): {result.message}",
        )
        return result
    name = namespace if isinstance(namespace, str) else namespace.name
    _record_pass(f"admission allows {_describe(manifest)} in {name}", DECISION_CHECK)
    return result


# --- Pod Security probes ------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], Any]


def compliant_pod(name: str = "k8ssec-probe") -> dict[str, Any]:
    """A pod that passes the restricted level at every policy version."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "pytest-k8ssec"}},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "probe",
                    "image": "registry.k8s.io/pause:3.10",
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod["spec"]["containers"][0]
    return container


def _sc(pod: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = _container(pod)["securityContext"]
    return context


def _privileged(pod: dict[str, Any]) -> None:
    # The API rejects privileged with allowPrivilegeEscalation=false as invalid (422): drop the latter.
    _sc(pod).pop("allowPrivilegeEscalation")
    _sc(pod)["privileged"] = True


# Each probe breaks exactly one control of the level on the compliant pod.
BASELINE_PROBES: Final[dict[str, Mutation]] = {
    "privileged": lambda p: _privileged(p),
    "host-network": lambda p: p["spec"].update(hostNetwork=True),
    "host-pid": lambda p: p["spec"].update(hostPID=True),
    "host-ipc": lambda p: p["spec"].update(hostIPC=True),
    "host-path-volume": lambda p: p["spec"].update(volumes=[{"name": "host", "hostPath": {"path": "/etc"}}]),
    "host-port": lambda p: _container(p).update(ports=[{"containerPort": 8080, "hostPort": 8080}]),
    "added-capability": lambda p: _sc(p).update(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}),
    "seccomp-unconfined": lambda p: p["spec"]["securityContext"].update(seccompProfile={"type": "Unconfined"}),
    "apparmor-unconfined": lambda p: _sc(p).update(appArmorProfile={"type": "Unconfined"}),
    "selinux-type": lambda p: _sc(p).update(seLinuxOptions={"type": "spc_t"}),
    "unsafe-sysctl": lambda p: p["spec"]["securityContext"].update(
        sysctls=[{"name": "kernel.msgmax", "value": "65536"}]
    ),
}
RESTRICTED_PROBES: Final[dict[str, Mutation]] = {
    **BASELINE_PROBES,
    "run-as-root-user": lambda p: p["spec"]["securityContext"].update(runAsUser=0),
    "run-as-non-root-unset": lambda p: p["spec"]["securityContext"].pop("runAsNonRoot"),
    "seccomp-unset": lambda p: p["spec"]["securityContext"].pop("seccompProfile"),
    "privilege-escalation": lambda p: _sc(p).update(allowPrivilegeEscalation=True),
    "capabilities-not-dropped": lambda p: _sc(p).pop("capabilities"),
    "restricted-volume-type": lambda p: p["spec"].update(
        volumes=[{"name": "nfs", "nfs": {"server": "nfs.example", "path": "/x"}}]
    ),
}
PROBES: Final = {"baseline": BASELINE_PROBES, "restricted": RESTRICTED_PROBES}


def probe_pods(level: str) -> dict[str, dict[str, Any]]:
    """The probe pods of a level: name -> pod that breaks one of its controls."""
    if level not in PROBES:
        raise ValueError(f"level must be baseline or restricted, not {level!r}")
    pods = {}
    for name, mutate in PROBES[level].items():
        pod = compliant_pod(f"k8ssec-probe-{name}")
        mutate(pod)
        pods[name] = pod
    return pods


@keyword_only("level")
def assert_pod_security_enforced(
    namespace: K8sNamespace | str, *, level: Level = "restricted", cluster: K8sCluster | None = None
) -> None:
    """Prove that ``namespace`` refuses every pod the level forbids and admits a compliant one.

    One dry-run per probe (privileged, host namespaces, hostPath, host port, added capability,
    unconfined seccomp/AppArmor, SELinux type, unsafe sysctl; for restricted also root user,
    unset runAsNonRoot/seccomp, privilege escalation, capabilities not dropped, restricted volume
    types). Whatever enforces the policy (Pod Security admission, Kyverno, Gatekeeper) is observed.
    """
    __tracebackhide__ = True
    name = namespace if isinstance(namespace, str) else namespace.name
    problems = []
    compliant = dry_run(namespace, compliant_pod(), cluster=cluster)
    if not compliant.admitted:
        problems.append(f"a {level}-compliant pod was refused (HTTP {compliant.status}): {compliant.message}")
    for probe, pod in probe_pods(level).items():
        result = dry_run(namespace, pod, cluster=cluster)
        if result.admitted:
            problems.append(f"{probe}: admitted, but {level} forbids it")
        elif not result.denied:
            problems.append(f"{probe}: HTTP {result.status} before admission judged it: {result.message}")
    if problems:
        return _fail(
            f"pod-security {level}: namespace {name!r} does not enforce it ({len(problems)} of "
            f"{len(PROBES[level]) + 1} probes)",
            ENFORCED_CHECK,
            [
                *(f"  - {p}" for p in problems),
                f"  fix: label the namespace pod-security.kubernetes.io/enforce={level} (or enforce it with your policy engine).",
            ],
        )
    _record_pass(f"pod-security {level} enforced in {name}", ENFORCED_CHECK)
