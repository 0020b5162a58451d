"""image-latest-tag.

NSA/CISA Kubernetes Hardening Guide (Pod security: "use immutable images") and the Kubernetes
configuration best practices: "avoid using the :latest tag when deploying containers in
production as it is harder to track which version of the image is running". Field: ``image``.

An image with neither tag nor digest is pulled as ``:latest`` (distribution's ``ParseDockerRef``
adds it), so it fails like an explicit ``:latest``. A digest makes the reference immutable: the
runtime pulls by digest and ignores any tag written beside it, so ``app:latest@sha256:...`` passes.
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
        elif not image.pinned and image.effective_tag == "latest":
            how = "has no tag, so it is pulled as :latest" if image.tag is None else "uses the :latest tag"
            name = item.container.name
            yield Violation(
                item.path,
                f'container "{name}" image {safe_image(image.raw)} {how} ({safe_image(image.docker_ref())})',
                name,
            )


CHECK = Check(
    id="image-latest-tag",
    title="Image uses the latest tag",
    summary="Container images must name a version: an explicit :latest or a missing tag runs whatever was pushed last.",
    remediation="Pin the image to a version tag, or better to a digest (image: repo@sha256:...).",
    category=Category.IMAGES,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("NSA-pod-secure-images", "MITRE-T1525"),
    references=("https://kubernetes.io/docs/concepts/containers/images/#image-names",),
)
