"""No secret leaves a run in apply mode (``--k8s-local-control-plane --k8s-manifests``): the
planted values of the manifest leak test, applied to the real API server, with every talkative
option; and the server's own error for a refused value (issue 12 item 17)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.local_control_plane import Binaries, LocalControlPlane

PLANTED = {
    "secret_data": "Pg-r3plica!Xq7mPz2024",
    "env_password": "Wh1tel1st-Adm1n-Zr5u",
    "configmap": "S3cure-Billing-Kv8qTw",
}
NUMERIC = "90417733"

MANIFESTS = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: billing-db, namespace: shop}}
data: {{password: {base64.b64encode(PLANTED["secret_data"].encode()).decode()}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: billing-config, namespace: shop}}
data: {{DB_PASSWORD: "{PLANTED["configmap"]}"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: billing, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: billing}}}}
  template:
    metadata: {{labels: {{app: billing}}}}
    spec:
      containers:
        - name: app
          image: registry.example.com/billing:2.4.1
          env: [{{name: ADMIN_PASSWORD, value: "{PLANTED["env_password"]}"}}]
"""

TESTS = """
from pytest_k8ssec.asserts.credentials import assert_no_credential_literals, assert_no_secrets_in_manifests


def test_literals(k8s_inventory):
    assert_no_credential_literals(k8s_inventory.objects)


def test_secrets(k8s_inventory):
    assert_no_secrets_in_manifests(k8s_inventory.objects)


def test_can_i(k8s_cluster):
    assert k8s_cluster.can_i("get", "secrets", namespace="shop")
"""

TALKATIVE = ("-rA", "-vv", "--tb=long", "--showlocals", "-l", "--log-level=DEBUG", "-o", "junit_logging=all")


def _needles(values: dict[str, str]) -> list[tuple[str, str]]:
    needles = []
    for name, value in values.items():
        for form, text in (
            ("plain", value),
            ("base64", base64.b64encode(value.encode()).decode()),
            ("json", json.dumps(value)[1:-1]),
        ):
            needles.append((f"{name} ({form})", text))
            needles += [(f"{name} ({form}) piece", text[i : i + 12]) for i in range(len(text) - 11)]
    return needles


def _search(root: Path, result: pytest.RunResult, values: dict[str, str], inputs: set[Path]) -> list[str]:
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    outputs.update(
        {
            str(p.relative_to(root)): p.read_bytes().decode("latin-1")
            for p in root.rglob("*")
            if p.is_file() and p not in inputs and "__pycache__" not in p.parts
        }
    )
    return sorted(
        {
            f"{label} in {where}"
            for label, text in _needles(values)
            for where, output in outputs.items()
            if text in output
        }
    )


@pytest.fixture
def apply_mode(binaries: Binaries, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("K8SSEC_CONTROL_PLANE_BIN", binaries.apiserver[0])
    monkeypatch.setenv("TMPDIR", str(pytester.mkdir("tmp")))
    pytester.makepyfile(test_suite=TESTS)
    return pytester


def test_apply_mode_prints_and_writes_no_planted_value(apply_mode: pytest.Pytester) -> None:
    root = apply_mode.path
    (apply_mode.mkdir("deploy") / "billing.yaml").write_text(MANIFESTS)
    result = apply_mode.runpytest_subprocess(
        "--k8s-local-control-plane",
        "--k8s-manifests=deploy",
        *TALKATIVE,
        f"--junitxml={root / 'junit.xml'}",
        f"--k8s-local-audit-log={root / 'audit.log'}",
        f"--k8s-network-report={root / 'net.html'}",
    )
    # Not vacuous: the values were applied (can_i ran against the server) and both helpers failed on them.
    result.assert_outcomes(failed=2, passed=1)
    assert "value redacted" in result.stdout.str()
    assert (root / "audit.log").stat().st_size > 0 and (root / "net.html").is_file()
    assert _search(root, result, PLANTED, {root / "deploy" / "billing.yaml", root / "test_suite.py"}) == []


def test_a_value_the_server_refuses_is_not_echoed(apply_mode: pytest.Pytester) -> None:
    root = apply_mode.path
    (apply_mode.mkdir("deploy") / "db.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: " + NUMERIC + "}\n"
    )
    result = apply_mode.runpytest_subprocess("--k8s-local-control-plane", "--k8s-manifests=deploy", *TALKATIVE)
    assert result.ret != 0
    output = result.stdout.str() + result.stderr.str()
    # The server's reason is kept, the value is not: "got &value.valueUnstructured{Value:<redacted>}".
    assert "stringData.password" in output and "<redacted>" in output and "deploy/db.yaml" in output, output[-2000:]
    assert _search(root, result, {"numeric": NUMERIC}, {root / "deploy" / "db.yaml", root / "test_suite.py"}) == []
    assert NUMERIC not in output


# --- kubeconfig credentials of a live run (a client key and a ServiceAccount's bearer token) --------

LIVE_SUITE = """
def test_fails_with_everything_in_reach(k8s_cluster, k8s_inventory, k8s_namespace):
    client = k8s_cluster.api_client
    assert not k8s_inventory.objects, (k8s_cluster, client, k8s_namespace)


def test_forbidden(k8s_workloads):
    assert k8s_workloads
"""


def test_kubeconfig_credentials_of_a_live_run_are_never_printed(
    control_plane: LocalControlPlane, admin: ClusterSource, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A ServiceAccount with view rights and a bound token: the bearer-token user of a real cluster.
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "leaks"}})
    admin.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "auditor", "namespace": "leaks"}})
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "auditor-view", "namespace": "leaks"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "auditor", "namespace": "leaks"}],
        }
    )
    status, answer = admin.request(
        "POST",
        "/api/v1/namespaces/leaks/serviceaccounts/auditor/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
    )
    assert status == 201, answer
    token = answer["status"]["token"]
    config = yaml.safe_load(control_plane.kubeconfig.read_text())
    config["users"].append({"name": "auditor", "user": {"token": token}})
    config["contexts"].append({"name": "auditor", "context": {"cluster": "local", "user": "auditor"}})
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    keys = {
        f"client key of {u['name']}": "".join(
            base64.b64decode(u["user"]["client-key-data"]).decode().splitlines()[1:-1]
        )
        for u in config["users"]
        if "client-key-data" in u["user"]
    }
    monkeypatch.setenv("TMPDIR", str(pytester.mkdir("tmp")))
    pytester.makepyfile(test_suite=LIVE_SUITE)
    result = pytester.runpytest_subprocess(
        f"--k8ssec-kubeconfig={kubeconfig}",
        "--k8s-context",
        "admin",
        "--k8s-context",
        "auditor",
        "--k8s-namespace",
        "leaks",
        *TALKATIVE,
        "--full-trace",
        f"--junitxml={pytester.path / 'junit.xml'}",
    )
    # Not vacuous: both contexts ran, the failures printed the cluster handles and their locals.
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1 and outcomes.get("failed", 0) + outcomes.get("errors", 0) >= 3, outcomes
    assert "auditor" in result.stdout.str() and "<K8sCluster admin" in result.stdout.str()
    leaks = _search(pytester.path, result, {"token": token, **keys}, {kubeconfig, pytester.path / "test_suite.py"})
    assert leaks == []
