"""The image of every container, parsed once per object for all image checks.

The kubelet and the container runtimes resolve ``image`` with the distribution reference grammar
(``ParseNormalizedNamed``), so every image check judges the parsed reference, never the raw text:
``nginx`` is ``docker.io/library/nginx:latest`` and ``docker.io.evil.com/x`` is not on docker.io.
A container whose image cannot be parsed or is missing cannot be judged, so every image check
reports it (fail closed) instead of skipping it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.credentials import safe_image
from pytest_k8ssec.model.images import ImageRef, ImageReferenceError, parse_image
from pytest_k8ssec.model.objects import K8sObject


@dataclass(frozen=True, slots=True)
class ContainerImage:
    """A container, its parsed image (``None`` when unreadable) and why it is unreadable."""

    container: ContainerRef
    image: ImageRef | None
    error: str = ""

    @property
    def path(self) -> str:
        """Field path of the container's ``image``."""
        return f"{self.container.path}.image"

    def unreadable(self) -> Violation:
        """The violation every image check reports for an image it cannot judge."""
        return Violation(self.path, f'container "{self.container.name}" {self.error}', self.container.name)


def _parse(obj: K8sObject) -> tuple[ContainerImage, ...]:
    found = []
    for ref in containers(obj):
        raw = ref.container.get("image")
        if raw is None or raw == "":
            # The API server requires an image; a template without one cannot be judged.
            found.append(ContainerImage(ref, None, "has no image, so its image cannot be judged"))
        elif not isinstance(raw, str):
            found.append(ContainerImage(ref, None, f"has a non-string image ({type(raw).__name__})"))
        else:
            try:
                found.append(ContainerImage(ref, parse_image(raw)))
            except ImageReferenceError as exc:
                found.append(
                    ContainerImage(ref, None, f"has an invalid image reference {safe_image(raw)!r}: {exc.reason}")
                )
    return tuple(found)


def container_images(obj: K8sObject) -> tuple[ContainerImage, ...]:
    """Every container of a workload with its parsed image (init, regular, ephemeral)."""
    result: tuple[ContainerImage, ...] = obj.memo("container-images", _parse)
    return result
