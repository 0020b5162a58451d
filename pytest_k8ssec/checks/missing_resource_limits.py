"""missing-resource-limits.

No Pod Security Standard covers resources. The NSA/CISA Kubernetes Hardening Guide advises limiting
the resources each container may use, so that one compromised or runaway pod cannot starve its
node; CPU and memory limits are that bound ("Resource Management for Pods and Containers" in the
Kubernetes docs). Fields: ``resources.limits.cpu`` and ``resources.limits.memory`` of every init
and regular container.

Ephemeral containers are not judged: the API forbids ``resources`` on them (they borrow the pod's).
Pod-level ``spec.resources`` (PodLevelResources) is not considered: the requirement is per container.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping

RESOURCES: Final = ("cpu", "memory")


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    for ref in containers(obj):
        if ref.field == "ephemeralContainers":
            continue  # the API rejects resources on ephemeral containers; nothing to set
        limits = as_mapping(as_mapping(ref.container.get("resources")).get("limits"))
        for resource in RESOURCES:
            if limits.get(resource) is None:
                yield Violation(
                    f"{ref.path}.resources.limits.{resource}",
                    f'container "{ref.name}" must set resources.limits.{resource}',
                    ref.name,
                )


CHECK = Check(
    id="missing-resource-limits",
    title="Resource limits not set",
    summary="Every container must set CPU and memory limits, so that no container can starve its node.",
    remediation="Set resources.limits.cpu and resources.limits.memory on every container and init container.",
    category=Category.RESOURCES,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("NSA-net-resource-policies", "MITRE-T1496", "MITRE-T1499"),
    references=("https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",),
)
