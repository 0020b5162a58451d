"""k8s_rbac in real pytest runs (pytester): defaults for manifests, verdicts, failure text, options."""

from __future__ import annotations

import pytest

RBAC = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-edits, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
  - {kind: ServiceAccount, name: deployer, namespace: ci}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: app, image: nginx:1.27}]
"""

TESTS = """\
from pytest_k8ssec.asserts.rbac import assert_can, assert_cannot, assert_no_risky_permissions

DEPLOYER = "system:serviceaccount:ci:deployer"

def test_edit_resolved_from_defaults(k8s_rbac):
    # edit is not in the manifests: the binding resolves through the shipped default ClusterRoles.
    assert_can(k8s_rbac, DEPLOYER, "create", "deployments", namespace="shop", group="apps")
    assert k8s_rbac.who_can("create", "deployments", namespace="shop", group="apps")[-1].binding == "RoleBinding/shop/ci-edits"

def test_deployer_cannot_touch_prod(k8s_rbac):
    assert_cannot(k8s_rbac, DEPLOYER, "get", "secrets", namespace="prod")

def test_deployer_cannot_read_shop_secrets(k8s_rbac):
    assert_cannot(k8s_rbac, DEPLOYER, "get", "secrets", namespace="shop")

def test_no_workload_reads_secrets(k8s_rbac, k8s_workloads):
    for workload in k8s_workloads:
        assert_cannot(k8s_rbac, workload, "list", "secrets", namespace=workload.namespace)
        assert k8s_rbac.workload_permissions(workload) == []

def test_risky(k8s_rbac):
    assert_no_risky_permissions(k8s_rbac)

def test_cluster_source_on_manifests(k8s_rbac):
    k8s_rbac.can(DEPLOYER, "get", "pods", namespace="shop", source="cluster")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.mkdir("deploy") / "rbac.yaml").write_text(RBAC)
    pytester.makepyfile(test_team_rbac=TESTS)
    return pytester


def test_verdicts_and_failure_text(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-manifests", "deploy", "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=3, failed=3)
    out = result.stdout.str()
    assert "SecurityAssertionError: rbac: ServiceAccount ci/deployer can get secrets in namespace shop: 1 grant" in out
    assert (
        "- RoleBinding/shop/ci-edits -> ClusterRole/edit -> rule {verbs=['get', 'list', 'watch'], apiGroups=[''], "
        "resources=['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']} "
        "(subject ServiceAccount ci/deployer) (binding deploy/rbac.yaml:5; role pytest_k8ssec/data/rbac/default-clusterroles-"
    ) in out
    result.stdout.fnmatch_lines(["*rbac-risky-rules: 7 risky permission(s) held by 1 subject(s) judged*"])
    result.stdout.fnmatch_lines(["*- ServiceAccount ci/deployer: read-secrets in namespace shop: get secrets*"])
    result.stdout.fnmatch_lines(
        ["*RbacError: source='cluster' asks the API server, but target 'manifests' is not a live cluster*"]
    )
    # The summary counts the helpers' results.
    result.stdout.fnmatch_lines(["*rbac-risky-rules*high*1*1*"])


def test_rbac_defaults_none_leaves_default_roles_unresolved(project: pytest.Pytester) -> None:
    # Without defaults the binding names a ClusterRole that does not exist: it grants nothing (and
    # the run says so), so the deployer can no longer create deployments.
    result = project.runpytest(
        "--k8s-manifests",
        "deploy",
        "--k8s-rbac-defaults",
        "none",
        "-p",
        "no:cacheprovider",
        "-k",
        "defaults or shop_secrets",
        "-W",
        "always",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*cannot create deployments* in namespace shop: no RBAC rule allows it*"])
    result.stdout.fnmatch_lines(["*references ClusterRole/edit, which does not exist; it grants nothing*"])


def test_rbac_defaults_ini_and_unknown_version(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nk8s_rbac_defaults = 1.37\n")
    result = project.runpytest("--k8s-manifests", "deploy", "-p", "no:cacheprovider", "-k", "defaults")
    result.assert_outcomes(passed=1)
    result = project.runpytest("--k8s-manifests", "deploy", "--k8s-rbac-defaults", "1.2", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*k8s_rbac_defaults: no default ClusterRoles shipped for Kubernetes '1.2'; use one of: latest, none, 1.37*"]
    )


def test_without_targets_k8s_rbac_skips_with_the_way_to_configure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(k8s_rbac):\n    pass\n")
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*pass --k8s-manifests PATH*"])


def test_one_view_per_target_per_run(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_team_rbac_same="""
seen = []
def test_a(k8s_rbac):
    seen.append(k8s_rbac)
def test_b(k8s_rbac):
    assert seen[0] is k8s_rbac
"""
    )
    result = project.runpytest("--k8s-manifests", "deploy", "-p", "no:cacheprovider", "test_team_rbac_same.py")
    result.assert_outcomes(passed=2)
