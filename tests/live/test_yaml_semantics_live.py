"""The API server judges how the loader reads YAML: every row of tests/data/yaml-semantics/cases.json
is sent as YAML (``Content-Type: application/yaml``, server-side ``dryRun=All``, ``fieldValidation=Strict``) to the local control
plane, and what the server decoded must equal, value and JSON type, what the loader reads from the
same text. Error rows must be refused by both.

Where the YAML 1.1 documents and the server differ (``y`` and ``n`` are booleans, timestamps stay
text, a later anchor replaces an earlier one), upstream wins: the server is the judge here, and the
unit table (tests/unit/test_kube_yaml.py) pins the same values without a server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dryrun
import pytest

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.manifests import load_text
from tests.yaml_cases import cases, probe_document, same

CASES = cases("yaml-semantics")
GROUP = dryrun.GROUP
PROBES = f"/apis/{GROUP}/v1/namespaces/default/probes"


@pytest.fixture(scope="module")
def probe_crd(admin: ClusterSource) -> None:
    served = dryrun.serve_crd(
        admin, "Probe", "probes", {"type": "object", "nullable": True, "x-kubernetes-preserve-unknown-fields": True}
    )
    assert served == PROBES


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_the_loader_reads_yaml_as_the_api_server_does(
    admin: ClusterSource, probe_crd: None, case: dict[str, Any]
) -> None:
    text = probe_document(case, GROUP)
    status, answer = dryrun.post(admin, PROBES, text)
    if "error" in case:
        with pytest.raises(ManifestError, match=case["error"]):
            load_text(text)
        if "server_keeps_one_of" in case:
            # Keys that collide once stringified: the server keeps one at random (Go's map
            # order), so no value is the one a reviewer reads; the loader refuses the document.
            assert status == 201 and answer["spec"] in case["server_keeps_one_of"], f"{status} {answer}"
        else:
            assert status in (400, 422), f"the server accepted what the loader refuses: {status} {answer}"
        return
    assert status == 201, f"the server refused the row: {status} {answer}"
    (obj,) = load_text(text)
    served = answer["spec"]
    assert same(obj.raw["spec"], served), f"loader {obj.raw['spec']!r} != server {served!r}"
    assert same(case["value"], served), f"table {case['value']!r} != server {served!r}"


def test_non_string_keys_of_secrets_and_configmaps_are_the_strings_the_server_stores(admin: ClusterSource) -> None:
    # issue 12 item 1: a numeric stringData key hid a credential from walkers that skip non-string keys.
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: numeric-keys}\nstringData: {1234: Sup3rS3cretPassw0rd}\n"
    status, answer = dryrun.post(admin, "/api/v1/namespaces/default/secrets", secret)
    assert status == 201, answer
    (obj,) = load_text(secret)
    assert list(obj.raw["stringData"]) == list(answer["data"]) == ["1234"]
    configmap = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: numeric-keys}\ndata: {1: a, yes: b, 1.5: c, 0x10: d}\n"
    )
    status, answer = dryrun.post(admin, "/api/v1/namespaces/default/configmaps", configmap)
    assert status == 201, answer
    (obj,) = load_text(configmap)
    assert obj.raw["data"] == answer["data"] == {"1": "a", "true": "b", "1.5": "c", "16": "d"}


REAL_WORLD = Path(__file__).parent.parent / "data" / "yaml-semantics" / "real-world"


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, child in value.items() for k, v in leaves(child, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for index, child in enumerate(value) for k, v in leaves(child, f"{path}[{index}]").items()}
    return {path: value}


def test_the_real_world_tree_reads_as_the_server_stores_it(admin: ClusterSource) -> None:
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}})
    paths = {
        "CustomResourceDefinition": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "Deployment": "/apis/apps/v1/namespaces/web/deployments",
        "Secret": "/api/v1/namespaces/web/secrets",
        "CronJob": "/apis/batch/v1/namespaces/web/cronjobs",
    }
    checked = 0
    for path in sorted(REAL_WORLD.glob("*.yaml")):
        documents = path.read_text().split("\n---\n")
        objects = load_text(path.read_text(), str(path))
        assert len(objects) == len(documents)
        for obj, text in zip(objects, documents):
            status, answer = dryrun.post(admin, paths[obj.kind], text)
            assert status == 201, f"{obj.ref}: {status} {answer}"
            ours = dict(obj.raw)
            if obj.kind == "Secret":  # the server moves stringData into data, base64-encoded
                strings = ours.pop("stringData")
                assert list(answer["data"]) == list(strings)
            served = leaves(answer)
            for where, value in leaves(ours).items():
                if where not in served:  # typed fields with omitempty drop Go's zero values
                    assert value in (False, 0, "", None) and not isinstance(value, float), (
                        f"{obj.ref} {where}: ours {value!r}, server has none"
                    )
                    continue
                assert same(served[where], value), f"{obj.ref} {where}: ours {value!r}, server {served[where]!r}"
                checked += 1
    assert checked > 80


def test_json_numbers_read_as_the_server_reads_them(admin: ClusterSource, probe_crd: None) -> None:
    text = (
        '{"apiVersion": "k8ssec.test/v1", "kind": "Probe", "metadata": {"name": "json-numbers"},\n'
        ' "spec": {"x": [1.0, 1e20, 1e21, 0.5, 9223372036854775807, 9223372036854775808, 18446744073709551615, -0.0, 5]}}'
    )
    status, answer = dryrun.post(admin, PROBES, text, "application/json")
    assert status == 201, answer.get("message")
    (obj,) = load_text(text, "numbers.json")
    assert same(obj.raw["spec"], answer["spec"]), f"loader {obj.raw['spec']!r} != server {answer['spec']!r}"
    for bad in ("NaN", "1e400"):
        status, answer = dryrun.post(admin, PROBES, text.replace("0.5", bad), "application/json")
        assert status == 400, answer
        with pytest.raises(ManifestError, match="is not a number the API server can read"):
            load_text(text.replace("0.5", bad), "numbers.json")
