"""pytest_k8ssec.model.workloads: where each workload kind keeps its pod spec."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.workloads import WORKLOAD_KINDS, PodSpecRef, is_workload, pod_spec

SPEC: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx"}], "hostNetwork": True}
META: dict[str, Any] = {"labels": {"app": "x"}}
TEMPLATE: dict[str, Any] = {"metadata": META, "spec": SPEC}


def make(api_version: str, kind: str, **fields: Any) -> K8sObject:
    return K8sObject(
        {"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"}, **fields}, Provenance("t.yaml", 1, 0)
    )


# (apiVersion, kind, object fields, path of the pod spec, path of the pod metadata)
CASES = [
    ("v1", "Pod", {"spec": SPEC}, "spec", "metadata"),
    ("v1", "PodTemplate", {"template": TEMPLATE}, "template.spec", "template.metadata"),
    ("v1", "ReplicationController", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    ("apps/v1", "Deployment", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    ("apps/v1", "StatefulSet", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    ("apps/v1", "DaemonSet", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    ("apps/v1", "ReplicaSet", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    ("batch/v1", "Job", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    (
        "batch/v1",
        "CronJob",
        {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": TEMPLATE}}}},
        "spec.jobTemplate.spec.template.spec",
        "spec.jobTemplate.spec.template.metadata",
    ),
    # Older API versions of the same groups keep the template in the same place.
    (
        "extensions/v1beta1",
        "Deployment",
        {"spec": {"template": TEMPLATE}},
        "spec.template.spec",
        "spec.template.metadata",
    ),
    (
        "extensions/v1beta1",
        "DaemonSet",
        {"spec": {"template": TEMPLATE}},
        "spec.template.spec",
        "spec.template.metadata",
    ),
    (
        "extensions/v1beta1",
        "ReplicaSet",
        {"spec": {"template": TEMPLATE}},
        "spec.template.spec",
        "spec.template.metadata",
    ),
    ("apps/v1beta2", "Deployment", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    ("apps/v1beta1", "StatefulSet", {"spec": {"template": TEMPLATE}}, "spec.template.spec", "spec.template.metadata"),
    (
        "batch/v1beta1",
        "CronJob",
        {"spec": {"jobTemplate": {"spec": {"template": TEMPLATE}}}},
        "spec.jobTemplate.spec.template.spec",
        "spec.jobTemplate.spec.template.metadata",
    ),
]


@pytest.mark.parametrize(
    ("api_version", "kind", "fields", "path", "metadata_path"), CASES, ids=[f"{c[0]}/{c[1]}" for c in CASES]
)
def test_pod_spec_of_every_workload_kind(
    api_version: str, kind: str, fields: dict[str, Any], path: str, metadata_path: str
) -> None:
    obj = make(api_version, kind, **fields)
    assert is_workload(obj)
    ref = pod_spec(obj)
    expected_meta = META if kind != "Pod" else {"name": "w"}
    assert ref == PodSpecRef(spec=SPEC, path=path, metadata=expected_meta, metadata_path=metadata_path, malformed=False)
    assert ref is not None and ref.spec is SPEC  # a view, never a copy


def test_every_kind_the_model_knows_is_covered_here() -> None:
    assert WORKLOAD_KINDS == {case[1] for case in CASES}


def test_pod_spec_is_computed_once_per_object() -> None:
    obj = make("apps/v1", "Deployment", spec={"template": TEMPLATE})
    assert pod_spec(obj) is pod_spec(obj)


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("example.com/v1", "Deployment"),  # a CRD with a workload's name
        ("example.com/v1", "Pod"),
        ("apps.example.com/v1", "StatefulSet"),
        ("argoproj.io/v1alpha1", "Rollout"),
        ("batch/v1", "Deployment"),  # right name, wrong group
        ("apps/v1", "Job"),
        ("v1", "Deployment"),
    ],
)
def test_other_kinds_and_look_alike_crds_are_not_workloads(api_version: str, kind: str) -> None:
    obj = make(api_version, kind, spec={"template": TEMPLATE})
    assert not is_workload(obj)
    assert pod_spec(obj) is None


@pytest.mark.parametrize(
    ("api_version", "kind", "fields", "path"),
    [
        ("v1", "Pod", {}, "spec"),
        ("v1", "Pod", {"spec": None}, "spec"),
        ("v1", "Pod", {"spec": []}, "spec"),
        ("v1", "Pod", {"spec": "x"}, "spec"),
        ("apps/v1", "Deployment", {}, "spec.template.spec"),
        ("apps/v1", "Deployment", {"spec": []}, "spec.template.spec"),
        ("apps/v1", "Deployment", {"spec": {"template": "x"}}, "spec.template.spec"),
        ("apps/v1", "Deployment", {"spec": {"template": {"metadata": {}}}}, "spec.template.spec"),
        ("apps/v1", "Deployment", {"spec": {"template": {"spec": [SPEC]}}}, "spec.template.spec"),
        ("batch/v1", "CronJob", {"spec": {"jobTemplate": []}}, "spec.jobTemplate.spec.template.spec"),
        ("batch/v1", "CronJob", {"spec": {"jobTemplate": {"spec": None}}}, "spec.jobTemplate.spec.template.spec"),
        ("v1", "PodTemplate", {"template": 3}, "template.spec"),
    ],
)
def test_missing_or_mistyped_parents_give_an_empty_spec_marked_malformed(
    api_version: str, kind: str, fields: dict[str, Any], path: str
) -> None:
    ref = pod_spec(make(api_version, kind, **fields))
    assert ref is not None
    assert (ref.spec, ref.path, ref.malformed) == ({}, path, True)


def test_mistyped_pod_metadata_is_malformed_but_the_spec_is_kept() -> None:
    ref = pod_spec(make("apps/v1", "Deployment", spec={"template": {"metadata": ["x"], "spec": SPEC}}))
    assert ref is not None
    assert (ref.spec, ref.metadata, ref.malformed) == (SPEC, {}, True)


def test_missing_pod_metadata_is_not_malformed() -> None:
    ref = pod_spec(make("apps/v1", "Deployment", spec={"template": {"spec": SPEC}}))
    assert ref is not None
    assert (ref.spec, ref.metadata, ref.metadata_path, ref.malformed) == (SPEC, {}, "spec.template.metadata", False)
