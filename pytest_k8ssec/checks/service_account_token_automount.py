"""service-account-token-automount.

CIS Kubernetes Benchmark 5.1.6: "Ensure that Service Account Tokens are only mounted where
necessary." The NSA/CISA Kubernetes Hardening Guide likewise advises disabling the automatic
mount of service account tokens for pods that do not talk to the API server. Field:
``spec.automountServiceAccountToken``; required value: ``false``.

The kubelet mounts the token unless the pod sets ``automountServiceAccountToken: false`` or, when
the pod leaves it unset, its ServiceAccount does. This check judges the workload alone (the
ServiceAccount may live elsewhere or be created by the cluster), so an unset field fails, and the
message says why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import pod_spec


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is None:
        return
    value = pod.spec.get("automountServiceAccountToken")
    if value is False:
        return
    if value is None:
        message = (
            "pod must set automountServiceAccountToken=false "
            "(unset defaults to true unless its ServiceAccount sets it false)"
        )
    elif value is True:
        message = "pod must not set automountServiceAccountToken=true: the ServiceAccount token is mounted into every container"
    else:
        # A string "false" is not false: the API server rejects it, so it never disables anything.
        message = (
            f"pod must set automountServiceAccountToken to the boolean false, not {json.dumps(value, default=str)}"
        )
    yield Violation(f"{pod.path}.automountServiceAccountToken", message)


CHECK = Check(
    id="service-account-token-automount",
    title="ServiceAccount token automounted",
    summary="Pods must opt out of the automatic ServiceAccount token mount unless they call the Kubernetes API.",
    remediation="Set spec.automountServiceAccountToken: false; a pod that calls the API can mount a projected serviceAccountToken volume in the containers that need it.",
    category=Category.SERVICE_ACCOUNTS,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("CIS-5.1.6", "NSA-pod-sa-tokens", "MITRE-T1528"),
    references=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
    ),
)
