"""No secret leaks: a real pytest run over manifests with planted secrets prints none of them.

The run fails on purpose (every credentials helper, and ``assert_passes`` with every built-in check)
with the most talkative options pytest has: ``-rA -v --tb=long --showlocals``, DEBUG logs,
``--junitxml`` with ``junit_logging=all``, and once more with ``--full-trace``, which shows the
frames of our helpers that ``__tracebackhide__`` hides otherwise. Then stdout, stderr, the JUnit XML
and every file of ``.pytest_cache`` are searched for each planted value, its base64 form, and every
12-character piece of either. The run must have failed with the expected check ids and named the
keys, so an empty search result means redaction, not a run that printed nothing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pytest

import pytest_k8ssec

# Fake but realistic values: each would be a live credential if it were real.
PLANTED = {
    "secret_data": "Pg-r3plica!Xq7mPz2024",
    "secret_string": "rk_live_51HbQx2LkT9vRmWcZpN4sJ8d",
    "configmap_password": "S3cure-Billing-Kv8qTw",
    "configmap_embedded": "Spr1ng-Ds-Hx4nLm9Qe",
    "configmap_token": "ghp_HTNrNbdPhddlDiKjrp7vxXRYO96Um2nRlBRZ",
    "env_aws": "AKIA2E0A8F3B244C9986",
    "env_password": "Wh1tel1st-Adm1n-Zr5u",
    "env_jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwbGFudGVkLWxlYWstdGVzdCJ9.c2lnbmF0dXJlLXBsYW50ZWQtbGVhaw",
    "annotation_token": "xoxb-284245965115-4606975099741-rzhGGNv5grXoct5sKao3VFET",
    "last_applied": "T0k3n-From-Last-Applied-Jw2c",
}


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


MANIFESTS = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: billing-db
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"billing-db"}},"stringData":{{"token":"{PLANTED["last_applied"]}"}}}}'
type: Opaque
data:
  password: {_b64(PLANTED["secret_data"])}
stringData:
  stripe-key: "{PLANTED["secret_string"]}"
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: billing-config, namespace: shop}}
data:
  DB_PASSWORD: "{PLANTED["configmap_password"]}"
  GITHUB_CONFIG: "{PLANTED["configmap_token"]}"
  application.properties: |
    spring.datasource.url=jdbc:postgresql://db.shop:5432/billing
    spring.datasource.password={PLANTED["configmap_embedded"]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: billing, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: billing}}}}
  template:
    metadata:
      labels: {{app: billing}}
      annotations: {{notify.example.com/slack-token: "{PLANTED["annotation_token"]}"}}
    spec:
      containers:
        - name: app
          image: registry.example.com/billing:2.4.1
          env:
            - {{name: AWS_ACCESS_KEY_ID, value: {PLANTED["env_aws"]}}}
            - {{name: ADMIN_PASSWORD, value: "{PLANTED["env_password"]}"}}
            - {{name: SESSION_SEED, value: "{PLANTED["env_jwt"]}"}}
            - name: STRIPE_KEY
              valueFrom: {{secretKeyRef: {{name: billing-db, key: stripe-key}}}}
"""

# The test code a user would write: no value in any of its locals (--showlocals prints them).
TESTS = """
import logging

from pytest_k8ssec.asserts.workloads import assert_passes
from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.asserts.credentials import (
    assert_no_credential_literals,
    assert_no_secrets_in_manifests,
    assert_not_default_service_account,
    assert_secrets_as_files,
)

logging.getLogger("user").debug("the suite starts")


def test_no_credential_literals(k8s_inventory):
    assert_no_credential_literals(k8s_inventory.objects)


def test_no_secrets_in_manifests(k8s_inventory):
    assert_no_secrets_in_manifests(k8s_inventory.objects)


def test_secrets_as_files(k8s_workloads):
    assert_secrets_as_files(k8s_workloads)


def test_not_default_service_account(k8s_workload):
    assert_not_default_service_account(k8s_workload)


def test_every_builtin_check(k8s_inventory):
    assert_passes(list(builtin_registry()), k8s_inventory.objects)
"""

PARSE_CACHE = "k8ssec-parsed-manifests"
EXPECTED_IDS = (
    "env-credential-literal",
    "configmap-credential",
    "secret-in-manifest",
    "secret-env-var",
    "default-service-account",
)


def _needles() -> list[tuple[str, str]]:
    """``(label, text)``: every planted value, its base64 form, and every 12-character piece of either."""
    needles = []
    for name, value in PLANTED.items():
        for form, text in (("plain", value), ("base64", _b64(value))):
            needles.append((f"{name} ({form})", text))
            needles += [(f"{name} ({form}) piece", text[i : i + 12]) for i in range(len(text) - 11)]
    return needles


def _leaks(outputs: dict[str, str]) -> list[str]:
    return sorted(
        {f"{label} in {where}" for label, text in _needles() for where, output in outputs.items() if text in output}
    )


def _outputs(pytester: pytest.Pytester, result: pytest.RunResult, junit: Path) -> dict[str, str]:
    """stdout, stderr, the JUnit XML and pytest's own cache (``.pytest_cache/v``: lastfailed, nodeids)."""
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str(), "junit": junit.read_text()}
    files = [p for p in (pytester.path / ".pytest_cache").rglob("*") if p.is_file()]
    assert files, "the run wrote no .pytest_cache; nothing to search there"
    for path in files:
        if PARSE_CACHE not in path.parts:
            outputs[str(path.relative_to(pytester.path))] = path.read_text(errors="replace")
    return outputs


def _parse_cache(pytester: pytest.Pytester) -> dict[str, str]:
    """The entries the manifest loader keeps in ``.pytest_cache/d/k8ssec-parsed-manifests``."""
    entries = [p for p in (pytester.path / ".pytest_cache").rglob("*") if p.is_file() and PARSE_CACHE in p.parts]
    return {str(p.relative_to(pytester.path)): p.read_bytes().decode("latin-1") for p in entries}


@pytest.fixture
def planted(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # The runs are subprocesses (stderr is real there); they import the package this run imports.
    monkeypatch.setenv("PYTHONPATH", str(Path(pytest_k8ssec.__file__).resolve().parents[1]))
    (pytester.mkdir("deploy") / "billing.yaml").write_text(MANIFESTS)
    pytester.makepyfile(test_leaky_suite=TESTS)
    return pytester


@pytest.mark.parametrize("extra", [[], ["--full-trace"]], ids=["showlocals", "full-trace"])
def test_a_failing_run_prints_no_planted_secret(planted: pytest.Pytester, extra: list[str]) -> None:
    junit = planted.path / "junit.xml"
    result = planted.runpytest_subprocess(
        "--k8s-manifests=deploy",
        "-rA",
        "-v",
        "--tb=long",
        "--showlocals",
        "-l",
        "--log-level=DEBUG",
        f"--junitxml={junit}",
        "-o",
        "junit_logging=all",
        *extra,
    )
    outputs = _outputs(planted, result, junit)
    # Not vacuous: every helper failed, with the expected checks, naming keys and variables.
    result.assert_outcomes(failed=5)
    everything = "\n".join(outputs.values())
    for check_id in EXPECTED_IDS:
        assert check_id in outputs["stdout"] and check_id in outputs["junit"], check_id
    for named in (
        "data.password",
        "stringData.stripe-key",
        "DB_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "ADMIN_PASSWORD",
        "value redacted (20 chars, looks like an AWS access key id)",
        "last-applied-configuration",
    ):
        assert named in outputs["stdout"], named
    # The manifests do hold the values, so the search below can find them if they leak.
    assert all(value in MANIFESTS or _b64(value) in MANIFESTS for value in PLANTED.values())
    # Not vacuous either: locals were shown, the helpers' own frames too under --full-trace.
    assert re.search(r"^k8s_inventory += <", outputs["stdout"], re.MULTILINE)
    if extra:
        assert re.search(r"^findings +\= \[Finding\(", outputs["stdout"], re.MULTILINE)
    assert _leaks(outputs) == []
    assert "redacted" in everything


def test_the_search_finds_a_value_that_does_leak(planted: pytest.Pytester) -> None:
    # The control: a test that prints a planted value in its failure is caught by the same search.
    planted.makepyfile(test_really_leaky=f"def test_x():\n    assert {PLANTED['env_password'][:14]!r} == 'x'\n")
    junit = planted.path / "junit.xml"
    result = planted.runpytest_subprocess("test_really_leaky.py", "-rA", f"--junitxml={junit}")
    result.assert_outcomes(failed=1)
    leaks = _leaks(_outputs(planted, result, junit))
    assert any(leak.startswith("env_password (plain) piece in stdout") for leak in leaks), leaks


def test_the_manifest_parse_cache_keeps_no_planted_secret(planted: pytest.Pytester) -> None:
    # .pytest_cache is often kept by CI between jobs or uploaded with the reports, and rendered
    # charts (helm template with secret values) exist nowhere else on disk.
    result = planted.runpytest_subprocess("--k8s-manifests=deploy")
    result.assert_outcomes(failed=5)
    entries = _parse_cache(planted)
    assert entries, "the loader cached nothing; this test no longer covers its cache"
    assert _leaks(entries) == []


# --- every planted shape, every talkative option, every file the run wrote (issue 11 item 7) --------

MORE = {
    "image_password": "Im4ge-Pa55-Zk3qW8",
    "annotation_copy": "Cr0ss-0bject-Vx9tQ2",
    "kubeconfig_token": "kTok-8fJ2mQ7xLp4vZr9sNw3cYb6h",
}

EVERY_SHAPE = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: flags-seed, namespace: shop}}
stringData: {{seed: "{MORE["annotation_copy"]}"}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: flags
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"flags","namespace":"shop"}},"data":{{"seed":"{MORE["annotation_copy"]}"}}}}'
data: {{mode: fast}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: puller, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: puller}}}}
  template:
    metadata: {{labels: {{app: puller}}}}
    spec:
      containers:
        - name: app
          image: "deployer:{MORE["image_password"]}@registry.example.com/billing:2.4.1"
          ports: [{{containerPort: 8080, name: http}}]
"""

EVERY_TEST = """
from pytest_k8ssec import assert_images_from, assert_images_pinned
from pytest_k8ssec.asserts.credentials import assert_no_credential_literals, assert_no_secrets_in_manifests


def test_images_pinned(k8s_workloads):
    assert_images_pinned(k8s_workloads)


def test_images_from(k8s_workloads):
    assert_images_from(k8s_workloads, registries=["registry.example.com/"])


def test_no_credential_literals(k8s_inventory):
    assert_no_credential_literals(k8s_inventory.objects)


def test_no_secrets_in_manifests(k8s_inventory):
    assert_no_secrets_in_manifests(k8s_inventory.objects)


def test_network(k8s_network):
    assert len(k8s_network.pods) >= 1
"""

TALKATIVE = ("-rA", "-vv", "--tb=long", "--showlocals", "-l", "--log-level=DEBUG", "-o", "junit_logging=all")


def _client_key_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _kubeconfig(path: Path, token: str, key_pem: bytes) -> None:
    # A context whose server refuses connections: the run must fail on it, and say so, without
    # printing the user's bearer token or client key.
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "clusters: [{name: prod, cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}}]\n"
        f"users: [{{name: deployer, user: {{token: {token}, client-key-data: {base64.b64encode(key_pem).decode()}}}}}]\n"
        "contexts: [{name: prod, context: {cluster: prod, user: deployer}}]\n"
    )


def _every_needle(values: dict[str, str]) -> list[tuple[str, str]]:
    """Each value, its base64 and its JSON-escaped form, and every 12-character piece of them."""
    needles = []
    for name, value in values.items():
        for form, text in (("plain", value), ("base64", _b64(value)), ("json", json.dumps(value)[1:-1])):
            needles.append((f"{name} ({form})", text))
            needles += [(f"{name} ({form}) piece", text[i : i + 12]) for i in range(len(text) - 11)]
    return needles


def _written_files(root: Path, inputs: set[Path]) -> dict[str, str]:
    """Every file under ``root`` the runs wrote (tmp dirs, .pytest_cache with the parse cache,
    JUnit XML, the report page), read as bytes so binary files are searched too."""
    return {
        str(p.relative_to(root)): p.read_bytes().decode("latin-1")
        for p in root.rglob("*")
        if p.is_file() and p not in inputs and "__pycache__" not in p.parts
    }


def test_no_planted_value_leaves_a_run_in_any_output_or_file(
    planted: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = planted.path
    # The kubernetes client writes client-key-data to a temporary file: keep those where we search.
    monkeypatch.setenv("TMPDIR", str(planted.mkdir("tmp")))
    (root / "deploy" / "more.yaml").write_text(EVERY_SHAPE)
    planted.makepyfile(test_every_shape=EVERY_TEST)
    key_pem = _client_key_pem()
    _kubeconfig(root / "kubeconfig", MORE["kubeconfig_token"], key_pem)
    key_body = "".join(key_pem.decode().splitlines()[1:-1])
    values = {**PLANTED, **MORE, "client_key": key_body}
    inputs = {
        root / "deploy" / "billing.yaml",
        root / "deploy" / "more.yaml",
        root / "kubeconfig",
        root / "test_leaky_suite.py",
        root / "test_every_shape.py",
    }

    manifests = planted.runpytest_subprocess(
        "--k8s-manifests=deploy",
        *TALKATIVE,
        f"--junitxml={root / 'junit-manifests.xml'}",
        f"--k8s-network-report={root / 'report' / 'net.html'}",
    )
    live = planted.runpytest_subprocess(
        f"--k8ssec-kubeconfig={root / 'kubeconfig'}",
        "--k8s-context",
        "prod",
        "--k8s-request-timeout",
        "3",
        "test_every_shape.py",
        *TALKATIVE,
        f"--junitxml={root / 'junit-context.xml'}",
    )
    outputs = {
        "manifests stdout": manifests.stdout.str(),
        "manifests stderr": manifests.stderr.str(),
        "context stdout": live.stdout.str(),
        "context stderr": live.stderr.str(),
        **_written_files(root, inputs),
    }
    # Not vacuous: the runs failed where the secrets are, named what they found, wrote every file.
    text = outputs["manifests stdout"]
    assert "<userinfo redacted: 26 chars>@registry.example.com/billing:2.4.1" in text
    assert 'repeats the committed value of key "seed" of Secret shop/flags-seed' in text
    assert "last-applied-configuration" in text
    assert {"junit-manifests.xml", "junit-context.xml", str(Path("report", "net.html"))} <= set(outputs)
    assert any(PARSE_CACHE in name for name in outputs), "the parse cache was not written"
    assert "prod" in outputs["context stdout"] and live.ret != 0, outputs["context stdout"][-3000:]
    found = sorted(
        {
            f"{label} in {where}"
            for label, needle in _every_needle(values)
            for where, output in outputs.items()
            if needle in output
        }
    )
    assert found == []


# --- messages of Helm and kustomize (issue 12 item 17) ---------------------------------------------

TOOL_SECRETS = {"helm_value": "Hunter2-x9Lq-helmValue", "kustomize_literal": "Hunter2-kz7Qe-literal"}


def _tool(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put ``name`` on PATH (from ~/go/bin when `go install` left it there); fail without it: a
    skipped renderer test proves nothing."""
    if shutil.which(name):
        return
    for directory in (Path(os.environ.get("GOBIN", "")), Path.home() / "go" / "bin", Path("/root/go/bin")):
        if (directory / name).is_file():
            monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
            return
    pytest.fail(f"{name} is not installed (not on PATH nor in ~/go/bin); CI installs it", pytrace=False)


def test_renderer_errors_show_no_value(planted: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _tool("helm", monkeypatch)
    _tool("kustomize", monkeypatch)
    chart = planted.mkdir("chart")
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(f"db:\n  password: {TOOL_SECRETS['helm_value']}\n")
    (chart / "templates").mkdir()
    (chart / "templates" / "secret.yaml").write_text(
        '{{- if lt (len .Values.db.password) 32 }}{{ fail (printf "db.password %s is shorter than 32" .Values.db.password) }}{{ end }}\n'
    )
    kust = planted.mkdir("kust")
    # A typo: ':' where kustomize wants '=' (kustomize echoes the whole literal source).
    (kust / "kustomization.yaml").write_text(
        f'secretGenerator:\n  - name: db\n    literals: ["DB_PASSWORD:{TOOL_SECRETS["kustomize_literal"]}"]\n'
    )
    outputs = {}
    for source in ("chart", "kust"):
        result = planted.runpytest_subprocess(f"--k8s-manifests={source}", *TALKATIVE, "test_leaky_suite.py")
        assert result.ret != 0
        outputs[f"{source} stdout"], outputs[f"{source} stderr"] = result.stdout.str(), result.stderr.str()
    # Not vacuous: each tool's own message is shown, with the value taken out.
    assert "is shorter than 32" in outputs["chart stdout"] + outputs["chart stderr"]
    assert "invalid literal source" in outputs["kust stdout"] + outputs["kust stderr"]
    found = sorted(
        {
            f"{label} in {where}"
            for label, needle in _every_needle(TOOL_SECRETS)
            for where, output in outputs.items()
            if needle in output
        }
    )
    assert found == []
