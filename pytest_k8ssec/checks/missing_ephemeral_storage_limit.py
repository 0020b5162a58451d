"""missing-ephemeral-storage-limit.

No Pod Security Standard covers resources. The NSA/CISA Kubernetes Hardening Guide advises limiting
what each container may use, so that one compromised or runaway pod cannot starve its node. Local
ephemeral storage (the container's writable layer and logs, and the pod's emptyDir volumes) is
the node's own disk: a container without a limit can fill it, the node then reports DiskPressure
and the kubelet evicts other pods ("Local ephemeral storage" in "Resource Management for Pods and
Containers"). With ``resources.limits.ephemeral-storage`` the kubelet evicts the offending pod
instead. kube-score's ``container-ephemeral-storage-request-and-limit`` (on by default) asks for
both the request and the limit.

Judged: ``resources.limits.ephemeral-storage`` of every init and regular container; a request
without a limit still fails. The request is not asked for separately: the API server defaults a
missing request to its limit (``SetDefaults_Pod``, per resource), so a limit gives both, and the
request alone bounds nothing. This is a default check (as missing-resource-limits is), not an
opt-in one: an unbounded writer is a denial of service of the node, not a matter of taste; its
severity is low, as the kubelet's own eviction thresholds still protect the node's last space.
Ephemeral containers are not judged: the API forbids ``resources`` on them. Pod-level
``spec.resources`` does not cover ephemeral storage (PodLevelResources takes CPU and memory).
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping

RESOURCE = "ephemeral-storage"


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    for ref in containers(obj):
        if ref.field == "ephemeralContainers":
            continue  # the API rejects resources on ephemeral containers; nothing to set
        resources = as_mapping(ref.container.get("resources"))
        if as_mapping(resources.get("limits")).get(RESOURCE) is not None:
            continue
        requested = as_mapping(resources.get("requests")).get(RESOURCE) is not None
        yield Violation(
            f"{ref.path}.resources.limits.{RESOURCE}",
            f'container "{ref.name}" must set resources.limits.{RESOURCE}'
            + (" (a request alone does not bound what it writes)" if requested else ""),
            ref.name,
        )


CHECK = Check(
    id="missing-ephemeral-storage-limit",
    title="Ephemeral storage limit not set",
    summary="Every container must limit its local ephemeral storage, so that it cannot fill the node's disk.",
    remediation="Set resources.limits.ephemeral-storage on every container and init container (the request defaults to it).",
    category=Category.RESOURCES,
    severity=Severity.LOW,
    evaluate=_evaluate,
    controls=("NSA-net-resource-policies", "MITRE-T1499"),
    references=(
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#local-ephemeral-storage",
    ),
)
