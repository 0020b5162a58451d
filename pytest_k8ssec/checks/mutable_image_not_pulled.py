"""mutable-image-not-pulled.

Kubernetes documentation on images: with ``imagePullPolicy: IfNotPresent`` "the image is pulled
only if it is not already present locally", so a node keeps running whatever a mutable tag
pointed to when it first pulled it. Field: ``imagePullPolicy``; required: ``Always`` for every
image not pinned by digest.

An unset policy is judged as the API server defaults it (``SetDefaults_Container``): ``Always``
when the tag is ``latest`` or the image has neither tag nor digest, ``IfNotPresent`` otherwise.
Digest-pinned images are exempt (their content cannot change), as checkov and Polaris users asked.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._images import container_images
from pytest_k8ssec.model.credentials import safe_image
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    for item in container_images(obj):
        image = item.image
        if image is None:
            yield item.unreadable()
            continue
        if image.pinned:
            continue
        name = item.container.name
        policy = item.container.container.get("imagePullPolicy")
        if policy is None or policy == "":
            # Judged as the API server defaults it, with the same message, so a manifest and the
            # object a cluster serves back (where the default is written in) read alike.
            policy = "Always" if image.effective_tag == "latest" else "IfNotPresent"
        if policy != "Always":
            yield Violation(
                f"{item.container.path}.imagePullPolicy",
                f'container "{name}" image {safe_image(image.raw)} is mutable and its imagePullPolicy is {policy} '
                "(as set, or as the API server defaults it), not Always: a node keeps running what the tag "
                "pointed to when it first pulled it",
                name,
            )


CHECK = Check(
    id="mutable-image-not-pulled",
    title="Mutable image not pulled on every start",
    summary="Containers whose image is not pinned by digest must use imagePullPolicy: Always, so every start resolves the tag again.",
    remediation="Set imagePullPolicy: Always, or pin the image by digest (image: repo@sha256:...).",
    category=Category.IMAGES,
    severity=Severity.LOW,
    evaluate=_evaluate,
    controls=("NSA-pod-secure-images", "MITRE-T1525"),
    references=("https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",),
)
