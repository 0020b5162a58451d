"""default-service-account.

CIS Kubernetes Benchmark 5.1.5: "Ensure that default service accounts are not actively used."
Every namespace has a ``default`` ServiceAccount, and a pod that names none runs as it, so every
such workload in the namespace shares one identity, its RBAC grants and its image pull secrets.
kube-linter's ``default-service-account`` reports the same.

The effective account is computed as the API server computes it: ``serviceAccountName``, else the
deprecated ``serviceAccount`` (the v1 -> internal conversion treats it as an alias that
``serviceAccountName`` overrides when both are set), else ``default`` (filled in by the
ServiceAccount admission plugin). A workload fails when that is ``default``. Unlike kube-linter,
``automountServiceAccountToken: false`` does not exempt a workload: the identity is still shared
(the token mount is ``service-account-token-automount``'s business).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import pod_spec

DEFAULT = "default"


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is None or pod.malformed:
        return
    name = pod.spec.get("serviceAccountName")
    alias = pod.spec.get("serviceAccount")
    if name is not None and not isinstance(name, str):
        return  # malformed-object reports it
    if alias is not None and not isinstance(alias, str):
        yield Violation(f"{pod.path}.serviceAccount", f"must be a string, not {json.dumps(alias, default=str)[:40]}")
        return
    if name:
        if name == DEFAULT:
            yield Violation(f"{pod.path}.serviceAccountName", 'pod sets serviceAccountName "default"')
        return
    if alias:
        if alias == DEFAULT:
            yield Violation(
                f"{pod.path}.serviceAccount",
                'pod sets the deprecated serviceAccount field (an alias of serviceAccountName) to "default"',
            )
        return
    yield Violation(
        f"{pod.path}.serviceAccountName",
        'pod sets no serviceAccountName, so it runs as the namespace\'s "default" ServiceAccount',
    )


CHECK = Check(
    id="default-service-account",
    title="Default ServiceAccount",
    summary="Workloads must run as a dedicated ServiceAccount, not the namespace's default one.",
    remediation="Create a ServiceAccount for the workload (with automountServiceAccountToken: false unless it calls the API) "
    "and set spec.serviceAccountName to it.",
    category=Category.SERVICE_ACCOUNTS,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("CIS-5.1.5", "MITRE-T1078.001"),
    references=("https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/",),
)
