"""RBAC helpers (pytest_k8ssec.asserts.rbac), the risk catalog (model/rbac/risks.py) and workload permissions."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from pytest_k8ssec.asserts.rbac import (
    AccessReview,
    RbacView,
    assert_can,
    assert_cannot,
    assert_no_anonymous_access,
    assert_no_risky_permissions,
    assert_no_wildcard_rules,
    assert_not_cluster_admin,
    to_user,
)
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.rbac import (
    CATALOG,
    RISKS,
    PolicyRule,
    RbacError,
    RbacModel,
    RbacSubject,
    UserInfo,
    role_risks,
    subject_risks,
)
from pytest_k8ssec.reporting import recording
from pytest_k8ssec.sources.default_roles import default_roles, is_default_binding
from pytest_k8ssec.sources.manifests import load_text
from tests.builders import deployment

GROUP = "rbac.authorization.k8s.io"

MANIFESTS = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
rules:
  - {apiGroups: [""], resources: [pods, configmaps], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-reads, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
  - {kind: ServiceAccount, name: web}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-edits, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
  - {kind: ServiceAccount, name: deployer, namespace: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ops}
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


@pytest.fixture(scope="module")
def objects() -> list[K8sObject]:
    return load_text(MANIFESTS, source="rbac.yaml")


@pytest.fixture(scope="module")
def view(objects: list[K8sObject]) -> RbacView:
    return RbacView(RbacModel.from_objects(objects, defaults=default_roles("latest")))


def workload(spec: dict[str, Any], namespace: str = "shop") -> K8sObject:
    """Deployment ``w`` running one container ``c``; ``spec`` adds to its pod spec (service accounts)."""
    pod_spec = {"containers": [{"name": "c", "image": "x"}], **spec}
    return deployment(pod_spec, name="w", namespace=namespace, selector=False, source="w.yaml", line=None)


# --- subjects -------------------------------------------------------------------------------------


def test_subject_specs_resolve_as_the_authenticators_name_them() -> None:
    assert to_user("system:serviceaccount:ci:bot").groups == (
        "system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated",
    )  # fmt: skip
    assert to_user("group:ops") == UserInfo("", ("ops", "system:authenticated"))
    assert to_user(RbacSubject("ServiceAccount", "bot", "ci")) == to_user("system:serviceaccount:ci:bot")
    assert to_user(RbacSubject("Group", "ops")) == to_user("group:ops")
    assert to_user(workload({"serviceAccountName": "web"})).name == "system:serviceaccount:shop:web"


@pytest.mark.parametrize(
    "spec",
    ["", "ServiceAccount/ci/bot", "serviceaccount:ci:bot", "sa/ci/bot", "User:alice", "Group/ops", "system:authenticated",
     "system:serviceaccounts:ci", "system:masters", "system:serviceaccount:ci"],
)  # fmt: skip
def test_unknown_subject_formats_fail_closed(spec: str) -> None:
    # Each would otherwise be a user name that no binding names: assert_cannot would pass silently.
    with pytest.raises(RbacError):
        to_user(spec)


def test_an_object_that_is_no_subject_is_refused() -> None:
    config_map = K8sObject({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, Provenance("x"))
    with pytest.raises(RbacError, match="neither a workload nor a ServiceAccount"):
        to_user(config_map)


# --- workload permissions -------------------------------------------------------------------------


def test_workload_service_account_name_then_deprecated_field_then_default() -> None:
    assert to_user(workload({"serviceAccountName": "a", "serviceAccount": "b"})).name == "system:serviceaccount:shop:a"
    assert to_user(workload({"serviceAccount": "b"})).name == "system:serviceaccount:shop:b"
    assert to_user(workload({})).name == "system:serviceaccount:shop:default"


def test_workload_permissions_are_its_service_accounts(view: RbacView, objects: list[K8sObject]) -> None:
    web = next(o for o in objects if o.kind == "Deployment")
    perms = view.workload_permissions(web)
    assert {p.binding for p in perms} == {"RoleBinding/shop/web-reads"}
    assert all(p.namespace == "shop" for p in perms)
    assert view.can(web, "get", "pods", namespace="shop")
    assert not view.can(web, "get", "secrets", namespace="shop")
    # The same service account name elsewhere is another account.
    assert view.workload_permissions(workload({"serviceAccountName": "web"}, namespace="other")) == []


def test_workload_permissions_of_a_non_workload_raise(view: RbacView) -> None:
    with pytest.raises(RbacError, match="not a workload"):
        view.workload_permissions(
            K8sObject({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, Provenance("x"))
        )


# --- assert_can / assert_cannot -------------------------------------------------------------------


def test_assert_can_and_cannot_pass(view: RbacView) -> None:
    assert_can(view, "system:serviceaccount:ci:deployer", "create", "deployments", namespace="shop", group="apps")
    assert_cannot(view, "system:serviceaccount:ci:deployer", "create", "deployments", namespace="prod", group="apps")
    assert_cannot(view, "system:serviceaccount:shop:web", "get", "secrets", namespace="shop")


def test_assert_cannot_names_binding_role_rule_and_provenance(view: RbacView) -> None:
    with pytest.raises(SecurityAssertionError) as info:
        assert_cannot(view, "system:serviceaccount:ci:deployer", "get", "secrets", namespace="shop")
    text = str(info.value)
    assert text.splitlines()[0] == "rbac: ServiceAccount ci/deployer can get secrets in namespace shop: 1 grant"
    assert "RoleBinding/shop/ci-edits -> ClusterRole/edit -> rule {verbs=['get', 'list', 'watch']" in text
    assert "binding rbac.yaml:" in text and "role pytest_k8ssec/data/rbac/default-clusterroles-" in text
    assert [f.path for f in info.value.findings] == ["subjects[0]"]
    assert info.value.findings[0].obj.name == "ci-edits"


def test_assert_can_failure_says_what_the_subject_holds(view: RbacView) -> None:
    with pytest.raises(
        SecurityAssertionError, match=r"cannot delete pods in namespace shop: no RBAC rule allows it\n.*1 binding"
    ):
        assert_can(view, "system:serviceaccount:shop:web", "delete", "pods", namespace="shop")
    with pytest.raises(SecurityAssertionError, match="no binding names user nobody"):
        assert_can(view, "nobody", "get", "pods", namespace="shop")


def test_source_cluster_on_manifests_is_a_usage_error(view: RbacView) -> None:
    with pytest.raises(RbacError, match="source='cluster' asks the API server.*not a live target"):
        assert_cannot(view, "alice", "get", "secrets", namespace="shop", source="cluster")
    with pytest.raises(RbacError, match="is not a live cluster"):
        view.can("alice", "get", "secrets", namespace="shop", source="cluster")
    with pytest.raises(RbacError, match="source must be"):
        assert_can(view, "alice", "get", "pods", source="server")  # type: ignore[arg-type]


def test_namespaces_not_listed_have_no_offline_answer(view: RbacView) -> None:
    partial = RbacView(view.model, "prod", namespaces=("shop",))
    assert partial.can("system:serviceaccount:ci:deployer", "get", "pods", namespace="shop")
    with pytest.raises(RbacError, match="without namespace 'prod'"):
        assert_cannot(partial, "system:serviceaccount:ci:deployer", "get", "secrets", namespace="prod")


def test_helpers_record_their_result(view: RbacView) -> None:
    sink: list[recording.HelperResult] = []
    token = recording.RECORDER.set(sink)
    try:
        assert_cannot(view, "system:serviceaccount:shop:web", "get", "secrets", namespace="shop")
    finally:
        recording.RECORDER.reset(token)
    assert [(r.helper, r.findings) for r in sink] == [("rbac-access", ())]


@pytest.mark.parametrize("allowed", [True, False])
def test_a_cluster_answer_is_recorded_once_as_what_it_was(
    view: RbacView, monkeypatch: pytest.MonkeyPatch, allowed: bool
) -> None:
    # Only what the summary is told is under test here; what the API server answers is in the
    # live tests. A denial used to be recorded twice: as a pass, then as a failure.
    answer = AccessReview(allowed=allowed, denied=not allowed, reason="r", evaluation_error="")
    monkeypatch.setattr(RbacView, "review", lambda self, who, req: answer)
    live = RbacView(view.model, "prod", cluster=object())  # type: ignore[arg-type]  # never called
    sink: list[recording.HelperResult] = []
    token = recording.RECORDER.set(sink)
    try:
        for helper in (assert_can, assert_cannot):
            fails = (helper is assert_can) != allowed
            with pytest.raises(SecurityAssertionError) if fails else contextlib.nullcontext():
                helper(live, "system:serviceaccount:shop:web", "get", "secrets", namespace="shop", source="cluster")
    finally:
        recording.RECORDER.reset(token)
    assert [list(r.failed) for r in sink] == (
        [[], ["rbac-access-unexpected"]] if allowed else [["rbac-access-unexpected"], []]
    )


# --- cluster-admin --------------------------------------------------------------------------------


def test_assert_not_cluster_admin_says_through_which_binding(view: RbacView) -> None:
    assert_not_cluster_admin(view, "system:serviceaccount:ci:deployer")  # edit in one namespace is not cluster-admin
    with pytest.raises(SecurityAssertionError) as info:
        assert_not_cluster_admin(view, "group:ops")
    assert "group ops is cluster-admin" in str(info.value)
    assert "ClusterRoleBinding/ops-admin -> ClusterRole/cluster-admin" in str(info.value)
    with pytest.raises(SecurityAssertionError, match="system:masters is allowed everything"):
        assert_not_cluster_admin(view, UserInfo("root", ("system:masters",)))


# --- wildcards ------------------------------------------------------------------------------------


def test_assert_no_wildcard_rules_over_model_and_objects(view: RbacView, objects: list[K8sObject]) -> None:
    # The target's own Role has no wildcard; the default cluster-admin is one by design.
    assert_no_wildcard_rules(view)
    assert_no_wildcard_rules(objects)
    star = load_text("""
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: star, namespace: shop}
rules: [{apiGroups: [""], resources: ["*"], verbs: [get]}]
""", source="star.yaml")  # fmt: skip
    with pytest.raises(SecurityAssertionError, match=r"rbac-wildcard: 1 violation in Role shop/star \(star.yaml:2\)"):
        assert_no_wildcard_rules(RbacModel.from_objects([*objects, *star]))


def test_wildcard_helper_fails_closed_on_nothing() -> None:
    with pytest.raises(SecurityAssertionError, match="no objects given"):
        assert_no_wildcard_rules([])
    deployment = [workload({})]
    with pytest.raises(SecurityAssertionError, match="no Role or ClusterRole"):
        assert_no_wildcard_rules(deployment)


# --- anonymous ------------------------------------------------------------------------------------

PUBLIC_INFO = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:public-info-viewer
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:public-info-viewer}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:authenticated}
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:unauthenticated}
"""


def test_default_anonymous_bindings_pass_and_widened_ones_fail(objects: list[K8sObject]) -> None:
    public = load_text(PUBLIC_INFO, source="defaults.yaml")
    assert_no_anonymous_access([*objects, *public])
    # The same binding, but the role it names got a rule more.
    rules = [dict(r) for r in next(o for o in default_roles() if o.name == "system:public-info-viewer").raw["rules"]]
    widened = K8sObject(
        {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": {"name": "system:public-info-viewer"},
         "rules": [*rules, {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]},
        Provenance("widened.yaml"),
    )  # fmt: skip
    with pytest.raises(SecurityAssertionError) as info:
        assert_no_anonymous_access([*public, widened])
    assert "Group system:unauthenticated gets ClusterRole/system:public-info-viewer" in str(info.value)
    assert [f.path for f in info.value.findings] == ["subjects[1]"]
    # include_default_bindings=True reports the default itself.
    with pytest.raises(SecurityAssertionError):
        assert_no_anonymous_access(public, include_default_bindings=True)


def test_anonymous_binding_to_a_missing_role_fails() -> None:
    anon = load_text("""
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: anon, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: not-yet}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:anonymous}]
""", source="anon.yaml")  # fmt: skip
    with pytest.raises(SecurityAssertionError, match="may nothing yet"):
        assert_no_anonymous_access(anon)


def test_anonymous_helper_fails_closed_without_bindings() -> None:
    with pytest.raises(SecurityAssertionError, match="no RoleBinding or ClusterRoleBinding"):
        assert_no_anonymous_access([workload({})])
    with pytest.raises(SecurityAssertionError, match="no objects given"):
        assert_no_anonymous_access([])


# --- the catalog ----------------------------------------------------------------------------------


def test_catalog_entries_are_documented_and_triggerable() -> None:
    assert len(RISKS) == len(CATALOG)
    for entry in CATALOG:
        assert entry.id == entry.id.lower() and " " not in entry.id
        assert len(entry.why) > 40, entry.id
        assert entry.requires or entry.bound_role, entry.id
    for must in (
        "escalate",
        "bind",
        "impersonate",
        "read-secrets",
        "create-pods",
        "pods-exec",
        "pods-attach",
        "pods-portforward",
        "nodes-proxy",
        "serviceaccount-token",
        "csr-approve",
        "csr-sign",
        "webhook-config-write",
        "persistentvolume-create",
        "services-status-write",
        "wildcard-all",
        "cluster-admin-service-account",
    ):
        assert must in RISKS  # fmt: skip


def rules(*raw: dict[str, Any]) -> list[PolicyRule]:
    return [PolicyRule.from_raw(r) for r in raw]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"apiGroups": [GROUP], "resources": ["roles"], "verbs": ["escalate"]}, ["escalate"]),
        ({"apiGroups": [GROUP], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["admin"]}, ["bind"]),
        ({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}, ["impersonate"]),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["watch"]}, ["read-secrets"]),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"], "resourceNames": ["x"]}, []),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete"]}, []),
        ({"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["create"]}, ["create-pods"]),
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["create"], "resourceNames": ["p"]}, []),
        ({"apiGroups": [""], "resources": ["*/exec"], "verbs": ["get"]}, ["pods-exec"]),
        ({"apiGroups": [""], "resources": ["pods/*"], "verbs": ["create"]}, []),
        ({"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["*"]}, ["nodes-proxy"]),
        ({"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}, ["serviceaccount-token"]),
        ({"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"], "verbs": ["delete"]},
         ["webhook-config-write"]),
        ({"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["create"]}, ["persistentvolume-create"]),
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, ["wildcard-all"]),
        ({"apiGroups": [""], "resources": ["*"], "verbs": ["*"]},
         ["impersonate", "read-secrets", "create-pods", "pods-exec", "pods-attach", "pods-portforward", "nodes-proxy",
          "serviceaccount-token", "services-status-write", "persistentvolume-create"]),
        # CVE-2020-8554: only writing the status subresource is the risk; reading it and writing the Service are not.
        ({"apiGroups": [""], "resources": ["services/status"], "verbs": ["patch"]}, ["services-status-write"]),
        ({"apiGroups": [""], "resources": ["services", "services/status"], "verbs": ["get", "update"]},
         ["services-status-write"]),
        ({"apiGroups": [""], "resources": ["services"], "verbs": ["update", "patch"]}, []),
    ],
)  # fmt: skip
def test_rule_risks_follow_the_authorizer(rule: dict[str, Any], expected: list[str]) -> None:
    assert [hit.risk.id for hit in role_risks(rules(rule), namespaced=False)] == expected


def test_roles_cannot_grant_cluster_scoped_entries() -> None:
    rule = {
        "apiGroups": [""],
        "resources": ["nodes/proxy", "persistentvolumes", "users"],
        "verbs": ["get", "create", "impersonate"],
    }
    assert role_risks(rules(rule), namespaced=True) == []
    assert {h.risk.id for h in role_risks(rules(rule), namespaced=False)} == {
        "nodes-proxy",
        "persistentvolume-create",
        "impersonate",
    }


def test_csr_approval_needs_both_permissions_in_one_scope() -> None:
    approval = {
        "apiGroups": ["certificates.k8s.io"],
        "resources": ["certificatesigningrequests/approval"],
        "verbs": ["update"],
    }
    signer = {"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "verbs": ["approve"],
              "resourceNames": ["kubernetes.io/kube-apiserver-client"]}  # fmt: skip
    assert role_risks(rules(approval), namespaced=False) == []
    hits = role_risks(rules(approval, signer), namespaced=False)
    assert [(h.risk.id, [i for i, _ in h.grants]) for h in hits] == [("csr-approve", [0, 1])]


def test_subject_risks_across_bindings_and_scopes() -> None:
    objs = load_text("""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: approve}
rules: [{apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: signer}
rules: [{apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: approve}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: s, namespace: x}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: signer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}]
""", source="csr.yaml")  # fmt: skip
    model = RbacModel.from_objects(objs)
    # Signers are cluster-scoped: a RoleBinding grants approve on them nowhere.
    assert subject_risks(model.permissions("carol")) == []
    model = RbacModel.from_objects([o if o.name != "s" else _as_cluster_binding(o) for o in objs])
    assert [h.risk.id for h in subject_risks(model.permissions("carol"))] == ["csr-approve"]


def _as_cluster_binding(obj: K8sObject) -> K8sObject:
    raw = {**obj.raw, "kind": "ClusterRoleBinding", "metadata": {"name": "s"}}
    return K8sObject(raw, obj.provenance)


# --- risky permissions ----------------------------------------------------------------------------


def test_risky_permissions_every_bound_subject(view: RbacView) -> None:
    with pytest.raises(SecurityAssertionError) as info:
        assert_no_risky_permissions(view)
    text = str(info.value)
    first = text.splitlines()[0]
    assert first.startswith("rbac-risky-rules: ") and "held by 3 subject(s) judged" in first
    assert "- ServiceAccount ci/deployer: read-secrets in namespace shop: get secrets" in text
    assert "via RoleBinding/shop/ci-edits -> ClusterRole/edit (binding rbac.yaml:" in text
    assert "why: Secrets hold credentials" in text
    assert "- group ops: wildcard-all cluster-wide" in text
    assert "ServiceAccount shop/web" not in text
    assert {f.check.id for f in info.value.findings} == {"rbac-risky-rules"}


def test_risky_permissions_allow_list(view: RbacView) -> None:
    deployer = "system:serviceaccount:ci:deployer"
    everything_edit_grants = ["impersonate", "read-secrets", "create-pods", "pods-exec", "pods-attach",
                              "pods-portforward", "serviceaccount-token"]  # fmt: skip
    assert_no_risky_permissions(view, subjects=[deployer], allow={deployer: everything_edit_grants})
    assert_no_risky_permissions(
        view, subjects=[deployer, "group:ops"], allow=[(deployer, "*"), ("group:ops", "wildcard-all")]
    )
    with pytest.raises(SecurityAssertionError, match="read-secrets"):
        assert_no_risky_permissions(
            view, subjects=[deployer], allow={deployer: [i for i in everything_edit_grants if i != "read-secrets"]}
        )
    with pytest.raises(RbacError, match="unknown risk id 'secrets'"):
        assert_no_risky_permissions(view, subjects=[deployer], allow={deployer: "secrets"})


def test_cluster_admin_service_account_is_reported_as_itself() -> None:
    objs = load_text("""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: argo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: argo, namespace: argo}]
""", source="argo.yaml")  # fmt: skip
    model = RbacModel.from_objects(objs, defaults=default_roles("latest"))
    with pytest.raises(SecurityAssertionError) as info:
        assert_no_risky_permissions(model)
    assert (
        "ServiceAccount argo/argo: cluster-admin-service-account cluster-wide: bound to ClusterRole/cluster-admin"
        in str(info.value)
    )
    assert "wildcard-all" not in str(info.value)  # implied, not repeated
    assert_no_risky_permissions(model, allow={"system:serviceaccount:argo:argo": "cluster-admin-service-account"})


def test_risky_permissions_fail_closed() -> None:
    empty = RbacModel.from_objects([], defaults=default_roles("latest"))
    with pytest.raises(SecurityAssertionError, match="no binding names a subject"):
        assert_no_risky_permissions(empty)
    with pytest.raises(SecurityAssertionError, match="no subjects given"):
        assert_no_risky_permissions(empty, subjects=[])
    with pytest.raises(RbacError):
        assert_no_risky_permissions(empty, subjects=["ServiceAccount/ci/bot"])


def test_bootstrap_bindings_are_the_clusters_own_unless_widened() -> None:
    objs = load_text("""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:kube-controller-manager
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:kube-controller-manager}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:kube-controller-manager}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: cluster-admin
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:masters}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: mallory}
""", source="live.yaml")  # fmt: skip
    model = RbacModel.from_objects(objs, defaults=default_roles("latest"))
    assert is_default_binding(model.bindings[0]) and not is_default_binding(model.bindings[1])
    with pytest.raises(SecurityAssertionError) as info:
        assert_no_risky_permissions(model)
    text = str(info.value)
    assert "user mallory: wildcard-all cluster-wide" in text
    assert "system:kube-controller-manager" not in text
    # Judged by name, a bootstrap subject is judged on everything it holds.
    with pytest.raises(SecurityAssertionError, match="user system:kube-controller-manager: read-secrets"):
        assert_no_risky_permissions(model, subjects=["system:kube-controller-manager"])


# --- old spellings (one release, then removed) ----------------------------------------------------

DEPLOYER = "system:serviceaccount:ci:deployer"


def test_api_group_keyword_warns_and_means_group(view: RbacView) -> None:
    with pytest.warns(
        DeprecationWarning, match=r"RbacView\.can\(api_group=\.\.\.\) is deprecated .* use RbacView\.can\(group="
    ) as record:
        assert view.can(DEPLOYER, "create", "deployments", namespace="shop", api_group="apps")
    assert record[0].filename == __file__, "the warning points at the caller's line"
    assert not view.can(DEPLOYER, "create", "deployments", namespace="shop", group="other.io")
    with pytest.warns(
        DeprecationWarning, match=r"assert_can\(api_group=\.\.\.\) is deprecated .* use assert_can\(group="
    ):
        assert_can(view, DEPLOYER, "create", "deployments", namespace="shop", api_group="apps")
    with pytest.warns(DeprecationWarning, match=r"assert_cannot\(api_group=\.\.\.\)"):
        assert_cannot(view, DEPLOYER, "create", "deployments", namespace="prod", api_group="apps")
    with pytest.warns(DeprecationWarning, match=r"RbacView\.who_can\(api_group=\.\.\.\)"):
        allowed = view.who_can("create", "deployments", namespace="shop", api_group="apps")
    assert allowed == view.who_can("create", "deployments", namespace="shop", group="apps")
    assert "RoleBinding/shop/ci-edits" in {g.binding for g in allowed}
    with pytest.warns(DeprecationWarning, match=r"RbacView\.grants\(api_group=\.\.\.\)"):
        assert view.grants(DEPLOYER, "create", "deployments", namespace="shop", api_group="apps")
    with pytest.raises(TypeError, match="both api_group= .* and group="):
        view.can(DEPLOYER, "get", "pods", api_group="", group="")


def test_request_options_by_position_warn_and_keep_their_old_order(view: RbacView) -> None:
    # The old order was namespace, name, subresource, api_group.
    with pytest.warns(
        DeprecationWarning, match=r"passing namespace, name, subresource, group to RbacView\.can\(\) by position"
    ):
        assert view.can(DEPLOYER, "create", "deployments", "shop", None, None, "apps")
    with pytest.warns(DeprecationWarning):
        assert not view.can(DEPLOYER, "create", "deployments", "prod", None, None, "apps")
    with pytest.warns(
        DeprecationWarning,
        match=r"passing namespace to assert_cannot\(\) by position .* use assert_cannot\(\.\.\., namespace=",
    ):
        assert_cannot(view, "system:serviceaccount:shop:web", "get", "secrets", "shop")
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(SecurityAssertionError, match="cannot delete pods in namespace shop"),
    ):
        assert_can(view, "system:serviceaccount:shop:web", "delete", "pods", "shop")
    with pytest.warns(DeprecationWarning, match=r"passing namespace, name to RbacView\.who_can\(\) by position"):
        assert view.who_can("get", "secrets", "shop", "s") == view.who_can("get", "secrets", namespace="shop", name="s")
    with pytest.warns(DeprecationWarning, match=r"RbacView\.grants\(\) by position"):
        assert view.grants(DEPLOYER, "get", "secrets", "shop")
    with pytest.raises(TypeError, match="multiple values for argument 'namespace'"):
        view.can(DEPLOYER, "get", "pods", "shop", namespace="shop")
    with pytest.raises(TypeError, match="takes 4 positional arguments but 9 were given"):
        view.can(DEPLOYER, "get", "pods", "shop", None, None, "", "extra")


def test_new_request_spelling_is_silent_and_keyword_only(view: RbacView) -> None:
    import inspect
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert view.can(DEPLOYER, "create", "deployments", namespace="shop", group="apps")
        assert_can(view, DEPLOYER, "create", "deployments", namespace="shop", group="apps")
    for func in (view.can, view.grants, view.who_can, assert_can, assert_cannot):
        params = inspect.signature(func).parameters
        keyword_only = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
        assert keyword_only[:4] == ["namespace", "name", "subresource", "group"], func
        assert "api_group" not in params


def test_allow_defaults_warns_and_maps_to_its_opposite(objects: list[K8sObject]) -> None:
    public = load_text(PUBLIC_INFO, source="defaults.yaml")
    with pytest.warns(
        DeprecationWarning,
        match=r"assert_no_anonymous_access\(allow_defaults=\.\.\.\) is deprecated .* use assert_no_anonymous_access\(include_default_bindings=\.\.\.\), its opposite \(allow_defaults=False is include_default_bindings=True\)",
    ) as record:
        with pytest.raises(SecurityAssertionError, match="rbac-anonymous-binding: 1 anonymous grant"):
            assert_no_anonymous_access(public, allow_defaults=False)
    assert record[0].filename == __file__
    with pytest.warns(DeprecationWarning, match=r"allow_defaults=True is include_default_bindings=False"):
        assert_no_anonymous_access(public, allow_defaults=True)
    with pytest.warns(DeprecationWarning), pytest.raises(SecurityAssertionError):
        assert_no_anonymous_access(public, False)  # type: ignore[misc]
    with pytest.raises(TypeError, match="both allow_defaults= .* and include_default_bindings="):
        assert_no_anonymous_access(public, allow_defaults=True, include_default_bindings=True)
    assert_no_anonymous_access(public)  # the default is unchanged: the cluster's own bindings pass


def test_risky_permission_subjects_by_position_warn(view: RbacView) -> None:
    with pytest.warns(DeprecationWarning, match=r"passing subjects to assert_no_risky_permissions\(\) by position"):
        with pytest.raises(SecurityAssertionError, match="held by 1 subject"):
            assert_no_risky_permissions(view, [DEPLOYER])


def test_the_types_an_rbac_test_receives_are_public(view: RbacView) -> None:
    import pytest_k8ssec

    grants = view.who_can("get", "secrets", namespace="shop")
    assert grants and all(type(g) is pytest_k8ssec.Grant for g in grants)
    assert all(
        type(g.subject) is pytest_k8ssec.RbacSubject and type(g.rule) is pytest_k8ssec.PolicyRule for g in grants
    )
    perms = view.permissions(DEPLOYER)
    assert perms and all(type(p) is pytest_k8ssec.Permission for p in perms)
    assert type(view.subject(DEPLOYER)) is pytest_k8ssec.UserInfo
    assert pytest_k8ssec.RbacView is RbacView and pytest_k8ssec.AccessReview.__doc__
