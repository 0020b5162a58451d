"""pytest_k8ssec.model.containers: the one container walker (init, regular, ephemeral)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec.model.containers import CONTAINER_FIELDS, ContainerRef, containers
from pytest_k8ssec.model.objects import K8sObject, Provenance

POD_SPEC: dict[str, Any] = {
    # Deliberately listed out of walk order: the walker orders by field, not by dict order.
    "ephemeralContainers": [{"name": "debug", "image": "busybox"}],
    "containers": [{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "proxy:1"}],
    "initContainers": [{"name": "migrate", "image": "migrate:1"}, {"name": "wait", "image": "busybox"}],
}


def make(api_version: str, kind: str, **fields: Any) -> K8sObject:
    return K8sObject(
        {"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"}, **fields}, Provenance("t.yaml", 1, 0)
    )


def walk(obj: K8sObject) -> list[tuple[str, str]]:
    return [(ref.path, ref.name) for ref in containers(obj)]


def test_order_is_init_then_regular_then_ephemeral_with_exact_paths() -> None:
    obj = make("apps/v1", "Deployment", spec={"template": {"spec": POD_SPEC}})
    assert walk(obj) == [
        ("spec.template.spec.initContainers[0]", "migrate"),
        ("spec.template.spec.initContainers[1]", "wait"),
        ("spec.template.spec.containers[0]", "app"),
        ("spec.template.spec.containers[1]", "sidecar"),
        ("spec.template.spec.ephemeralContainers[0]", "debug"),
    ]
    assert [(ref.field, ref.index) for ref in containers(obj)] == [
        ("initContainers", 0),
        ("initContainers", 1),
        ("containers", 0),
        ("containers", 1),
        ("ephemeralContainers", 0),
    ]
    assert CONTAINER_FIELDS == ("initContainers", "containers", "ephemeralContainers")


@pytest.mark.parametrize(
    ("api_version", "kind", "fields", "prefix"),
    [
        ("v1", "Pod", {"spec": POD_SPEC}, "spec"),
        ("v1", "PodTemplate", {"template": {"spec": POD_SPEC}}, "template.spec"),
        ("v1", "ReplicationController", {"spec": {"template": {"spec": POD_SPEC}}}, "spec.template.spec"),
        ("apps/v1", "StatefulSet", {"spec": {"template": {"spec": POD_SPEC}}}, "spec.template.spec"),
        ("apps/v1", "DaemonSet", {"spec": {"template": {"spec": POD_SPEC}}}, "spec.template.spec"),
        ("apps/v1", "ReplicaSet", {"spec": {"template": {"spec": POD_SPEC}}}, "spec.template.spec"),
        ("extensions/v1beta1", "Deployment", {"spec": {"template": {"spec": POD_SPEC}}}, "spec.template.spec"),
        ("batch/v1", "Job", {"spec": {"template": {"spec": POD_SPEC}}}, "spec.template.spec"),
        (
            "batch/v1",
            "CronJob",
            {"spec": {"jobTemplate": {"spec": {"template": {"spec": POD_SPEC}}}}},
            "spec.jobTemplate.spec.template.spec",
        ),
    ],
)
def test_paths_for_every_workload_kind(api_version: str, kind: str, fields: dict[str, Any], prefix: str) -> None:
    assert [path for path, _ in walk(make(api_version, kind, **fields))] == [
        f"{prefix}.initContainers[0]",
        f"{prefix}.initContainers[1]",
        f"{prefix}.containers[0]",
        f"{prefix}.containers[1]",
        f"{prefix}.ephemeralContainers[0]",
    ]


def test_refs_are_views_of_the_containers() -> None:
    obj = make("v1", "Pod", spec=POD_SPEC)
    refs = containers(obj)
    assert refs[2] == ContainerRef(POD_SPEC["containers"][0], "spec.containers[0]", "containers", 0)
    assert refs[2].container is POD_SPEC["containers"][0]
    assert containers(obj) is refs  # walked once per object


def test_non_workloads_have_no_containers() -> None:
    assert containers(make("v1", "Service", spec=POD_SPEC)) == ()
    assert containers(make("example.com/v1", "Deployment", spec={"template": {"spec": POD_SPEC}})) == ()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, []),
        ({"containers": None}, []),
        ({"containers": "x"}, []),
        ({"containers": {"name": "app"}}, []),
        ({"containers": 3}, []),
        ({"containers": ["x", None, 3, [], {"name": "ok"}]}, [("spec.containers[4]", "ok")]),
        (
            {"initContainers": "x", "containers": [{"name": "app"}], "ephemeralContainers": [["nested"]]},
            [("spec.containers[0]", "app")],
        ),
    ],
)
def test_malformed_entries_are_skipped_without_crashing(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert walk(make("v1", "Pod", spec=spec)) == expected


@pytest.mark.parametrize("spec", [None, [], "x", 3])
def test_malformed_pod_spec_has_no_containers(spec: object) -> None:
    assert containers(make("v1", "Pod", spec=spec)) == ()
    assert containers(make("apps/v1", "Deployment", spec={"template": {"spec": spec}})) == ()


@pytest.mark.parametrize(
    ("container", "name", "security_context"),
    [
        ({"name": "app", "securityContext": {"privileged": True}}, "app", {"privileged": True}),
        ({"name": "app"}, "app", {}),
        ({"securityContext": []}, "", {}),
        ({"name": 3, "securityContext": "privileged"}, "", {}),
        ({"name": None, "securityContext": None}, "", {}),
    ],
)
def test_name_and_security_context_tolerate_wrong_types(
    container: dict[str, Any], name: str, security_context: dict[str, Any]
) -> None:
    (ref,) = containers(make("v1", "Pod", spec={"containers": [container]}))
    assert (ref.name, ref.security_context) == (name, security_context)
