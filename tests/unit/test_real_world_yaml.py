"""Real-world-shaped manifests (tests/data/yaml-semantics/real-world) load with the values the API
server stores: the kube-prometheus CRD with a plain "=" in an enum, YAML 1.1 booleans, octal file
modes, dates, anchors and merge keys. tests/live/test_yaml_semantics_live.py sends the same files to
the local control plane and compares."""

from __future__ import annotations

from pathlib import Path

from pytest_k8ssec.sources.manifests import load

TREE = Path(__file__).parent.parent / "data" / "yaml-semantics" / "real-world"


def test_every_file_of_the_tree_loads() -> None:
    result = load([str(TREE)])
    assert [o.ref for o in result.objects] == [
        "CustomResourceDefinition/alertmanagerconfigs.monitoring.coreos.com",
        "Deployment/web/shop",
        "Secret/web/shop-config",
        "CronJob/web/report",
    ]
    assert result.skipped == []


def test_the_kube_prometheus_enum_keeps_its_operators() -> None:
    crd = load([str(TREE / "alertmanagerconfig-crd.yaml")]).objects[0]
    schema = crd.raw["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    rule = schema["properties"]["spec"]["properties"]["inhibitRules"]["items"]
    match_type = rule["properties"]["sourceMatch"]["items"]["properties"]["matchType"]
    assert match_type["enum"] == ["!=", "=", "=~", "!~"]
    assert crd.provenance.line == 3


def test_hand_written_values_are_what_the_server_stores() -> None:
    deployment, secret, cronjob = load([str(TREE / "hand-written-app.yaml")]).objects
    assert deployment.raw["metadata"]["annotations"] == {
        "build-date": "2024-05-01",
        "deployed-at": "2024-05-01T12:30:00Z",
        "release": "1.10",
    }
    spec = deployment.raw["spec"]
    assert spec["replicas"] == 3 and spec["selector"]["matchLabels"] == {"app": "shop", "tier": "front"}
    pod = spec["template"]["spec"]
    assert (pod["hostNetwork"], pod["enableServiceLinks"], pod["automountServiceAccountToken"]) == (False, False, True)
    app, sidecar = pod["containers"]
    assert app["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsUser": 10001,
    }
    assert app["volumeMounts"][0]["readOnly"] is True
    assert sidecar["name"] == "sidecar" and sidecar["securityContext"] == {
        **app["securityContext"],
        "capabilities": {"drop": ["ALL"]},
    }
    assert sidecar["image"] == app["image"] and sidecar["volumeMounts"] == app["volumeMounts"]
    volume = pod["volumes"][0]["secret"]
    assert volume["defaultMode"] == 420 and volume["items"][0]["mode"] == 256  # 0644, 0400
    assert secret.raw["stringData"] == {"1234": "Sup3rS3cretPassw0rd", "true": "enabled"}
    job = cronjob.raw["spec"]
    assert job["suspend"] is False and job["jobTemplate"]["spec"]["backoffLimit"] == 6
    container = job["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["--since", "2024-01-01", "--ratio", "1.50", "--window", "1:30"]
