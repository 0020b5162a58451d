"""Manifest builders shared by the project's tests: the smallest objects a test needs, as dicts
(what a manifest or ``admin.apply`` holds) or as ``K8sObject`` views with a provenance.

Defaults are the ones the tests' messages read: a Pod ``ns/p`` and a Deployment ``ns/d`` from
``t.yaml`` line 1. A test that needs other names, another file or line passes a keyword (or binds
it once with ``functools.partial``) rather than writing its own builder. Empty ``labels`` and
``annotations`` are left out, as a manifest without them reads.

Imported as ``from tests.builders import ...``: ``tests`` is a package (``tests/__init__.py``) and
the repository root is on ``sys.path`` in the project's own runs (``python -m pytest`` from the
root, and the root ``conftest.py``).
"""

from __future__ import annotations

from typing import Any

from pytest_k8ssec.model.objects import K8sObject, Provenance

SOURCE = "t.yaml"


def as_object(raw: dict[str, Any], source: str = SOURCE, line: int | None = 1, doc: int | None = None) -> K8sObject:
    """``raw`` as the loader would give it, from ``source`` at ``line`` (document ``doc``)."""
    return K8sObject(raw, Provenance(source, line, doc))


def manifest(
    kind: str,
    name: str,
    namespace: str | None = None,
    *,
    api_version: str = "v1",
    labels: dict[str, str] | None = None,
    annotations: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Any object: ``apiVersion``, ``kind``, ``metadata`` and the top-level ``fields`` (``spec=...``).

    ``labels`` are kept when given, even empty (``labels={}`` is a Namespace without labels as
    the Pod Security admission reads it); empty annotations are left out.
    """
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels is not None:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def container(name: str = "app", image: str = "nginx:1.27", **security_context: Any) -> dict[str, Any]:
    """A container; the keywords are its ``securityContext`` (left out when there are none)."""
    result: dict[str, Any] = {"name": name, "image": image}
    if security_context:
        result["securityContext"] = security_context
    return result


def pod_manifest(
    spec: dict[str, Any], annotations: dict[str, Any] | None = None, *, name: str = "p", namespace: str = "ns"
) -> dict[str, Any]:
    """A Pod with ``spec`` as its spec."""
    return manifest("Pod", name, namespace, annotations=annotations, spec=spec)


def pod(
    spec: dict[str, Any],
    annotations: dict[str, Any] | None = None,
    *,
    name: str = "p",
    namespace: str = "ns",
    source: str = SOURCE,
    line: int | None = 1,
) -> K8sObject:
    """A Pod with ``spec`` as its spec, loaded from ``source`` at ``line``."""
    return as_object(pod_manifest(spec, annotations, name=name, namespace=namespace), source, line)


def deployment_manifest(
    spec: dict[str, Any],
    annotations: dict[str, Any] | None = None,
    *,
    name: str = "d",
    namespace: str | None = "ns",
    selector: bool = True,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Deployment whose pod template has ``spec`` as its spec and ``annotations``.

    ``selector``: ``spec.selector`` and template labels ``app: <name>``, as the API server
    requires; False gives the template's spec alone (enough for checks that read the pod spec).
    ``labels`` are the Deployment's own.
    """
    template: dict[str, Any] = {}
    if selector or annotations:
        template["metadata"] = {"labels": {"app": name}} if selector else {}
        if annotations:
            template["metadata"]["annotations"] = annotations
    template["spec"] = spec
    body: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}} if selector else {}
    body["template"] = template
    return manifest("Deployment", name, namespace, api_version="apps/v1", labels=labels, spec=body)


def deployment(
    spec: dict[str, Any],
    annotations: dict[str, Any] | None = None,
    *,
    name: str = "d",
    namespace: str = "ns",
    selector: bool = True,
    source: str = SOURCE,
    line: int | None = 1,
) -> K8sObject:
    """A Deployment (see ``deployment_manifest``) loaded from ``source`` at ``line``."""
    raw = deployment_manifest(spec, annotations, name=name, namespace=namespace, selector=selector)
    return as_object(raw, source, line)


def namespace(name: str, labels: dict[str, str] | None = None, *, source: str = SOURCE, line: int = 1) -> K8sObject:
    """A Namespace with ``labels`` (the Pod Security admission's are read from there)."""
    return as_object(manifest("Namespace", name, labels=labels), source, line)


def network_policy(name: str, spec: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    """A NetworkPolicy with ``spec`` (no namespace: the one it is applied to)."""
    return manifest("NetworkPolicy", name, namespace, api_version="networking.k8s.io/v1", spec=spec)
