"""image-registry-not-allowed.

NSA/CISA Kubernetes Hardening Guide: "use trusted repositories ... pull images only from approved
registries"; CIS Kubernetes Benchmark 5.5.1 ("configure image provenance"). Field: ``image``.

Registries are compared on the normalized reference, component by component: ``nginx`` is on
``docker.io/library``, ``docker.io/`` does not cover ``docker.io.evil.com/x``, and
``registry.example.com:5000`` covers only that port. The built-in check has no policy to enforce,
so it fails every image until ``configure(allowed=..., denied=...)`` (or ``assert_images_from`` /
``assert_images_not_from``) gives it one: an unconfigured registry check must never pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.checks._images import container_images
from pytest_k8ssec.model.credentials import safe_image
from pytest_k8ssec.model.images import matches_prefix, registry_prefix
from pytest_k8ssec.model.objects import K8sObject


def _listed(prefixes: Iterable[str]) -> str:
    return ", ".join(prefixes) or "none"


def _evaluator(allowed: tuple[str, ...] | None, denied: tuple[str, ...]) -> Callable[[K8sObject], Iterator[Violation]]:
    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        for item in container_images(obj):
            image, name = item.image, item.container.name
            if image is None:
                yield item.unreadable()
                continue
            if allowed is None and not denied:
                yield Violation(
                    item.path,
                    f'container "{name}" image {safe_image(image.raw)}: no registry policy is configured, so its registry '
                    "cannot be judged (use assert_images_from / assert_images_not_from)",
                    name,
                )
                continue
            hits = [prefix for prefix in denied if matches_prefix(image, prefix)]
            if hits:
                yield Violation(
                    item.path,
                    f'container "{name}" image {safe_image(image.raw)} ({image.name}) comes from denied {hits[0]}',
                    name,
                )
            elif allowed is not None and not any(matches_prefix(image, prefix) for prefix in allowed):
                yield Violation(
                    item.path,
                    f'container "{name}" image {safe_image(image.raw)} ({image.name}) is not from an allowed registry '
                    f"({_listed(allowed)})",
                    name,
                )

    return evaluate


CHECK = Check(
    id="image-registry-not-allowed",
    title="Image from a registry outside policy",
    summary="Container images must come from the allowed registries (and from none of the denied ones).",
    remediation="Mirror the image into an allowed registry and reference it there.",
    category=Category.IMAGES,
    severity=Severity.HIGH,
    evaluate=_evaluator(None, ()),
    controls=("NSA-pod-secure-images", "MITRE-T1204.003"),
    references=("https://kubernetes.io/docs/concepts/containers/images/#image-names",),
)


def _prefixes(name: str, values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        # A bare string would iterate over its characters.
        raise TypeError(f"{name} must be a list of registry prefixes, not the string {values!r}")
    result = tuple(dict.fromkeys(registry_prefix(value) for value in values))
    if not result:
        raise ValueError(f"{name} is empty: give at least one registry prefix such as 'registry.example.com/'")
    return result


def configure(allowed: Iterable[str] | None = None, denied: Iterable[str] | None = None) -> Check:
    """``CHECK`` with a policy: images must match one ``allowed`` prefix (when given) and no ``denied`` one.

    Prefixes are a registry host, optionally with a repository path (``gcr.io``,
    ``registry.example.com:5000/team``, ``docker.io/library``); a prefix without a registry host is
    an error rather than a guess. The variant keeps the id, so findings and reports treat it as
    this check.
    """
    allowed_t = _prefixes("allowed", allowed)
    denied_t = _prefixes("denied", denied) or ()
    if allowed_t is None and not denied_t:
        raise ValueError("give allowed and/or denied registry prefixes")
    return _configured(allowed_t, denied_t)


@one_variant_per_argument
def _configured(allowed_t: tuple[str, ...] | None, denied_t: tuple[str, ...]) -> Check:
    parts = []
    if allowed_t is not None:
        parts.append(f"from {_listed(allowed_t)}")
    if denied_t:
        parts.append(f"not from {_listed(denied_t)}")
    return dataclasses.replace(
        CHECK, summary=f"Container images must come {' and '.join(parts)}.", evaluate=_evaluator(allowed_t, denied_t)
    )
