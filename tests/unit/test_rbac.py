"""The offline RBAC authorizer (pytest_k8ssec.model.rbac) against the semantics of kube-apiserver.

Each case names the upstream behaviour it pins. Upstream files cited:
evaluation_helpers.go = pkg/apis/rbac/v1/evaluation_helpers.go (rule matchers),
rule.go = pkg/registry/rbac/validation/rule.go (VisitRulesFor, appliesTo),
validation.go = pkg/apis/rbac/validation/validation.go, defaults.go = pkg/apis/rbac/v1/defaults.go,
aggregation = pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.rbac import (
    Grant,
    PolicyRule,
    RbacError,
    RbacModel,
    RbacSubject,
    Request,
    UserInfo,
    request,
    user,
)
from pytest_k8ssec.sources import default_roles as shipped
from pytest_k8ssec.sources.default_roles import default_roles, default_versions, load_default_roles_text
from tests.builders import as_object

GROUP = "rbac.authorization.k8s.io"
V1 = f"{GROUP}/v1"


# --- builders -------------------------------------------------------------------------------------


obj = partial(as_object, source="test.yaml", line=None)


def rule(
    verbs: list[str], resources: list[str] | None = None, groups: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"verbs": verbs}
    if resources is not None:
        out["resources"] = resources
        out["apiGroups"] = [""] if groups is None else groups
    out.update(extra)
    return out


def cluster_role(
    name: str, *rules: dict[str, Any], labels: dict[str, str] | None = None, aggregate: list[Any] | None = None
) -> K8sObject:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    raw: dict[str, Any] = {"apiVersion": V1, "kind": "ClusterRole", "metadata": meta, "rules": list(rules)}
    if aggregate is not None:
        raw["aggregationRule"] = {"clusterRoleSelectors": aggregate}
    return obj(raw)


def role(name: str, namespace: str, *rules: dict[str, Any]) -> K8sObject:
    return obj(
        {"apiVersion": V1, "kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}
    )


def subj(kind: str, name: str, namespace: str | None = None, api_group: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "name": name}
    if kind in ("User", "Group"):
        out["apiGroup"] = GROUP if api_group is None else api_group
    elif api_group is not None:
        out["apiGroup"] = api_group
    if namespace is not None:
        out["namespace"] = namespace
    return out


def crb(
    name: str, role_name: str, *subjects: dict[str, Any], role_kind: str = "ClusterRole", ref_group: str | None = GROUP
) -> K8sObject:
    ref: dict[str, Any] = {"kind": role_kind, "name": role_name}
    if ref_group is not None:
        ref["apiGroup"] = ref_group
    return obj(
        {
            "apiVersion": V1,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": ref,
            "subjects": list(subjects),
        }
    )


def rb(
    name: str, namespace: str, role_kind: str, role_name: str, *subjects: dict[str, Any], ref_group: str | None = GROUP
) -> K8sObject:
    ref: dict[str, Any] = {"kind": role_kind, "name": role_name}
    if ref_group is not None:
        ref["apiGroup"] = ref_group
    return obj(
        {
            "apiVersion": V1,
            "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": ref,
            "subjects": list(subjects),
        }
    )


def alice_with(*rules: dict[str, Any]) -> RbacModel:
    """A model where User alice holds ``rules`` through a ClusterRoleBinding."""
    return RbacModel.from_objects([cluster_role("r", *rules), crb("b", "r", subj("User", "alice"))])


# --- rule matching: verbs, groups, resources (evaluation_helpers.go) ------------------------------


def test_verb_wildcard_matches_every_verb() -> None:
    m = alice_with(rule(["*"], ["pods"]))
    for verb in ("get", "list", "delete", "escalate", "impersonate", "deletecollection"):
        assert m.can("alice", verb, "pods", namespace="a")


def test_verb_must_match_exactly_and_case_sensitively() -> None:
    m = alice_with(rule(["get"], ["pods"]))
    assert m.can("alice", "get", "pods", namespace="a")
    assert not m.can("alice", "list", "pods", namespace="a")
    assert not m.can("alice", "Get", "pods", namespace="a")


def test_resource_and_group_names_are_case_sensitive() -> None:
    m = alice_with(rule(["get"], ["Pods"], groups=["Apps"]))
    assert not m.can("alice", "get", "pods", group="apps")
    assert m.can("alice", "get", "Pods", group="Apps")


def test_api_group_wildcard_matches_core_and_named_groups() -> None:
    m = alice_with(rule(["get"], ["deployments"], groups=["*"]))
    assert m.can("alice", "get", "deployments", group="apps")
    assert m.can("alice", "get", "deployments", group="")
    assert m.can("alice", "get", "deployments", group="extensions")


def test_core_group_rule_does_not_match_other_groups() -> None:
    m = alice_with(rule(["get"], ["deployments"], groups=[""]))
    assert m.can("alice", "get", "deployments")
    assert not m.can("alice", "get", "deployments", group="apps")


def test_resource_wildcard_matches_resources_and_subresources() -> None:
    m = alice_with(rule(["create"], ["*"]))
    assert m.can("alice", "create", "pods", namespace="a")
    assert m.can("alice", "create", "pods/exec", namespace="a")
    assert m.can("alice", "create", "serviceaccounts", subresource="token", namespace="a")


def test_plain_resource_rule_does_not_cover_its_subresources() -> None:
    m = alice_with(rule(["get", "create"], ["pods"]))
    assert m.can("alice", "get", "pods", namespace="a")
    assert not m.can("alice", "create", "pods/exec", namespace="a")
    assert not m.can("alice", "get", "pods/log", namespace="a")


def test_subresource_rule_matches_only_that_subresource() -> None:
    m = alice_with(rule(["create"], ["pods/exec"]))
    assert m.can("alice", "create", "pods/exec", namespace="a")
    assert m.can("alice", "create", "pods", subresource="exec", namespace="a")
    assert not m.can("alice", "create", "pods", namespace="a")
    assert not m.can("alice", "create", "pods/attach", namespace="a")


def test_star_slash_subresource_matches_that_subresource_of_every_resource() -> None:
    m = alice_with(rule(["update"], ["*/scale"], groups=["*"]))
    assert m.can("alice", "update", "deployments/scale", group="apps", namespace="a")
    assert m.can("alice", "update", "replicationcontrollers/scale", namespace="a")
    assert not m.can("alice", "update", "deployments", group="apps", namespace="a")
    assert not m.can("alice", "update", "deployments/status", group="apps", namespace="a")
    # "*/scale" is matched by length and prefix/suffix: "*/xscale" is another subresource.
    assert not m.can("alice", "update", "deployments/xscale", group="apps", namespace="a")


def test_resource_slash_star_is_not_a_wildcard() -> None:
    # Upstream wins over intuition: ResourceMatches (evaluation_helpers.go) knows only "*" and
    # "*/<subresource>"; "pods/*" is compared as a literal string, so it matches no real subresource.
    m = alice_with(rule(["get"], ["pods/*"]))
    assert not m.can("alice", "get", "pods/log", namespace="a")
    assert not m.can("alice", "get", "pods/exec", namespace="a")
    assert not m.can("alice", "get", "pods", namespace="a")
    assert m.can("alice", "get", "pods", subresource="*", namespace="a")


def test_resource_names_restrict_named_requests() -> None:
    m = alice_with(rule(["get", "update"], ["configmaps"], resourceNames=["app-config"]))
    assert m.can("alice", "get", "configmaps", namespace="a", name="app-config")
    assert not m.can("alice", "get", "configmaps", namespace="a", name="other")


def test_resource_names_never_match_a_request_without_a_name_list_and_create() -> None:
    # ResourceNameMatches (evaluation_helpers.go): with resourceNames set, "" (list, create,
    # watch of a collection) is not among them.
    m = alice_with(rule(["get", "list", "watch", "create"], ["secrets"], resourceNames=["s1"]))
    assert m.can("alice", "get", "secrets", namespace="a", name="s1")
    assert not m.can("alice", "list", "secrets", namespace="a")
    assert not m.can("alice", "create", "secrets", namespace="a")
    assert not m.can("alice", "watch", "secrets", namespace="a")


def test_resource_name_empty_string_matches_an_unnamed_request() -> None:
    # Upstream wins: ResourceNameMatches compares strings, and validation.go does not forbid "",
    # so resourceNames: [""] lets a request without a name (list) through.
    m = alice_with(rule(["list"], ["secrets"], resourceNames=[""]))
    assert m.can("alice", "list", "secrets", namespace="a")


# --- non-resource URLs (evaluation_helpers.go: NonResourceURLMatches) ----------------------------


def test_non_resource_url_exact_match() -> None:
    m = alice_with({"verbs": ["get"], "nonResourceURLs": ["/healthz"]})
    assert m.can("alice", "get", path="/healthz")
    assert not m.can("alice", "get", path="/healthz/ready")
    assert not m.can("alice", "post", path="/healthz")


def test_non_resource_url_trailing_star_is_a_plain_prefix_match() -> None:
    m = alice_with({"verbs": ["get"], "nonResourceURLs": ["/healthz/*", "/api*"]})
    assert m.can("alice", "get", path="/healthz/ready")
    assert m.can("alice", "get", path="/healthz/")
    assert not m.can("alice", "get", path="/healthz")
    # A prefix of characters, not of path segments: "/api*" covers "/apis" and "/apix".
    assert m.can("alice", "get", path="/apis/apps")
    assert m.can("alice", "get", path="/apix")


def test_non_resource_url_trims_every_trailing_star() -> None:
    # strings.TrimRight(ruleURL, "*") removes all trailing stars: "/logs**" is the prefix "/logs".
    m = alice_with({"verbs": ["get"], "nonResourceURLs": ["/logs**"]})
    assert m.can("alice", "get", path="/logs/kubelet.log")
    assert m.can("alice", "get", path="/logsx")


def test_non_resource_url_star_matches_every_path() -> None:
    m = alice_with({"verbs": ["*"], "nonResourceURLs": ["*"]})
    assert m.can("alice", "get", path="/metrics")
    assert m.can("alice", "post", path="/anything/at/all")
    assert not m.can("alice", "get", "pods", namespace="a")


def test_resource_rules_never_allow_non_resource_requests() -> None:
    m = alice_with(rule(["*"], ["*"], groups=["*"]))
    assert m.can("alice", "get", "nodes")
    assert not m.can("alice", "get", path="/healthz")


# --- scope: bindings and namespaces (rule.go: VisitRulesFor, GetRoleReferenceRules) ----------


def test_role_binding_to_cluster_role_grants_in_its_namespace_only() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("reader", rule(["get", "list"], ["pods"])),
            rb("b", "shop", "ClusterRole", "reader", subj("User", "alice")),
        ]
    )
    assert m.can("alice", "list", "pods", namespace="shop")
    assert not m.can("alice", "list", "pods", namespace="other")
    assert not m.can("alice", "list", "pods")  # all namespaces


def test_role_binding_to_cluster_role_never_grants_non_resource_urls() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("urls", {"verbs": ["get"], "nonResourceURLs": ["*"]}),
            rb("b", "shop", "ClusterRole", "urls", subj("User", "alice")),
        ]
    )
    assert not m.can("alice", "get", path="/healthz")


def test_role_binding_to_cluster_role_never_grants_cluster_scoped_requests() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("nodes", rule(["get"], ["nodes"])),
            rb("b", "shop", "ClusterRole", "nodes", subj("User", "alice")),
        ]
    )
    assert not m.can("alice", "get", "nodes", name="n1")


def test_namespaced_role_never_allows_all_namespace_requests() -> None:
    m = RbacModel.from_objects(
        [role("r", "shop", rule(["list"], ["pods"])), rb("b", "shop", "Role", "r", subj("User", "alice"))]
    )
    assert m.can("alice", "list", "pods", namespace="shop")
    assert not m.can("alice", "list", "pods")
    assert not m.can("alice", "list", "pods", namespace="other")


def test_role_binding_resolves_role_in_its_own_namespace() -> None:
    m = RbacModel.from_objects(
        [role("r", "other", rule(["list"], ["pods"])), rb("b", "shop", "Role", "r", subj("User", "alice"))]
    )
    assert not m.can("alice", "list", "pods", namespace="shop")
    assert not m.can("alice", "list", "pods", namespace="other")
    assert any("Role/shop/r, which does not exist" in p for p in m.problems)


def test_cluster_role_binding_grants_everywhere() -> None:
    m = alice_with(rule(["list"], ["pods"]), {"verbs": ["get"], "nonResourceURLs": ["/metrics"]})
    assert m.can("alice", "list", "pods")
    assert m.can("alice", "list", "pods", namespace="any")
    assert m.can("alice", "get", path="/metrics")


def test_cluster_role_binding_to_role_is_ignored() -> None:
    # validation.go rejects it; rule.go would look the Role up in namespace "" and find nothing.
    objs = [role("r", "shop", rule(["*"], ["*"])), crb("b", "r", subj("User", "alice"), role_kind="Role")]
    m = RbacModel.from_objects(objs)
    assert not m.can("alice", "get", "pods", namespace="shop")
    assert any("ClusterRoleBinding/b" in p and "roleRef.kind 'Role'" in p for p in m.problems)
    with pytest.raises(RbacError, match="roleRef.kind"):
        RbacModel.from_objects(objs, strict=True)


def test_binding_to_missing_role_grants_nothing() -> None:
    m = RbacModel.from_objects([crb("b", "ghost", subj("User", "alice"))])
    assert not m.can("alice", "get", "pods", namespace="a")
    assert m.grants("alice", "get", "pods", namespace="a") == []
    assert m.problems == (
        "ClusterRoleBinding/b: references ClusterRole/ghost, which does not exist; it grants nothing",
    )


def test_role_ref_api_group_defaults_to_rbac() -> None:
    # defaults.go: SetDefaults_ClusterRoleBinding fills an empty roleRef.apiGroup.
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("User", "alice"), ref_group=None)]
    )
    assert m.can("alice", "get", "pods", namespace="a")
    assert m.problems == ()


def test_role_ref_api_group_other_than_rbac_is_rejected() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("User", "alice"), ref_group="example.com")]
    )
    assert not m.can("alice", "get", "pods", namespace="a")
    assert any("roleRef.apiGroup 'example.com'" in p for p in m.problems)


def test_only_served_rbac_version_counts() -> None:
    raw = {
        "apiVersion": f"{GROUP}/v1beta1",
        "kind": "ClusterRole",
        "metadata": {"name": "r"},
        "rules": [rule(["*"], ["*"])],
    }
    m = RbacModel.from_objects([obj(raw), crb("b", "r", subj("User", "alice"))])
    assert not m.can("alice", "get", "pods", namespace="a")
    assert any("v1beta1 is not served" in p for p in m.problems)


def test_kinds_of_other_api_groups_are_not_rbac() -> None:
    fake = obj(
        {
            "apiVersion": "example.com/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "r"},
            "rules": [rule(["*"], ["*"])],
        }
    )
    m = RbacModel.from_objects([fake, crb("b", "r", subj("User", "alice"))])
    assert not m.can("alice", "get", "pods", namespace="a")
    assert m.roles == ()


@pytest.mark.parametrize(
    ("bad_rule", "message"),
    [
        ({"verbs": [], "apiGroups": [""], "resources": ["pods"]}, "verbs must contain at least one value"),
        ({"verbs": ["get"], "resources": ["pods"]}, "at least one api group"),
        ({"verbs": ["get"], "apiGroups": [""]}, "at least one resource"),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "nonResourceURLs": ["/x"]},
            "both regular resources",
        ),
    ],
)
def test_invalid_rules_make_the_role_rejected(bad_rule: dict[str, Any], message: str) -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"]), bad_rule), crb("b", "r", subj("User", "alice"))]
    )
    assert not m.can("alice", "get", "pods", namespace="a")
    assert any(message in p for p in m.problems)


def test_role_with_non_resource_urls_is_rejected() -> None:
    m = RbacModel.from_objects(
        [
            role("r", "a", {"verbs": ["get"], "nonResourceURLs": ["/x"]}),
            rb("b", "a", "Role", "r", subj("User", "alice")),
        ]
    )
    assert any("namespaced rules cannot apply to non-resource URLs" in p for p in m.problems)


# --- subjects (rule.go: appliesToUser; validation.go: validateRoleBindingSubject) ------------


def test_user_and_group_subjects_default_their_api_group() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("r", rule(["get"], ["pods"])),
            crb("b", "r", {"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"}),
        ]
    )
    assert m.can("alice", "get", "pods", namespace="a")
    assert m.can(UserInfo("bob", ("devs",)), "get", "pods", namespace="a")


def test_user_subject_with_foreign_api_group_is_rejected() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("User", "alice", api_group="x.io"))]
    )
    assert not m.can("alice", "get", "pods", namespace="a")
    assert any("subjects[0].apiGroup 'x.io'" in p for p in m.problems)


def test_unknown_subject_kind_is_rejected() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", {"kind": "Robot", "name": "r2"})]
    )
    assert any("'Robot' is not ServiceAccount, User or Group" in p for p in m.problems)


def test_service_account_subject_matches_its_user_name() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("r", rule(["get"], ["pods"])),
            rb("b", "shop", "ClusterRole", "r", subj("ServiceAccount", "bot", "shop")),
        ]
    )
    assert m.can("system:serviceaccount:shop:bot", "get", "pods", namespace="shop")
    # appliesToUser compares the user name only: no service-account groups are needed.
    assert m.can(UserInfo("system:serviceaccount:shop:bot"), "get", "pods", namespace="shop")
    assert not m.can("system:serviceaccount:other:bot", "get", "pods", namespace="shop")


def test_service_account_subject_of_role_binding_defaults_to_binding_namespace() -> None:
    # rule.go appliesToUser: "default the namespace to namespace we're working in".
    m = RbacModel.from_objects(
        [
            cluster_role("r", rule(["get"], ["pods"])),
            rb("b", "shop", "ClusterRole", "r", {"kind": "ServiceAccount", "name": "bot"}),
        ]
    )
    assert m.can("system:serviceaccount:shop:bot", "get", "pods", namespace="shop")
    assert m.who_can("get", "pods", namespace="shop")[1].subject == RbacSubject("ServiceAccount", "bot", "shop")


def test_service_account_subject_of_cluster_role_binding_needs_a_namespace() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", {"kind": "ServiceAccount", "name": "bot"})]
    )
    assert not m.can("system:serviceaccount:default:bot", "get", "pods", namespace="default")
    assert any("namespace is required for a ServiceAccount" in p for p in m.problems)


def test_user_subject_named_like_a_service_account_matches_it() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("User", "system:serviceaccount:shop:bot"))]
    )
    assert m.can("system:serviceaccount:shop:bot", "get", "pods", namespace="x")


def test_subject_names_are_case_sensitive() -> None:
    m = alice_with(rule(["get"], ["pods"]))
    assert not m.can("Alice", "get", "pods", namespace="a")


# --- who asks: implicit groups -------------------------------------------------------------------


def test_service_account_user_gets_its_implicit_groups() -> None:
    info = user("system:serviceaccount:shop:bot")
    assert info == UserInfo(
        "system:serviceaccount:shop:bot",
        ("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"),
    )


@pytest.mark.parametrize("group", ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"])
def test_service_account_is_granted_through_implicit_groups(group: str) -> None:
    m = RbacModel.from_objects([cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("Group", group))])
    assert m.can("system:serviceaccount:shop:bot", "get", "pods", namespace="a")


def test_namespace_service_account_group_is_only_that_namespace() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("Group", "system:serviceaccounts:shop"))]
    )
    assert not m.can("system:serviceaccount:other:bot", "get", "pods", namespace="a")
    assert not m.can("alice", "get", "pods", namespace="a")


def test_system_authenticated_covers_users_but_not_anonymous() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("Group", "system:authenticated"))]
    )
    assert user("alice").groups == ("system:authenticated",)
    assert m.can("alice", "get", "pods", namespace="a")
    assert not m.can("system:anonymous", "get", "pods", namespace="a")


def test_anonymous_is_system_unauthenticated() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("r", {"verbs": ["get"], "nonResourceURLs": ["/version"]}),
            crb("b", "r", subj("Group", "system:unauthenticated")),
        ]
    )
    assert user("system:anonymous") == UserInfo("system:anonymous", ("system:unauthenticated",))
    assert m.can("system:anonymous", "get", path="/version")
    assert not m.can("alice", "get", path="/version")


def test_anonymous_user_subject() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["list"], ["secrets"])), crb("b", "r", subj("User", "system:anonymous"))]
    )
    assert m.can("system:anonymous", "list", "secrets")


def test_user_info_passes_through_without_implicit_groups() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("Group", "system:authenticated"))]
    )
    exact = UserInfo("alice")
    assert user(exact) is exact
    assert not m.can(exact, "get", "pods", namespace="a")


def test_group_spec_asks_for_any_member_of_the_group() -> None:
    m = RbacModel.from_objects([cluster_role("r", rule(["get"], ["pods"])), crb("b", "r", subj("Group", "devs"))])
    assert user("group:devs") == UserInfo("", ("devs", "system:authenticated"))
    assert user("group:devs", groups=["ops"]).groups == ("devs", "ops", "system:authenticated")
    assert m.can("group:devs", "get", "pods", namespace="a")
    assert not m.can("group:ops", "get", "pods", namespace="a")


def test_extra_groups_are_added() -> None:
    assert user("alice", groups=["devs"]).groups == ("devs", "system:authenticated")


@pytest.mark.parametrize("spec", ["", "system:serviceaccount:shop", "system:serviceaccount::bot", "group:"])
def test_malformed_user_specs_fail(spec: str) -> None:
    with pytest.raises(RbacError):
        user(spec)


def test_system_masters_is_allowed_everything() -> None:
    m = RbacModel.from_objects([])
    admin = user("alice", groups=["system:masters"])
    assert m.can(admin, "escalate", "clusterroles", group=GROUP)
    assert m.can(admin, "get", path="/anything")
    assert m.can(UserInfo("x", ("system:masters",)), "delete", "nodes")
    assert not m.can("alice", "get", "pods", namespace="a")
    grants = m.grants(admin, "get", "secrets", namespace="a")
    assert [(g.binding, g.subject) for g in grants] == [("system:masters", RbacSubject("Group", "system:masters"))]


# --- aggregation (clusterroleaggregation controller) -------------------------------------------


def _aggregated_model(*extra: K8sObject, written: list[dict[str, Any]] | None = None) -> RbacModel:
    selectors = [{"matchLabels": {"agg": "view"}}]
    objs = [
        cluster_role("view-all", *(written or []), aggregate=selectors),
        cluster_role("pods-reader", rule(["get", "list"], ["pods"]), labels={"agg": "view"}),
        cluster_role("svc-reader", rule(["get"], ["services"]), labels={"agg": "view"}),
        cluster_role("unlabelled", rule(["delete"], ["pods"])),
        crb("b", "view-all", subj("User", "alice")),
        *extra,
    ]
    return RbacModel.from_objects(objs)


def test_aggregation_with_match_labels_unions_selected_roles() -> None:
    m = _aggregated_model()
    assert m.can("alice", "list", "pods", namespace="a")
    assert m.can("alice", "get", "services", namespace="a")
    assert not m.can("alice", "delete", "pods", namespace="a")
    view = m.role("ClusterRole/view-all")
    assert view is not None and view.aggregated
    # Selected roles sorted by name, rules in their order.
    assert [r.resources for r in view.rules] == [("pods",), ("services",)]


def test_aggregation_replaces_the_roles_own_rules() -> None:
    # The controller applies exactly the union as the role's rules: written rules disappear.
    m = _aggregated_model(written=[rule(["delete"], ["secrets"])])
    assert not m.can("alice", "delete", "secrets", namespace="a")
    assert m.can("alice", "list", "pods", namespace="a")


def test_aggregation_selecting_nothing_keeps_the_roles_own_rules() -> None:
    # The controller server-side-applies the union; an empty union carries no rules field, so the
    # written rules stay (the live differential test found this against kube-apiserver).
    m = RbacModel.from_objects(
        [
            cluster_role("lonely", rule(["impersonate"], ["users"]), aggregate=[{"matchLabels": {"none": "has-this"}}]),
            crb("b", "lonely", subj("User", "carol")),
        ]
    )
    assert m.can("carol", "impersonate", "users")


def test_aggregation_does_not_double_count_rules_the_controller_already_wrote() -> None:
    written = [rule(["get", "list"], ["pods"]), rule(["get"], ["services"])]
    m = _aggregated_model(written=written)
    view = m.role("ClusterRole/view-all")
    assert view is not None and len(view.rules) == 2


def test_aggregation_deduplicates_equal_rules() -> None:
    m = _aggregated_model(cluster_role("twin", rule(["get"], ["services"]), labels={"agg": "view"}))
    view = m.role("ClusterRole/view-all")
    assert view is not None and len(view.rules) == 2


def test_aggregation_match_expressions() -> None:
    selectors = [
        {
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ]
        }
    ]
    m = RbacModel.from_objects(
        [
            cluster_role("agg", aggregate=selectors),
            cluster_role("yes", rule(["get"], ["pods"]), labels={"tier": "a", "team": "x"}),
            cluster_role("yes-env", rule(["get"], ["services"]), labels={"tier": "b", "team": "x", "env": "dev"}),
            cluster_role("no-prod", rule(["get"], ["secrets"]), labels={"tier": "a", "team": "x", "env": "prod"}),
            cluster_role("no-team", rule(["get"], ["nodes"]), labels={"tier": "a"}),
            cluster_role("no-legacy", rule(["get"], ["configmaps"]), labels={"tier": "a", "team": "x", "legacy": ""}),
            cluster_role("no-tier", rule(["get"], ["events"]), labels={"tier": "c", "team": "x"}),
            crb("b", "agg", subj("User", "alice")),
        ]
    )
    agg = m.role("ClusterRole/agg")
    assert agg is not None
    assert sorted(r.resources[0] for r in agg.rules) == ["pods", "services"]


def test_aggregation_selectors_are_ored_and_match_labels_with_expressions_anded() -> None:
    selectors = [
        {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
        {"matchLabels": {"c": "1"}},
    ]
    m = RbacModel.from_objects(
        [
            cluster_role("agg", aggregate=selectors),
            cluster_role("both", rule(["get"], ["pods"]), labels={"a": "1", "b": "x"}),
            cluster_role("only-a", rule(["get"], ["secrets"]), labels={"a": "1"}),
            cluster_role("c", rule(["get"], ["services"]), labels={"c": "1"}),
        ]
    )
    agg = m.role("ClusterRole/agg")
    assert agg is not None and [r.resources[0] for r in agg.rules] == ["pods", "services"]


def test_aggregation_of_aggregated_roles_reaches_the_fixed_point() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("a-top", aggregate=[{"matchLabels": {"to": "top"}}]),
            cluster_role("b-mid", aggregate=[{"matchLabels": {"to": "mid"}}], labels={"to": "top"}),
            cluster_role("c-leaf", rule(["get"], ["pods"]), labels={"to": "mid"}),
            crb("b", "a-top", subj("User", "alice")),
        ]
    )
    assert m.can("alice", "get", "pods", namespace="a")


def test_aggregation_skips_the_role_itself() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role(
                "self", rule(["delete"], ["pods"]), labels={"x": "1"}, aggregate=[{"matchLabels": {"x": "1"}}]
            ),
            crb("b", "self", subj("User", "alice")),
        ]
    )
    # The role does not contribute to its own union; the union is then empty, so (as for a
    # selector matching nothing) the controller's apply leaves the written rules in place.
    assert m.can("alice", "delete", "pods", namespace="a")


def test_aggregation_with_invalid_selector_is_rejected() -> None:
    bad = [{"matchExpressions": [{"key": "x", "operator": "In", "values": []}]}]
    m = RbacModel.from_objects([cluster_role("agg", aggregate=bad), crb("b", "agg", subj("User", "alice"))])
    assert any("operator In needs values" in p for p in m.problems)
    assert any("ClusterRole/agg, which does not exist" in p for p in m.problems)


# --- who_can, grants, permissions ----------------------------------------------------------------


def test_who_can_returns_binding_role_rule_and_subject() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("reader", rule(["get"], ["secrets"]), rule(["list"], ["pods"])),
            role("local", "shop", rule(["get", "list"], ["secrets"])),
            crb("global", "reader", subj("User", "alice"), subj("Group", "devs")),
            rb("here", "shop", "Role", "local", subj("ServiceAccount", "bot", "shop")),
            rb("there", "other", "ClusterRole", "reader", subj("User", "carol")),
        ]
    )
    grants = m.who_can("get", "secrets", namespace="shop", name="s")
    expected_rule = PolicyRule(verbs=("get",), api_groups=("",), resources=("secrets",))
    assert grants[0].binding == "system:masters"
    assert grants[1:] == [
        Grant("ClusterRoleBinding/global", "ClusterRole/reader", expected_rule, RbacSubject("User", "alice")),
        Grant("ClusterRoleBinding/global", "ClusterRole/reader", expected_rule, RbacSubject("Group", "devs")),
        Grant(
            "RoleBinding/shop/here",
            "Role/shop/local",
            PolicyRule(verbs=("get", "list"), api_groups=("",), resources=("secrets",)),
            RbacSubject("ServiceAccount", "bot", "shop"),
        ),
    ]
    # Cluster-wide: RoleBindings never count.
    assert [g.binding for g in m.who_can("get", "secrets")] == [
        "system:masters",
        "ClusterRoleBinding/global",
        "ClusterRoleBinding/global",
    ]
    assert {g.subject.name for g in m.who_can("get", "secrets", namespace="other")} == {
        "system:masters",
        "alice",
        "devs",
        "carol",
    }


def test_who_can_agrees_with_can_for_each_subject() -> None:
    m = _aggregated_model(rb("rb", "x", "ClusterRole", "svc-reader", subj("User", "bob")))
    for verb, resource, ns in [("get", "services", "x"), ("list", "pods", None), ("delete", "pods", "x")]:
        subjects = {g.subject for g in m.who_can(verb, resource, namespace=ns)} - {
            RbacSubject("Group", "system:masters")
        }
        for name in ("alice", "bob"):
            assert m.can(name, verb, resource, namespace=ns) == (RbacSubject("User", name) in subjects)


def test_who_can_non_resource_url() -> None:
    m = RbacModel.from_objects(
        [cluster_role("r", {"verbs": ["get"], "nonResourceURLs": ["/logs/*"]}), crb("b", "r", subj("User", "alice"))]
    )
    assert [g.subject.name for g in m.who_can("get", path="/logs/x")] == ["system:masters", "alice"]
    assert m.who_can("get", path="/logs/x")[0].rule == PolicyRule(verbs=("*",), non_resource_urls=("*",))


def test_who_can_with_wildcard_verb_rules() -> None:
    m = alice_with(rule(["*"], ["*"], groups=["*"]))
    assert [g.subject.name for g in m.who_can("impersonate", "users")] == ["system:masters", "alice"]


def test_grants_lists_every_allowing_rule() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("a", rule(["get"], ["pods"]), rule(["*"], ["*"])),
            crb("b1", "a", subj("User", "alice")),
            rb("b2", "shop", "ClusterRole", "a", subj("Group", "system:authenticated")),
        ]
    )
    grants = m.grants("alice", "get", "pods", namespace="shop")
    assert [(g.binding, g.rule.resources) for g in grants] == [
        ("ClusterRoleBinding/b1", ("pods",)),
        ("ClusterRoleBinding/b1", ("*",)),
        ("RoleBinding/shop/b2", ("pods",)),
        ("RoleBinding/shop/b2", ("*",)),
    ]
    assert grants[2].subject == RbacSubject("Group", "system:authenticated")


def test_permissions_lists_cluster_then_namespaced_rules() -> None:
    m = RbacModel.from_objects(
        [
            cluster_role("c", rule(["get"], ["nodes"])),
            role("r", "zeta", rule(["list"], ["pods"])),
            role("r", "alpha", rule(["watch"], ["pods"])),
            crb("cb", "c", subj("Group", "system:serviceaccounts")),
            rb("b", "zeta", "Role", "r", subj("ServiceAccount", "bot", "shop")),
            rb("b", "alpha", "Role", "r", subj("Group", "system:serviceaccounts:shop")),
            rb("b2", "alpha", "Role", "r", subj("User", "someone-else")),
        ]
    )
    perms = m.permissions("system:serviceaccount:shop:bot")
    assert [(p.scope, p.rule.verbs, p.binding, p.role) for p in perms] == [
        ("cluster", ("get",), "ClusterRoleBinding/cb", "ClusterRole/c"),
        ("alpha", ("watch",), "RoleBinding/alpha/b", "Role/alpha/r"),
        ("zeta", ("list",), "RoleBinding/zeta/b", "Role/zeta/r"),
    ]
    assert perms[0].cluster_wide and not perms[1].cluster_wide
    assert perms[1].subject == RbacSubject("Group", "system:serviceaccounts:shop")


def test_permissions_of_system_masters_include_everything() -> None:
    perms = RbacModel.from_objects([]).permissions(user("root", groups=["system:masters"]))
    assert [p.rule for p in perms] == [
        PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",)),
        PolicyRule(verbs=("*",), non_resource_urls=("*",)),
    ]


def test_binding_listing_first_applicable_subject_is_reported() -> None:
    # rule.go appliesTo returns the first subject that applies; the binding counts once.
    m = RbacModel.from_objects(
        [
            cluster_role("r", rule(["get"], ["pods"])),
            crb("b", "r", subj("Group", "system:authenticated"), subj("User", "alice")),
        ]
    )
    grants = m.grants("alice", "get", "pods", namespace="a")
    assert len(grants) == 1 and grants[0].subject == RbacSubject("Group", "system:authenticated")


# --- requests and rules as values ----------------------------------------------------------------


def test_request_splits_resource_and_subresource() -> None:
    assert request("create", "pods/exec", namespace="a", name="p") == Request("create", "pods", "exec", "", "a", "p")
    assert request("get", path="/healthz") == Request("get", path="/healthz")
    assert not request("get", path="/healthz").is_resource_request


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verb": "get"},
        {"verb": "", "resource": "pods"},
        {"verb": "get", "resource": "pods/exec", "subresource": "log"},
        {"verb": "get", "resource": "pods", "path": "/x"},
        {"verb": "get", "path": ""},
        {"verb": "get", "resource": "/exec"},
    ],
)
def test_malformed_requests_fail(kwargs: dict[str, Any]) -> None:
    with pytest.raises(RbacError):
        request(**kwargs)


def test_policy_rule_is_a_mapping_of_the_object_shape() -> None:
    r = PolicyRule.from_raw({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s"]})
    assert dict(r) == {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s"]}
    assert r["resourceNames"] == ["s"] and r.resource_names == ("s",)
    with pytest.raises(KeyError):
        r["nonResourceURLs"]


def test_other_kinds_are_ignored_and_duplicates_reported() -> None:
    pod = obj({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
    m = RbacModel.from_objects([pod, cluster_role("r", rule(["get"], ["pods"])), cluster_role("r", rule(["*"], ["*"]))])
    assert len(m.roles) == 1 and m.roles[0].rules[0].verbs == ("get",)
    assert any("a second ClusterRole" in p for p in m.problems)


# --- shipped defaults ----------------------------------------------------------------------------

DEFAULTS_YAML = """\
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: view
  aggregationRule:
    clusterRoleSelectors:
    - matchLabels:
        rbac.authorization.k8s.io/aggregate-to-view: "true"
  rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: system:aggregate-to-view
    labels:
      rbac.authorization.k8s.io/aggregate-to-view: "true"
  rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: cluster-admin
  rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
  - nonResourceURLs: ["*"]
    verbs: ["*"]
"""


@pytest.fixture
def shipped_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary defaults directory standing in for pytest_k8ssec/data/rbac/."""
    (tmp_path / "default-clusterroles-1.36.yaml").write_text(DEFAULTS_YAML.replace("cluster-admin", "old-admin"))
    (tmp_path / "default-clusterroles-1.37.yaml").write_text(DEFAULTS_YAML)
    monkeypatch.setattr(shipped, "_defaults_dir", lambda: tmp_path)
    default_roles.cache_clear()
    yield tmp_path
    default_roles.cache_clear()


def test_defaults_file_formats() -> None:
    as_list = yaml.safe_dump(yaml.safe_load(DEFAULTS_YAML)["items"])
    assert [o.name for o in load_default_roles_text(DEFAULTS_YAML, "x")] == [
        "view",
        "system:aggregate-to-view",
        "cluster-admin",
    ]
    assert [o.name for o in load_default_roles_text(as_list, "x")] == [
        "view",
        "system:aggregate-to-view",
        "cluster-admin",
    ]
    with pytest.raises(RbacError, match="not an RBAC object"):
        load_default_roles_text("- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n", "x")
    # Read by the manifest loader, as the API server reads YAML: an item without apiVersion is refused.
    with pytest.raises(RbacError, match="apiVersion is missing"):
        load_default_roles_text("- kind: ClusterRole\n  metadata: {name: r}\n", "x")
    with pytest.raises(RbacError, match="duplicate|twice|already"):
        load_default_roles_text(
            "- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n  metadata: {name: r}\n  rules: []\n  rules: []\n",
            "x",
        )
    with pytest.raises(RbacError, match="no ClusterRoles"):
        load_default_roles_text("# nothing here\n", "x")
    with pytest.raises(RbacError, match="not a Kubernetes object"):
        load_default_roles_text("[]", "x")


def test_defaults_resolve_bindings_to_default_roles(shipped_defaults: Path) -> None:
    objs = [
        crb("admins", "cluster-admin", subj("User", "root")),
        rb("v", "shop", "ClusterRole", "view", subj("User", "alice")),
    ]
    assert default_versions() == ["1.36", "1.37"]
    without = RbacModel.from_objects(objs)
    assert not without.can("root", "delete", "nodes")
    m = RbacModel.from_objects(objs, defaults=default_roles("1.37"))
    assert m.can("root", "delete", "nodes") and m.can("root", "get", path="/metrics")
    assert m.can("alice", "list", "pods", namespace="shop")
    assert m.problems == ()
    latest = RbacModel.from_objects(objs, defaults=default_roles("latest"))
    assert latest.can("root", "delete", "nodes")
    older = RbacModel.from_objects(objs, defaults=default_roles("1.36"))
    assert not older.can("root", "delete", "nodes")


def test_defaults_are_overridden_by_given_objects(shipped_defaults: Path) -> None:
    mine = cluster_role("cluster-admin", rule(["get"], ["pods"]))
    m = RbacModel.from_objects(
        [mine, crb("admins", "cluster-admin", subj("User", "root"))], defaults=default_roles("1.37")
    )
    assert m.can("root", "get", "pods", namespace="a")
    assert not m.can("root", "delete", "nodes")


def test_user_labelled_roles_aggregate_into_default_roles(shipped_defaults: Path) -> None:
    extra = cluster_role(
        "crd-viewer",
        rule(["get"], ["widgets"], groups=["example.com"]),
        labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"},
    )
    m = RbacModel.from_objects(
        [extra, rb("v", "shop", "ClusterRole", "view", subj("User", "alice"))], defaults=default_roles("1.37")
    )
    assert m.can("alice", "get", "widgets", group="example.com", namespace="shop")


def test_unknown_defaults_version_fails(shipped_defaults: Path) -> None:
    with pytest.raises(RbacError, match="shipped: 1.36, 1.37"):
        default_roles("1.20")


def test_the_model_takes_default_objects_not_a_version() -> None:
    # The model reads no files: a version string names the function that reads them.
    with pytest.raises(RbacError, match=r"default_roles\('1.37'\)"):
        RbacModel.from_objects([], defaults="1.37")  # type: ignore[arg-type]


def test_shipped_defaults_when_present() -> None:
    versions = default_versions()
    if not versions:
        pytest.fail("pytest_k8ssec/data/rbac/default-clusterroles-<version>.yaml is not shipped", pytrace=False)
    roles = RbacModel.from_objects([], defaults=default_roles("latest"))
    admin = roles.role("ClusterRole/cluster-admin")
    assert admin is not None and PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",)) in admin.rules
    view = roles.role("ClusterRole/view")
    assert view is not None and view.aggregated
    m = RbacModel.from_objects(
        [rb("v", "shop", "ClusterRole", "view", subj("User", "alice"))], defaults=default_roles("latest")
    )
    assert m.can("alice", "list", "pods", namespace="shop")
    assert not m.can("alice", "get", "secrets", namespace="shop")
    assert m.problems == ()


def test_the_model_spells_a_request_as_every_other_can_does_and_old_spellings_warn() -> None:
    # RbacModel.can/grants/who_can take the request as RbacView.can and K8sCluster.can_i do:
    # verb and resource by position, then namespace=, name=, subresource=, group= by keyword.
    m = RbacModel.from_objects(
        [
            as_object(
                {
                    "apiVersion": V1,
                    "kind": "Role",
                    "metadata": {"name": "r", "namespace": "shop"},
                    "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}],
                }
            ),
            as_object(
                {
                    "apiVersion": V1,
                    "kind": "RoleBinding",
                    "metadata": {"name": "b", "namespace": "shop"},
                    "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r"},
                    "subjects": [{"kind": "User", "name": "alice", "apiGroup": GROUP}],
                }
            ),
        ]
    )
    assert m.can("alice", "get", "deployments", namespace="shop", group="apps")
    assert not m.can("alice", "get", "deployments", namespace="shop", group="")
    with pytest.warns(DeprecationWarning, match=r"RbacModel\.can\(api_group=\.\.\.\) is deprecated .*group="):
        assert m.can("alice", "get", "deployments", namespace="shop", api_group="apps")
    with pytest.warns(DeprecationWarning, match=r"passing namespace to RbacModel\.can\(\) by position"):
        assert not m.can("alice", "get", "deployments", "shop")  # core group: not granted
    with pytest.warns(DeprecationWarning, match=r"passing namespace, name, subresource, group to RbacModel\.grants"):
        assert m.grants("alice", "get", "deployments", "shop", None, None, "apps")
    with pytest.warns(DeprecationWarning, match=r"RbacModel\.who_can\(api_group=\.\.\.\)"):
        found = m.who_can("get", "deployments", namespace="shop", api_group="apps")
    assert [g.subject.name for g in found] == ["system:masters", "alice"]
