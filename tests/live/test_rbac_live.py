"""k8s_rbac on a live target: the offline model and the API server (source="cluster") give the same verdicts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from pytest_k8ssec.model.rbac import RBAC_GROUP
from pytest_k8ssec.sources.cluster import ClusterSource

OWNER = {"app.kubernetes.io/managed-by": "pytest-k8ssec-tests"}


@pytest.fixture
def rbac_namespace(admin: ClusterSource) -> Iterator[str]:
    """A namespace with a ServiceAccount bot, a Role reading pods and exec, and a RoleBinding to edit."""
    ns = f"k8ssec-rbac-{secrets.token_hex(3)}"
    admin.create_namespace(ns, OWNER)
    try:
        admin.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot", "namespace": ns}})
        admin.apply({
            "apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": {"name": "pod-reader", "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                      {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["app"]}],
        })  # fmt: skip
        admin.apply({
            "apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", "metadata": {"name": "bot-reads", "namespace": ns},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": ns}],
        })  # fmt: skip
        admin.apply({
            "apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", "metadata": {"name": "dev-edits", "namespace": ns},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": "dev"}],
        })  # fmt: skip
        yield ns
    finally:
        admin.delete_namespace(ns, OWNER)


TESTS = """
import pytest
from pytest_k8ssec.asserts.rbac import assert_can, assert_cannot, assert_no_anonymous_access

NS = {ns!r}
BOT = f"system:serviceaccount:{{NS}}:bot"
QUERIES = [
    (BOT, "get", "pods", None, None),
    (BOT, "list", "pods", None, None),
    (BOT, "get", "pods/log", None, None),
    (BOT, "create", "pods", None, None),
    (BOT, "get", "secrets", None, None),
    (BOT, "get", "configmaps", "app", None),
    (BOT, "get", "configmaps", "other", None),
    (BOT, "list", "configmaps", None, None),
    ("dev", "get", "secrets", None, None),
    ("dev", "create", "deployments", None, "apps"),
    ("dev", "create", "pods/exec", None, None),
    ("dev", "create", "rolebindings", None, "rbac.authorization.k8s.io"),
    ("dev", "get", "nodes", None, "cluster"),
    ("group:system:authenticated", "create", "selfsubjectaccessreviews", None, "authorization.k8s.io"),
]

@pytest.mark.parametrize("who, verb, resource, name, group", QUERIES)
def test_model_and_server_agree(k8s_rbac, who, verb, resource, name, group):
    namespace = None if group == "cluster" else NS
    api_group = "" if group in (None, "cluster") else group
    offline = k8s_rbac.can(who, verb, resource, namespace=namespace, name=name, group=api_group)
    server = k8s_rbac.can(who, verb, resource, namespace=namespace, name=name, group=api_group, source="cluster")
    print(f"VERDICT {{who}} {{verb}} {{resource}} {{name}}: model={{offline}} server={{server}}")
    assert offline == server
    if server:
        assert_can(k8s_rbac, who, verb, resource, namespace=namespace, name=name, group=api_group, source="cluster")
        assert_can(k8s_rbac, who, verb, resource, namespace=namespace, name=name, group=api_group)
    else:
        assert_cannot(k8s_rbac, who, verb, resource, namespace=namespace, name=name, group=api_group, source="cluster")
        assert_cannot(k8s_rbac, who, verb, resource, namespace=namespace, name=name, group=api_group)

def test_bot_cannot_read_secrets_both_ways(k8s_rbac):
    assert_cannot(k8s_rbac, BOT, "get", "secrets", namespace=NS)
    assert_cannot(k8s_rbac, BOT, "get", "secrets", namespace=NS, source="cluster")

def test_dev_can_read_secrets_fails_with_the_binding(k8s_rbac):
    assert_cannot(k8s_rbac, "dev", "get", "secrets", namespace=NS)

def test_dev_server_answer_names_the_binding(k8s_rbac):
    assert_cannot(k8s_rbac, "dev", "get", "secrets", namespace=NS, source="cluster")

def test_bootstrap_anonymous_bindings_are_defaults(k8s_rbac):
    assert_no_anonymous_access(k8s_rbac)
"""


def test_offline_and_subject_access_review_agree(
    pytester: pytest.Pytester, rbac_namespace: str, live_args: list[str]
) -> None:
    pytester.makepyfile(test_live_rbac=TESTS.format(ns=rbac_namespace))
    result = pytester.runpytest(*live_args, "--k8s-context", "admin", "-s", "-rA")
    result.assert_outcomes(passed=16, failed=2)
    out = result.stdout.str()
    verdicts = re.findall(r"VERDICT .*? model=(True|False) server=(True|False)", out)
    assert len(verdicts) == 14 and all(model == server for model, server in verdicts)
    allowed = sum(server == "True" for _, server in verdicts)
    print(
        f"\nlive RBAC: {len(verdicts)} queries, {allowed} allowed, {len(verdicts) - allowed} denied; model and server agree"
    )
    assert 0 < allowed < len(verdicts), "both outcomes occur"
    # Offline failure: binding, role, rule and where they come from (the cluster context).
    assert (
        f"rbac: user dev can get secrets in namespace {rbac_namespace}: 1 grant" in out
        and f"RoleBinding/{rbac_namespace}/dev-edits -> ClusterRole/edit -> rule" in out
        and "(binding cluster admin; role cluster admin)" in out
    )
    # The API server's own reason names the binding too.
    assert (
        f"rbac: user dev can get secrets in namespace {rbac_namespace}: the API server allows it (RBAC: allowed by RoleBinding"
        in out
    )
