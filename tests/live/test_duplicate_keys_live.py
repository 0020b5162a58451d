"""The API server judges duplicate keys (issue 12 item 6): every row of
tests/data/duplicate-keys/cases.json is sent byte for byte (YAML as ``application/yaml``, JSON as
``application/json``, server-side ``dryRun=All``) with ``fieldValidation=Strict`` and with
``fieldValidation=Ignore``.

What it showed (Kubernetes v0.37.2 libraries, the project's control plane): Strict refuses every
key set twice, whether the values differ or not, at the top level, in metadata, annotations, spec,
securityContext, container items, ConfigMap and Secret data, inside a CRD's
preserve-unknown-fields object, for two spellings of one Go key (``true``/``y``, ``1``/``0x1``),
and wherever a merge key (``<<``) sets a key that is already set (after or before an explicit key,
or two merges): ``yaml: unmarshal errors: line N: key "privileged" already set in map`` for YAML,
``duplicate field "spec.containers[0].securityContext.privileged"`` for JSON. Ignore accepts them
all and stores the last value. Strict accepts only what is not one key twice: a merge that sets no
key again, JSON keys that differ in case, and an integer key next to the same string key (two Go
keys; the server keeps one at random, so the loader refuses that one for its own reason).

kubectl, even with ``--validate=strict`` (its default), turns YAML into JSON before it sends it and
so applies the last value: the last test pins that, as the loader's message says it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import dryrun
import pytest

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.local_control_plane import LocalControlPlane
from pytest_k8ssec.sources.manifests import load_text
from tests.yaml_cases import cases

CASES = cases("duplicate-keys")
GROUP = dryrun.GROUP
PATHS = {
    "pods": "/api/v1/namespaces/default/pods",
    "deployments": "/apis/apps/v1/namespaces/default/deployments",
    "configmaps": "/api/v1/namespaces/default/configmaps",
    "secrets": "/api/v1/namespaces/default/secrets",
    "dupes": f"/apis/{GROUP}/v1/namespaces/default/dupes",
}


def post(admin: ClusterSource, case: dict[str, Any], validation: str) -> tuple[int, Any]:
    """POST the row's text as it is, with server-side dry-run."""
    return dryrun.post(
        admin, PATHS[case["resource"]], case["text"], f"application/{case.get('format', 'yaml')}", validation
    )


def at(value: Any, path: list[Any]) -> Any:
    for step in path:
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and step < len(value):
            value = value[step]
        else:
            return None
    return value


@pytest.fixture(scope="module")
def dupe_crd(admin: ClusterSource) -> None:
    dryrun.serve_crd(admin, "Dupe", "dupes", {"type": "object", "x-kubernetes-preserve-unknown-fields": True})


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_strict_refuses_what_the_loader_refuses_and_ignore_keeps_the_last_value(
    admin: ClusterSource, dupe_crd: None, case: dict[str, Any]
) -> None:
    source = f"dup.{case.get('format', 'yaml')}"
    strict, answer = post(admin, case, "Strict")
    if "key" in case:
        assert strict == 400, f"Strict accepted a duplicate key: {strict} {answer}"
        assert case["server"] in answer["message"], answer["message"]
        with pytest.raises(ManifestError, match=rf'^dup\.\w+:{case["line"]}: .*duplicate key "{case["key"]}"'):
            load_text(case["text"], source)
        ignored, kept = post(admin, case, "Ignore")
        assert ignored == 201, f"Ignore refused the row: {ignored} {kept}"
        if "ignore" in case:  # the last value, silently: what the loader refuses to judge
            path, value = case["ignore"]
            assert at(kept, path) == value, at(kept, path)
        return
    assert strict == 201, f"Strict refused the row: {strict} {answer}"
    if "loader_error" in case:
        assert answer["spec"] in case["server_keeps_one_of"], answer["spec"]
        with pytest.raises(ManifestError, match=case["loader_error"]):
            load_text(case["text"], source)
        return
    (obj,) = load_text(case["text"], source)
    assert obj.raw["spec"] == answer["spec"] == case["value"], case["reason"]


@pytest.mark.parametrize("row", ["securityContext-privileged-deployment", "json-securityContext"])
def test_kubectl_with_validate_strict_applies_the_last_value(
    control_plane: LocalControlPlane, tmp_path: Path, row: str
) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH: install kubectl to check what it sends")
    (case,) = [case for case in CASES if case["id"] == row]
    path = tmp_path / f"dup.{case.get('format', 'yaml')}"
    path.write_text(case["text"])
    run = subprocess.run(
        [
            kubectl,
            "--kubeconfig",
            str(control_plane.kubeconfig),
            "--context",
            "admin",
            "apply",
            "--dry-run=server",
            "--validate=strict",
            "-n",
            "default",
            "-f",
            str(path),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    route, value = case["ignore"]
    assert at(json.loads(run.stdout), route) == value is False  # the privileged: true a reviewer reads is gone
