"""missing-resource-requests.

No Pod Security Standard covers resources. The NSA/CISA Kubernetes Hardening Guide advises resource
policies for every workload; requests are what the scheduler reserves for a container, and without
them the pod is BestEffort and the first one evicted when the node runs short ("Resource Management
for Pods and Containers" in the Kubernetes docs). Fields: ``resources.requests.cpu`` and
``resources.requests.memory`` of every init and regular container.

A request counts as set when the matching limit is set: the API server defaults a missing request
to its limit, per resource, for containers and init containers (kubernetes ``pkg/apis/core/v1/defaults.go``,
``SetDefaults_Pod``: "If limits are specified, but requests are not, default requests to limits").
Ephemeral containers are not judged: the API forbids ``resources`` on them.
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
        resources = as_mapping(ref.container.get("resources"))
        requests = as_mapping(resources.get("requests"))
        limits = as_mapping(resources.get("limits"))
        for resource in RESOURCES:
            if requests.get(resource) is None and limits.get(resource) is None:
                yield Violation(
                    f"{ref.path}.resources.requests.{resource}",
                    f'container "{ref.name}" must set resources.requests.{resource} (or resources.limits.{resource}, '
                    "which the request defaults to)",
                    ref.name,
                )


CHECK = Check(
    id="missing-resource-requests",
    title="Resource requests not set",
    summary="Every container must request CPU and memory, so that the scheduler reserves what it needs.",
    remediation="Set resources.requests.cpu and resources.requests.memory on every container and init container.",
    category=Category.RESOURCES,
    severity=Severity.LOW,
    evaluate=_evaluate,
    controls=("NSA-net-resource-policies",),
    references=("https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",),
)
