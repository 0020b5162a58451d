"""default-namespace-used.

CIS Kubernetes Benchmark 5.6.4: "The default namespace should not be used" (and 5.6.1, "Create
administrative boundaries between resources using namespaces"). Workloads in ``default`` share it
with everything else put there by accident: its NetworkPolicies, its Pod Security labels (none by
default), its RoleBindings and its ``default`` ServiceAccount. kube-linter ``use-namespace``,
checkov CKV_K8S_21, Trivy KSV110 and Kubescape C-0061 report it.

Judged: a workload whose ``metadata.namespace`` is ``default``, or is unset. An unset namespace is
not a namespace of its own: ``kubectl apply`` puts the object in the namespace of the current
context (or ``-n``), which is ``default`` unless someone set another, and the API server fills in
the request's namespace. The model reads an unset namespace as ``default`` everywhere (reports,
NetworkPolicy and RBAC models), so this check does too, and says that the namespace was unset, so
the fix is to write the intended namespace into the manifest (or into the Helm or kustomize
configuration that renders it). checkov does the same; kube-linter too. A live object always
carries its namespace. Manifests read with ``--k8s-default-namespace NS`` are placed as
``kubectl apply -n NS`` would place them (``model.inventory.place`` writes the namespace into the
object), so they are judged in ``NS``, and pass unless ``NS`` is ``default``.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_mapping

DEFAULT = "default"


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.namespace != DEFAULT:
        return
    declared = as_mapping(obj.raw.get("metadata")).get("namespace")
    if declared == DEFAULT:
        yield Violation("metadata.namespace", 'workload is in the "default" namespace')
    else:
        yield Violation(
            "metadata.namespace",
            "workload sets no metadata.namespace, so it lands in the namespace of whoever applies it: "
            '"default" unless their kubectl context or -n says otherwise',
        )


CHECK = Check(
    id="default-namespace-used",
    title="Workload in the default namespace",
    summary="Workloads must run in a namespace of their own, not in default, and manifests must say which.",
    remediation=(
        "Set metadata.namespace to the application's own namespace (or have Helm or kustomize set it); to judge "
        "manifests where kubectl apply -n NS puts them, run with --k8s-default-namespace NS."
    ),
    category=Category.NETWORK,
    severity=Severity.LOW,
    evaluate=_evaluate,
    controls=("CIS-5.6.4", "CIS-5.6.1", "NSA-net-namespaces"),
    references=("https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/",),
)
