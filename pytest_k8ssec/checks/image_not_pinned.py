"""image-not-pinned.

NSA/CISA Kubernetes Hardening Guide: "use immutable images"; the Kubernetes documentation on
images: "to make sure the Pod always uses the same version of a container image, you can specify
the image's digest". Field: ``image``; required: a ``@sha256:...`` digest.

A tag is a mutable pointer in the registry: whoever can push can change what a tag runs, so only
a digest pins the content. A digest written beside a tag pins too (the runtime pulls by digest).
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
        elif not image.pinned:
            name = item.container.name
            yield Violation(
                item.path,
                f'container "{name}" image {safe_image(image.raw)} is not pinned by digest (a tag can be moved)',
                name,
            )


CHECK = Check(
    id="image-not-pinned",
    title="Image not pinned by digest",
    summary="Container images must be pinned by digest so the content that runs is the content that was reviewed and scanned.",
    remediation="Reference the image by digest (image: registry/repo@sha256:<digest>), keeping the tag beside it for readers if you like.",
    category=Category.IMAGES,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("NSA-pod-secure-images", "MITRE-T1525"),
    references=("https://kubernetes.io/docs/concepts/containers/images/#image-names",),
)
