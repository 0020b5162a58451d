"""PSS restricted ``runAsNonRoot`` (v1.0, v1.35).

"Containers must be required to run as non-root users." Restricted fields:
``spec.securityContext.runAsNonRoot`` and the same field of every container; allowed values:
``true``; undefined/null at container level if the pod sets ``true``; from v1.35 any value when
the pod runs in a user namespace (``spec.hostUsers: false``). An explicit ``false`` anywhere
fails, even where every container sets ``true`` (k8s.io/pod-security-admission
``policy/check_runAsNonRoot.go``). Windows pods are not exempt.
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import (
    ALLOWED,
    Outcome,
    forbidden,
    in_user_namespace,
    join_quote,
    pluralize,
    setters,
)
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef


def run_as_non_root_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    pod_value = pod_security_context(pod).get("runAsNonRoot")
    pod_bad = pod_value is not None and pod_value is not True
    pod_ok = pod_value is True
    explicit: list[str] = []
    explicit_paths: list[str] = [f"{pod.path}.securityContext.runAsNonRoot"] if pod_bad else []
    implicit: list[str] = []
    implicit_paths: list[str] = []
    for ref in containers(obj):
        value = ref.security_context.get("runAsNonRoot")
        if value is not None:
            if value is not True:
                explicit.append(ref.name)
                explicit_paths.append(f"{ref.path}.securityContext.runAsNonRoot")
        elif not pod_ok:
            implicit.append(ref.name)
            implicit_paths.append(f"{ref.path}.securityContext.runAsNonRoot")
    who = setters(pod_bad, explicit)
    if who:
        return forbidden(
            "runAsNonRoot != true",
            f"{' and '.join(who)} must not set securityContext.runAsNonRoot=false",
            explicit_paths,
            explicit,
        )
    if implicit:
        return forbidden(
            "runAsNonRoot != true",
            f"pod or {pluralize('container', 'containers', len(implicit))} {join_quote(implicit)} "
            "must set securityContext.runAsNonRoot=true",
            implicit_paths,
            implicit,
        )
    return ALLOWED


def run_as_non_root_1_35(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    # KEP-127: root in a user namespace is not root on the host.
    if in_user_namespace(pod):
        return ALLOWED
    return run_as_non_root_1_0(pod, obj)


CONTROL = Control(
    "runAsNonRoot",
    "restricted",
    (Versioned(v(1, 0), run_as_non_root_1_0), Versioned(v(1, 35), run_as_non_root_1_35)),
    "pss-run-as-non-root",
)

CHECK = make_check(
    CONTROL,
    title="PSS restricted: run as non-root",
    summary="Pods must require non-root users (runAsNonRoot: true) unless they run in a user namespace (Pod Security Standards, restricted).",
    remediation="Set securityContext.runAsNonRoot: true on the pod (or on every container) and never false.",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    controls=("CIS-5.2.7", "NSA-pod-non-root", "MITRE-T1611"),
)
