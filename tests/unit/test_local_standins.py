"""What the local node supplies so that applied manifests run: Secrets, ConfigMaps, volumes, the pod count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.local_standins import (
    STAND_IN_LABEL,
    claims,
    expected_pods,
    missing_config,
    referenced_config,
    volume_for,
)
from pytest_k8ssec.sources.manifests import load

HARDENED = Path(__file__).resolve().parents[2] / "example_suites" / "manifests" / "hardened"


def _objects(*raws: dict[str, Any]) -> list[K8sObject]:
    return [K8sObject(raw, Provenance("test.yaml")) for raw in raws]


def _deployment(spec: dict[str, Any], name: str = "app", replicas: Any = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"replicas": replicas, "template": {"spec": spec}},
    }


def test_the_hardened_manifests_need_their_two_secrets_and_the_database_volume() -> None:
    objects = load([str(HARDENED)]).objects
    made = missing_config(objects)
    assert [(m["kind"], m["metadata"]["namespace"], m["metadata"]["name"]) for m in made] == [
        ("Secret", "shop", "api-database"),
        ("Secret", "shop", "db-credentials"),
    ]
    assert all(m["metadata"]["labels"] == {STAND_IN_LABEL: "true"} for m in made)
    assert [(c["namespace"], c["name"]) for c in claims(objects)] == [("shop", "data-db-0")]
    # api 2, web 3, worker 2, db 1; the CronJob runs nothing until its schedule.
    assert expected_pods(objects) == 8


def test_every_way_a_pod_reads_config_is_found_and_optional_ones_are_not() -> None:
    spec = {
        "volumes": [
            {"name": "a", "secret": {"secretName": "vol-secret", "items": [{"key": "tls.crt", "path": "c"}]}},
            {"name": "b", "configMap": {"name": "vol-cm"}},
            {"name": "c", "secret": {"secretName": "optional-secret", "optional": True}},
            {
                "name": "d",
                "projected": {"sources": [{"secret": {"name": "proj-secret"}}, {"configMap": {"name": "proj-cm"}}]},
            },
        ],
        "initContainers": [
            {
                "name": "i",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "password"}}}],
            }
        ],
        "containers": [
            {
                "name": "c",
                "env": [{"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "mode"}}}],
                "envFrom": [
                    {"secretRef": {"name": "from-secret"}},
                    {"configMapRef": {"name": "from-cm", "optional": True}},
                ],
            }
        ],
    }
    wanted = referenced_config(_objects(_deployment(spec)))
    assert wanted == {
        ("Secret", "ns", "vol-secret"): {"tls.crt"},
        ("ConfigMap", "ns", "vol-cm"): set(),
        ("Secret", "ns", "proj-secret"): set(),
        ("ConfigMap", "ns", "proj-cm"): set(),
        ("Secret", "ns", "env-secret"): {"password"},
        ("ConfigMap", "ns", "env-cm"): {"mode"},
        ("Secret", "ns", "from-secret"): set(),
    }
    present = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "env-secret", "namespace": "ns"}}
    made = {m["metadata"]["name"]: m for m in missing_config(_objects(_deployment(spec), present))}
    assert "env-secret" not in made  # the manifests hold it
    assert made["vol-secret"]["stringData"] == {"tls.crt": "stand-in"}
    assert made["env-cm"]["data"] == {"mode": "stand-in"}


def test_a_volume_is_pre_bound_to_its_claim_with_the_size_modes_and_class_asked() -> None:
    claim = {
        "namespace": "shop",
        "name": "data-db-0",
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}},
    }
    volume = volume_for(claim, Path("/tmp/node/volumes"))
    assert volume["kind"] == "PersistentVolume" and "namespace" not in volume["metadata"]
    spec = volume["spec"]
    assert spec["claimRef"] == {"namespace": "shop", "name": "data-db-0"}
    assert spec["capacity"] == {"storage": "20Gi"}
    assert spec["accessModes"] == ["ReadWriteOnce"]
    # A claim without a class binds only to a volume without one (no default class exists here).
    assert spec["storageClassName"] == ""
    assert spec["hostPath"] == {"path": "/tmp/node/volumes/shop-data-db-0", "type": "DirectoryOrCreate"}
    assert spec["persistentVolumeReclaimPolicy"] == "Retain"


def test_claims_of_a_statefulset_are_named_as_its_controller_names_them() -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "ns"},
        "spec": {
            "replicas": 3,
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
            "template": {"spec": {}},
        },
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "own", "namespace": "ns"},
        "spec": {},
    }
    assert [c["name"] for c in claims(_objects(sts, pvc))] == ["data-db-0", "data-db-1", "data-db-2", "own"]
    assert expected_pods(_objects(sts, _deployment({}, replicas=0))) == 3
