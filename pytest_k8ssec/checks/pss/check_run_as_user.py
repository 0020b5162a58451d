"""PSS restricted ``runAsUser`` (v1.23, v1.35).

"Containers must not set runAsUser to 0." Restricted fields: ``spec.securityContext.runAsUser``
and the same field of every container; allowed values: any non-zero value, undefined/null; from
v1.35 any value when the pod runs in a user namespace (``spec.hostUsers: false``)
(k8s.io/pod-security-admission ``policy/check_runAsUser.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, in_user_namespace, setters
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef


def _is_root(value: object) -> bool:
    return type(value) is int and value == 0


def run_as_user_1_23(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    pod_bad = _is_root(pod_security_context(pod).get("runAsUser"))
    paths = [f"{pod.path}.securityContext.runAsUser"] if pod_bad else []
    names: list[str] = []
    for ref in containers(obj):
        if _is_root(ref.security_context.get("runAsUser")):
            names.append(ref.name)
            paths.append(f"{ref.path}.securityContext.runAsUser")
    who = setters(pod_bad, names)
    if not who:
        return ALLOWED
    return forbidden("runAsUser=0", f"{' and '.join(who)} must not set runAsUser=0", paths, names)


def run_as_user_1_35(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    if in_user_namespace(pod):
        return ALLOWED
    return run_as_user_1_23(pod, obj)


CONTROL = Control(
    "runAsUser",
    "restricted",
    (Versioned(v(1, 23), run_as_user_1_23), Versioned(v(1, 35), run_as_user_1_35)),
    "pss-run-as-user",
)

CHECK = make_check(
    CONTROL,
    title="PSS restricted: run as user 0",
    summary="Pods and containers must not set runAsUser: 0 unless they run in a user namespace (Pod Security Standards, restricted).",
    remediation="Set runAsUser to a non-zero UID, or leave it unset and set runAsNonRoot: true.",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    controls=("CIS-5.2.7", "NSA-pod-non-root", "MITRE-T1611"),
)
