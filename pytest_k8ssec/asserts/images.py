"""Assertion helpers for container images: tags, digests, registries, pull policy.

References are parsed as the kubelet parses them (``model/images.py``); an image that cannot be
parsed, or a container without one, fails every helper here: it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.asserts._failure import Objects, _named, _run
from pytest_k8ssec.checks import image_registry_not_allowed


def assert_no_latest_tag(objs: Objects) -> None:
    """Assert no container image uses ``:latest``, written or implied by a missing tag and digest."""
    __tracebackhide__ = True
    _named(["image-latest-tag"], objs)


def assert_images_pinned(objs: Objects) -> None:
    """Assert every container image is pinned by digest (``repo@sha256:...``)."""
    __tracebackhide__ = True
    _named(["image-not-pinned"], objs)


@keyword_only("registries")
def assert_images_from(objs: Objects, *, registries: Iterable[str]) -> None:
    """Assert every container image comes from one of ``registries``.

    Args:
        registries: registry prefixes such as ``"registry.example.com/"``, ``"gcr.io/my-project"``
            or ``"docker.io/library"``, matched on the normalized reference component by component
            (``docker.io/`` does not match ``docker.io.evil.com/``).
    """
    __tracebackhide__ = True
    _run("image-registry-not-allowed", [image_registry_not_allowed.configure(allowed=registries)], objs)


@keyword_only("registries")
def assert_images_not_from(objs: Objects, *, registries: Iterable[str]) -> None:
    """Assert no container image comes from any of ``registries`` (matched as in ``assert_images_from``)."""
    __tracebackhide__ = True
    _run("image-registry-not-allowed", [image_registry_not_allowed.configure(denied=registries)], objs)


def assert_pull_policy(objs: Objects) -> None:
    """Assert every image not pinned by digest is pulled with ``imagePullPolicy: Always``.

    An unset policy counts as the API server defaults it: ``Always`` for ``:latest`` or no tag,
    ``IfNotPresent`` otherwise. Digest-pinned images are exempt.
    """
    __tracebackhide__ = True
    _named(["mutable-image-not-pulled"], objs)
