"""Our offline RBAC authorizer against the real one: kube-apiserver's SubjectAccessReview.

A seeded generator builds a random RBAC configuration: Roles, ClusterRoles (some with
nonResourceURLs, some aggregated by label selectors with matchLabels and matchExpressions, one
aggregating another, one with rules of its own that the controller replaces, one with rules of its
own that selects nothing, one aggregating that one, one selecting a bootstrap role), RoleBindings
to Roles and to ClusterRoles (own and default ones), ClusterRoleBindings, bindings to roles that do
not exist (or exist only in another namespace), subjects of every kind (User, Group, ServiceAccount
with and without a namespace, apiGroup left to defaulting), rules with ``*`` in verbs, apiGroups and
resources, ``pods/exec``, ``*/scale``, ``pods/*``, resourceNames, nonResourceURLs with a trailing
``*``, and wrong-case names. It is
applied to the local control plane, the clusterrole-aggregation controller is waited for, and
every RBAC object is listed back (the bootstrap policy included). Then thousands of random
requests, half of them aimed at a generated rule and often mutated into a near miss, are asked
both of the server (SubjectAccessReview, which adds no implicit group: both sides get the exact
groups) and of ``RbacModel.from_objects(<listed objects>).authorize``. They must agree every time.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_k8ssec.model.rbac import RbacModel, Request, UserInfo
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.cluster_options import ClusterOptions
from pytest_k8ssec.sources.local_control_plane import LocalControlPlane

SEED = 20260601
QUERIES = 6000
THREADS = 8
SETTLE_TIMEOUT = 90.0
SHOW = 20

RBAC_V1 = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
VERBS = (
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
)
URL_VERBS = ("get", "post", "put", "delete", "head")
GROUPS = ("", "apps", "batch", RBAC_GROUP, "example.com")
RULE_RESOURCES = (
    "pods", "pods/exec", "pods/log", "pods/*", "*/scale", "*/status", "deployments", "deployments/scale",
    "secrets", "configmaps", "nodes", "namespaces", "roles", "widgets", "Pods",
)  # fmt: skip
RESOURCES = (
    "pods",
    "deployments",
    "replicasets",
    "secrets",
    "configmaps",
    "nodes",
    "namespaces",
    "roles",
    "widgets",
    "Pods",
)
SUBRESOURCES = ("exec", "log", "scale", "status", "*")
NAMES = ("alpha", "beta", "gamma")
URLS = ("/healthz", "/healthz/*", "/logs/*", "/logs", "/metrics", "/custom/a*", "/custom/", "/x/y", "*")
PATHS = (
    "/healthz", "/healthz/etcd", "/logs", "/logs/", "/logs/kube.log", "/metrics", "/metrics/x", "/custom/a",
    "/custom/ab", "/custom/", "/custom/b", "/x/y", "/x/y/z", "/version", "/api", "/api/v1", "/apis", "/readyz",
)  # fmt: skip


# --- the random configuration ------------------------------------------------------------------


@dataclass
class Config:
    """Generated objects, and what the query generator and the report need to know about them."""

    prefix: str
    label: str  # our label-key prefix, so no selector of ours can match a role that is not ours
    namespaces: tuple[str, ...]
    objects: list[dict[str, Any]] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    service_accounts: list[tuple[str, str]] = field(default_factory=list)
    aggregated: set[str] = field(default_factory=set)
    missing_refs: set[str] = field(default_factory=set)

    def ref(self, obj: Mapping[str, Any]) -> str:
        meta = obj["metadata"]
        return (
            f"{obj['kind']}/{meta['namespace']}/{meta['name']}"
            if "namespace" in meta
            else f"{obj['kind']}/{meta['name']}"
        )


def _some(rng: random.Random, pool: tuple[str, ...], most: int = 2) -> list[str]:
    return rng.sample(pool, rng.randint(1, most))


def _resource_rule(rng: random.Random) -> dict[str, Any]:
    verbs = ["*"] if rng.random() < 0.12 else _some(rng, VERBS, 3)
    if rng.random() < 0.03:
        verbs = [verb.upper() for verb in verbs]  # verbs are case-sensitive: GET allows nothing
    rule: dict[str, Any] = {
        "verbs": verbs,
        "apiGroups": ["*"] if rng.random() < 0.15 else _some(rng, GROUPS),
        "resources": ["*"] if rng.random() < 0.1 else _some(rng, RULE_RESOURCES, 3),
    }
    if rng.random() < 0.3:
        rule["resourceNames"] = _some(rng, NAMES)
    return rule


def _url_rule(rng: random.Random) -> dict[str, Any]:
    return {"verbs": ["*"] if rng.random() < 0.15 else _some(rng, URL_VERBS), "nonResourceURLs": _some(rng, URLS, 3)}


def _rules(rng: random.Random, cluster: bool) -> list[dict[str, Any]]:
    return [
        _url_rule(rng) if cluster and rng.random() < 0.25 else _resource_rule(rng) for _ in range(rng.randint(1, 3))
    ]


def generate(rng: random.Random, run: str) -> Config:
    prefix = f"k8ssec-rbd-{run}"
    config = Config(prefix, f"rbd-{run}.k8ssec.test", tuple(f"{prefix}-{x}" for x in "abc"))
    label = config.label
    config.users = [f"{prefix}-u{i}" for i in range(6)]
    config.groups = [f"{prefix}-g{i}" for i in range(4)]
    config.service_accounts = [(ns, f"sa{i}") for ns in config.namespaces for i in range(2)]

    def obj(kind: str, name: str, namespace: str | None = None, **fields: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        if "labels" in fields:
            meta["labels"] = fields.pop("labels")
        made = {"apiVersion": RBAC_V1, "kind": kind, "metadata": meta, **fields}
        config.objects.append(made)
        return made

    # Plain ClusterRoles, labelled for the aggregation selectors below.
    plain = []
    for i in range(12):
        labels = {f"{label}/tier": rng.choice("abc")}
        if rng.random() < 0.5:
            labels[f"{label}/team"] = rng.choice(("red", "blue"))
        if rng.random() < 0.3:
            labels[f"{label}/agg"] = "true"
        plain.append(obj("ClusterRole", f"{prefix}-cr{i}", labels=labels, rules=_rules(rng, True)))
    # Aggregated ClusterRoles. Each selector names one of our keys, so none reaches a bootstrap role.
    selectors: list[list[dict[str, Any]]] = [
        [{"matchLabels": {f"{label}/tier": "a"}}],
        [{"matchLabels": {f"{label}/tier": "b"}}, {"matchLabels": {f"{label}/agg": "true"}}],
        [{"matchExpressions": [{"key": f"{label}/tier", "operator": "In", "values": ["a", "c"]},
                               {"key": f"{label}/team", "operator": "NotIn", "values": ["red"]}]}],
        [{"matchExpressions": [{"key": f"{label}/team", "operator": "Exists"},
                               {"key": f"{label}/agg", "operator": "DoesNotExist"}]}],
        [{"matchLabels": {f"{label}/nested": "true"}}],  # selects agg1, itself aggregated
        [{"matchLabels": {f"{label}/tier": "none-has-this"}}],  # selects nothing
        [{"matchLabels": {f"{label}/nested": "empty"}}],  # selects agg5, which selects nothing
        # A bootstrap role: reading the default policy's labels is harmless (it equals view).
        [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}],
    ]  # fmt: skip
    for i, selector in enumerate(selectors):
        labels = {f"{label}/nested": "true"} if i == 1 else {f"{label}/nested": "empty"} if i == 5 else {}
        fields: dict[str, Any] = {"aggregationRule": {"clusterRoleSelectors": selector}}
        if i in (2, 5):
            fields["rules"] = _rules(rng, True)  # rules of its own, which the controller replaces
        obj("ClusterRole", f"{prefix}-agg{i}", labels=labels, **fields)
        config.aggregated.add(f"{prefix}-agg{i}")
    cluster_roles = [o["metadata"]["name"] for o in config.objects if o["kind"] == "ClusterRole"]
    # Roles per namespace (namespaced rules: never nonResourceURLs).
    roles: dict[str, list[str]] = {}
    for ns in config.namespaces:
        roles[ns] = [obj("Role", f"{prefix}-r{i}", ns, rules=_rules(rng, False))["metadata"]["name"] for i in range(3)]
    # A Role only in namespace b: a RoleBinding in namespace a naming it binds to nothing.
    obj("Role", f"{prefix}-r-only-b", config.namespaces[1], rules=_rules(rng, False))

    def subject(namespace: str | None) -> dict[str, Any]:
        roll = rng.random()
        if roll < 0.35:
            made: dict[str, Any] = {"kind": "User", "name": rng.choice(config.users)}
            if rng.random() < 0.05:
                made["name"] = made["name"].upper()  # names are case-sensitive
        elif roll < 0.6:
            made = {"kind": "Group", "name": rng.choice(config.groups)}
            if namespace and rng.random() < 0.25:
                # Broad groups only inside our namespaces: nothing of ours reaches beyond them.
                made["name"] = rng.choice(
                    ("system:authenticated", "system:serviceaccounts", f"system:serviceaccounts:{namespace}")
                )
        else:
            sa_ns, sa = rng.choice(config.service_accounts)
            made = {"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}
            if namespace and rng.random() < 0.3:
                del made["namespace"]  # a RoleBinding's own namespace
            return made
        if rng.random() < 0.7:
            made["apiGroup"] = RBAC_GROUP  # else left to defaulting
        return made

    def role_ref(kind: str, name: str) -> dict[str, Any]:
        ref = {"kind": kind, "name": name}
        if rng.random() < 0.85:
            ref["apiGroup"] = RBAC_GROUP
        return ref

    for ns in config.namespaces:
        for i in range(7):
            roll = rng.random()
            if roll < 0.35:
                ref = role_ref("Role", rng.choice(roles[ns]))
            elif roll < 0.75:
                ref = role_ref("ClusterRole", rng.choice(cluster_roles))
            elif roll < 0.88:
                ref = role_ref("ClusterRole", rng.choice(("view", "edit", "admin")))
            elif roll < 0.94:
                ref = role_ref("Role", f"{prefix}-missing-role")
            else:
                ref = role_ref("ClusterRole", f"{prefix}-missing-clusterrole")
            if "missing" in ref["name"]:
                config.missing_refs.add(f"RoleBinding/{ns}/{prefix}-rb{i}")
            subjects = [subject(ns) for _ in range(rng.randint(1, 3))]
            obj("RoleBinding", f"{prefix}-rb{i}", ns, roleRef=ref, subjects=subjects)
    for i in range(10):
        name = rng.choice(cluster_roles) if i < 8 else f"{prefix}-missing-clusterrole"
        if i >= 8:
            config.missing_refs.add(f"ClusterRoleBinding/{prefix}-crb{i}")
        subjects = [subject(None) for _ in range(rng.randint(1, 3))]
        obj("ClusterRoleBinding", f"{prefix}-crb{i}", roleRef=role_ref("ClusterRole", name), subjects=subjects)
    # Always bound, so their corner cases are always asked about: agg2 has rules of its own and
    # selects roles (the controller replaces them), agg5 has rules of its own and selects nothing,
    # agg6 aggregates agg5.
    for i, agg in ((10, 2), (11, 5), (12, 6), (13, 7)):
        subjects = [{"apiGroup": RBAC_GROUP, "kind": "User", "name": config.users[i - 10]}, subject(None)]
        obj(
            "ClusterRoleBinding",
            f"{prefix}-crb{i}",
            roleRef=role_ref("ClusterRole", f"{prefix}-agg{agg}"),
            subjects=subjects,
        )
    for ns in config.namespaces[:2]:
        subjects = [subject(ns), subject(ns)]
        obj("RoleBinding", f"{prefix}-rb-only-b", ns, roleRef=role_ref("Role", f"{prefix}-r-only-b"), subjects=subjects)
    config.missing_refs.add(f"RoleBinding/{config.namespaces[0]}/{prefix}-rb-only-b")
    return config


# --- applying it and waiting for the aggregation controller ------------------------------------


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr["key"], expr["operator"], expr.get("values") or ()
        present = key in labels
        if (
            (op == "In" and not (present and labels[key] in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def _unsettled(config: Config, listed: list[dict[str, Any]]) -> list[str]:
    """Our aggregated roles whose rules are not yet the union the controller computes from the others."""
    by_name = {o["metadata"]["name"]: o for o in listed}
    pending = []
    for name in sorted(config.aggregated):
        role = by_name.get(name)
        if role is None:
            pending.append(f"{name}: not listed")
            continue
        union: list[Any] = []
        for selector in role["aggregationRule"]["clusterRoleSelectors"]:
            for other in sorted(by_name):
                if other != name and _selects(selector, by_name[other]["metadata"].get("labels") or {}):
                    union.extend(rule for rule in by_name[other].get("rules") or () if rule not in union)
        if not union:
            continue  # nothing selected: the controller's apply carries no rules (what stays is what the server keeps)
        have = sorted(json.dumps(r, sort_keys=True) for r in role.get("rules") or ())
        want = sorted(json.dumps(r, sort_keys=True) for r in union)
        if have != want:
            pending.append(f"{name}: has {len(have)} rules, the roles it selects hold {len(want)}")
    return pending


def _list_raw(source: ClusterSource, path: str) -> list[dict[str, Any]]:
    status, body = source.request("GET", path)
    assert status == 200, f"GET {path}: HTTP {status}: {body}"
    return list(body.get("items") or ())


def _wait_for_aggregation(source: ClusterSource, config: Config) -> float:
    began = time.monotonic()
    while True:
        pending = _unsettled(config, _list_raw(source, f"/apis/{RBAC_V1}/clusterroles"))
        if not pending:
            return time.monotonic() - began
        if time.monotonic() - began > SETTLE_TIMEOUT:
            pytest.fail(
                f"the clusterrole-aggregation controller did not settle in {SETTLE_TIMEOUT:g} s:\n  "
                + "\n  ".join(pending),
                pytrace=False,
            )
        time.sleep(0.3)


@pytest.fixture
def applied(admin: ClusterSource) -> Iterator[Config]:
    """The configuration, applied; everything of it (namespaces, cluster-scoped objects) removed afterwards."""
    rng = random.Random(SEED)
    config = generate(rng, os.urandom(3).hex())
    owner = {"k8ssec-test": config.prefix}
    created: list[dict[str, Any]] = []
    try:
        for ns in config.namespaces:
            admin.create_namespace(ns, owner)
        order = {"ClusterRole": 0, "Role": 1, "RoleBinding": 2, "ClusterRoleBinding": 2}
        for made in sorted(config.objects, key=lambda o: order[o["kind"]]):
            admin.apply(made)
            created.append(made)
        yield config
    finally:
        for made in created:
            if "namespace" not in made["metadata"]:
                plural = "clusterroles" if made["kind"] == "ClusterRole" else "clusterrolebindings"
                admin.request("DELETE", f"/apis/{RBAC_V1}/{plural}/{made['metadata']['name']}")
        for ns in config.namespaces:
            admin.delete_namespace(ns, owner)


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    who: UserInfo
    req: Request
    aimed: bool  # built from a generated rule (then maybe mutated)
    mutated: str = ""
    target: str = ""  # the binding an aimed query was built from
    written: bool = False  # aimed at the rules an aggregated role was created with

    def sar(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"user": self.who.name, "groups": list(self.who.groups)}
        if self.req.path:
            spec["nonResourceAttributes"] = {"path": self.req.path, "verb": self.req.verb}
        else:
            r = self.req
            attributes = {"verb": r.verb, "group": r.api_group, "resource": r.resource}
            attributes.update(
                {k: v for k, v in (("namespace", r.namespace), ("subresource", r.subresource), ("name", r.name)) if v}
            )
            spec["resourceAttributes"] = attributes
        return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}

    def __str__(self) -> str:
        return f"{self.who.name or '(no user name)'} groups={list(self.who.groups)}: {self.req}" + (
            f" [aimed, mutated {self.mutated}]" if self.mutated else " [aimed]" if self.aimed else ""
        )


class QueryMaker:
    def __init__(self, rng: random.Random, config: Config, listed: list[dict[str, Any]]) -> None:
        self.rng = rng
        self.config = config
        self.namespaces = (*config.namespaces, "", "", "default", f"{config.prefix}-nowhere")
        self.roles = {config.ref(o): o for o in listed if o["kind"] in ("Role", "ClusterRole")}
        # Rules as generated, before the aggregation controller replaced those of aggregated roles.
        self.written = {
            config.ref(o): o.get("rules") for o in config.objects if o["metadata"]["name"] in config.aggregated
        }
        self.bindings = [
            o
            for o in listed
            if o["kind"] in ("RoleBinding", "ClusterRoleBinding") and o["metadata"]["name"].startswith(config.prefix)
        ]

    def user_for(self, subject: Mapping[str, Any] | None, namespace: str = "") -> UserInfo:
        rng, config = self.rng, self.config
        extra = rng.sample(config.groups, rng.randint(0, 2))
        if rng.random() < 0.3:
            extra.append("system:authenticated")
        kind = subject["kind"] if subject else rng.choice(("User", "User", "ServiceAccount", "Group", "anonymous"))
        if kind == "ServiceAccount":
            sa_ns = (subject.get("namespace") or namespace) if subject else rng.choice(config.service_accounts)[0]
            name = subject["name"] if subject else rng.choice(("sa0", "sa1"))
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{sa_ns}", "system:authenticated"]
            if rng.random() < 0.2:
                groups = rng.sample(groups, rng.randint(0, 2))  # a review may state any groups
            return UserInfo(f"system:serviceaccount:{sa_ns}:{name}", tuple(dict.fromkeys(groups + extra)))
        if kind == "Group":
            group = subject["name"] if subject else rng.choice(config.groups)
            return UserInfo(rng.choice((f"{config.prefix}-member", "")), tuple(dict.fromkeys([group, *extra])))
        if kind == "anonymous":
            return UserInfo("system:anonymous", ("system:unauthenticated",))
        name = subject["name"] if subject else rng.choice(config.users)
        if rng.random() < 0.01:
            extra.append("system:masters")
        return UserInfo(name, tuple(dict.fromkeys(extra)))

    def random_request(self) -> Request:
        rng = self.rng
        if rng.random() < 0.15:
            return Request(rng.choice(URL_VERBS), path=rng.choice(PATHS))
        verb = rng.choice((*VERBS, "GET", "*")) if rng.random() < 0.05 else rng.choice(VERBS)
        sub = rng.choice(SUBRESOURCES) if rng.random() < 0.35 else ""
        name = rng.choice((*NAMES, "delta")) if rng.random() < 0.55 else ""
        return Request(
            verb, rng.choice(RESOURCES), sub, rng.choice((*GROUPS, "other.io")), rng.choice(self.namespaces), name
        )

    def aimed(self) -> Query:
        """A request one generated rule allows, for one subject of a binding to its role; maybe mutated."""
        rng = self.rng
        binding = rng.choice(self.bindings)
        subject = rng.choice(binding["subjects"])
        namespace = binding["metadata"].get("namespace", "")
        who = self.user_for(subject, namespace)
        role = self.roles.get(_role_key(binding))
        rules = (role or {}).get("rules") or [_resource_rule(rng)]
        written = bool(self.written.get(_role_key(binding))) and rng.random() < 0.4
        if written:
            rules = self.written[_role_key(binding)]
        rule = rng.choice(rules)
        if "nonResourceURLs" in rule:
            url = rng.choice(rule["nonResourceURLs"])
            path = url.rstrip("*") + rng.choice(("", "x", "/deep")) if url.endswith("*") else url
            verb = rng.choice(URL_VERBS) if "*" in rule["verbs"] else rng.choice(rule["verbs"])
            req = Request(verb, path=path or "/")
        else:
            verb = rng.choice(VERBS) if "*" in rule["verbs"] else rng.choice(rule["verbs"])
            group = rng.choice(GROUPS) if "*" in rule["apiGroups"] else rng.choice(rule["apiGroups"])
            resource = rng.choice(rule["resources"])
            base, _, sub = resource.partition("/")
            if base == "*":
                base = rng.choice(RESOURCES)
            if sub == "*" and rng.random() < 0.7:
                sub = rng.choice(SUBRESOURCES[:-1])  # pods/* is literal: a real subresource misses it
            names = rule.get("resourceNames")
            name = rng.choice(names) if names else (rng.choice(NAMES) if rng.random() < 0.4 else "")
            if not namespace:
                namespace = rng.choice(self.namespaces)
            req = Request(verb, base, sub, group, namespace, name)
        query = Query(who, req, aimed=True, target=self.config.ref(binding), written=written)
        return self.mutate(query) if rng.random() < 0.4 else query

    def mutate(self, query: Query) -> Query:
        rng, req = self.rng, query.req
        field_name = rng.choice(("verb", "namespace", "user", "groups") if req.path else
                                ("verb", "api_group", "resource", "subresource", "name", "namespace", "user", "groups"))  # fmt: skip
        who = query.who
        if field_name == "verb":
            req = _replace(req, verb=rng.choice((*VERBS, *URL_VERBS, "GET")))
        elif field_name == "api_group":
            req = _replace(req, api_group=rng.choice((*GROUPS, "other.io")))
        elif field_name == "resource":
            req = _replace(req, resource=rng.choice(RESOURCES))
        elif field_name == "subresource":
            req = _replace(req, subresource=rng.choice(("", *SUBRESOURCES)))
        elif field_name == "name":
            req = _replace(req, name=rng.choice(("", *NAMES, "delta")))
        elif field_name == "namespace":
            if req.path:
                req = _replace(req, path=rng.choice(PATHS))
            else:
                req = _replace(req, namespace=rng.choice(self.namespaces))
        elif field_name == "user":
            who = UserInfo(rng.choice((*self.config.users, who.name.upper() or "x")), who.groups)
        else:
            who = UserInfo(who.name, tuple(g for g in who.groups if rng.random() < 0.5))
        if not who.name and not who.groups:
            who = UserInfo(f"{self.config.prefix}-member", ())
        return Query(who, req, aimed=True, mutated=field_name, target=query.target, written=query.written)

    def query(self) -> Query:
        if self.rng.random() < 0.5:
            return self.aimed()
        return Query(self.user_for(None), self.random_request(), aimed=False)


def _replace(req: Request, **changes: str) -> Request:
    fields = {k: getattr(req, k) for k in ("verb", "resource", "subresource", "api_group", "namespace", "name", "path")}
    return Request(**{**fields, **changes})


def _role_key(binding: Mapping[str, Any]) -> str:
    ref = binding["roleRef"]
    if ref["kind"] == "Role":
        return f"Role/{binding['metadata']['namespace']}/{ref['name']}"
    return f"ClusterRole/{ref['name']}"


# --- comparing and reporting -------------------------------------------------------------------


def _applies(subject: Mapping[str, Any], who: UserInfo, namespace: str) -> bool:
    if subject["kind"] == "Group":
        return subject["name"] in who.groups
    if subject["kind"] == "User":
        return bool(subject["name"] == who.name)
    return who.name == f"system:serviceaccount:{subject.get('namespace') or namespace}:{subject['name']}"


def _relevant(query: Query, listed: list[dict[str, Any]], by_ref: Mapping[str, dict[str, Any]], prefix: str) -> str:
    """The bindings that apply to the query's user (and in its namespace), with their roles."""
    lines = []
    for obj in listed:
        if obj["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        namespace = obj["metadata"].get("namespace", "")
        if namespace and namespace != query.req.namespace:
            continue
        if not any(_applies(s, query.who, namespace) for s in obj.get("subjects") or ()):
            continue
        role = by_ref.get(_role_key(obj))
        if role is None:
            role_text = "MISSING"
        elif not role["metadata"]["name"].startswith(prefix):
            role_text = f"(default role, {len(role.get('rules') or ())} rules)"
        else:
            shown = {k: role.get(k) for k in ("aggregationRule", "rules") if k in role}
            role_text = json.dumps(shown | {"labels": role["metadata"].get("labels")})
        lines.append(f"    {obj['kind']} {namespace + '/' if namespace else ''}{obj['metadata']['name']} "
                     f"subjects={json.dumps(obj.get('subjects'))} -> {_role_key(obj)}: {role_text}")  # fmt: skip
    return "\n".join(lines) or "    (no binding applies to this user)"


def _features(query: Query, model: RbacModel, config: Config) -> list[str]:
    """What the query exercises; for an allowed one, also how the offline model allows it."""
    req, who = query.req, query.who
    found = ["nonresource" if req.path else ("cluster-scope" if not req.namespace else "namespaced")]
    if req.subresource:
        found.append("subresource")
    if req.name:
        found.append("name")
    if who.name.startswith("system:serviceaccount:"):
        found.append("serviceaccount-user")
    if query.mutated:
        found.append("near-miss")
    if query.target in config.missing_refs:
        found.append("aimed at a binding to a missing role")
    if query.written:
        found.append("aimed at an aggregated role's own rules")
    if req.path:
        grants = model.grants(who, req.verb, path=req.path)
    else:
        grants = model.grants(
            who,
            req.verb,
            req.resource,
            namespace=req.namespace or None,
            name=req.name or None,
            subresource=req.subresource or None,
            group=req.api_group,
        )
    for grant in grants:
        role_name = grant.role.rsplit("/", 1)[-1]
        found.append("via " + (
            "system:masters" if not grant.role else
            "Role via RoleBinding" if grant.role.startswith("Role/") else
            "ClusterRole via RoleBinding" if grant.binding.startswith("RoleBinding/") else
            "ClusterRole via ClusterRoleBinding"
        ))  # fmt: skip
        if role_name in config.aggregated:
            found.append("via aggregated ClusterRole")
        if grant.role and not role_name.startswith(config.prefix):
            found.append("via default ClusterRole")
        found.append(f"via {grant.subject.kind} subject")
        rule = grant.rule
        if "*" in rule["verbs"]:
            found.append("rule: verb *")
        if rule.get("apiGroups") == ["*"] or "*" in (rule.get("apiGroups") or ()):
            found.append("rule: apiGroup *")
        for resource in rule.get("resources") or ():
            if resource == "*":
                found.append("rule: resource *")
            elif resource.startswith("*/"):
                found.append("rule: */subresource")
        if rule.get("resourceNames"):
            found.append("rule: resourceNames")
        for url in rule.get("nonResourceURLs") or ():
            shape = "*" if url == "*" else "prefix*" if url.endswith("*") else "exact"
            found.append(f"rule: nonResourceURL {shape}")
    return list(dict.fromkeys(found))


def test_rbac_authorizer_agrees_with_subject_access_review(
    admin: ClusterSource, control_plane: LocalControlPlane, applied: Config
) -> None:
    began = time.monotonic()
    config = applied
    settle = _wait_for_aggregation(admin, config)
    # A fresh source: the session's admin source caches what it listed before our objects existed.
    lister = ClusterSource.from_kubeconfig("admin", ClusterOptions(kubeconfig=str(control_plane.kubeconfig)))
    objects = [
        obj for kind in ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding") for obj in lister.objects(kind)
    ]
    listed = [dict(obj.raw) for obj in objects]
    ours = [o for o in listed if o["metadata"]["name"].startswith(config.prefix)]
    assert len(ours) == len(config.objects), "every generated object was stored"
    model = RbacModel.from_objects(objects, defaults=None)
    by_ref = {config.ref(o): o for o in listed if o["kind"] in ("Role", "ClusterRole")}

    rng = random.Random(SEED + 1)
    maker = QueryMaker(rng, config, listed)
    queries = list(dict.fromkeys(maker.query() for _ in range(QUERIES)))

    def ask(query: Query) -> tuple[bool, dict[str, Any]]:
        status, body = admin.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=query.sar())
        assert status == 201 and isinstance(body, dict), f"SubjectAccessReview for {query}: HTTP {status}: {body}"
        return bool(body.get("status", {}).get("allowed")), body.get("status", {})

    asked = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(ask, queries))
    sar_seconds = time.monotonic() - asked

    modelled = time.monotonic()
    verdicts = [model.authorize(q.who, q.req) for q in queries]
    model_seconds = time.monotonic() - modelled

    tally: Counter[str] = Counter()
    allowed_by: Counter[str] = Counter()
    denied_by: Counter[str] = Counter()
    disagreements = []
    for query, (server, status), ours_says in zip(queries, answers, verdicts):
        tally["allowed" if server else "denied"] += 1
        for feature in _features(query, model, config):
            (allowed_by if server else denied_by)[feature] += 1
        if server != ours_says:
            disagreements.append((query, server, status, ours_says))

    print(
        f"\nRBAC differential (seed {SEED}, objects prefixed {config.prefix}): {len(ours)} generated objects "
        f"({', '.join(f'{n} {k}' for k, n in sorted(Counter(o['kind'] for o in ours).items()))}), "
        f"{len(listed)} RBAC objects listed back; aggregation settled in {settle:.1f} s"
    )
    print(
        f"  {len(queries)} queries: {tally['allowed']} allowed, {tally['denied']} denied; "
        f"{sum(q.aimed for q in queries)} aimed at a rule ({sum(bool(q.mutated) for q in queries)} mutated); "
        f"SubjectAccessReview {sar_seconds:.1f} s ({THREADS} threads), model {model_seconds * 1000:.0f} ms; "
        f"{len(disagreements)} disagreements; total {time.monotonic() - began:.1f} s"
    )
    print("  by feature (allowed / denied):")
    for feature in sorted(allowed_by.keys() | denied_by.keys()):
        print(f"    {feature:<40} {allowed_by[feature]:>5} / {denied_by[feature]:>5}")

    if disagreements:
        reasons = Counter(
            str(status.get("reason") or "no reason").split(" to ")[0] for _, _, status, _ in disagreements
        )
        print(f"\n{len(disagreements)} disagreements by the server's reason:")
        for reason, count in reasons.most_common():
            print(f"  {count:>5}  {reason}")
        print(f"first {min(SHOW, len(disagreements))} of {len(disagreements)} disagreements:")
        for query, server, status, ours_says in disagreements[:SHOW]:
            why = status.get("reason") or status.get("evaluationError") or "no reason"
            print(
                f"  {query}\n    server: {'allowed' if server else 'denied'} ({why}); model: {'allowed' if ours_says else 'denied'}"
            )
            print(_relevant(query, listed, by_ref, config.prefix))
    assert len(queries) >= 5000
    assert not disagreements, (
        f"{len(disagreements)} of {len(queries)} queries disagree with the API server (run with -s for the first {SHOW})"
    )
    # The run must really exercise each feature on the allowed side, or a green result means little.
    for feature in (
        "via Role via RoleBinding", "via ClusterRole via RoleBinding", "via ClusterRole via ClusterRoleBinding",
        "via aggregated ClusterRole", "via default ClusterRole", "via ServiceAccount subject", "via Group subject",
        "rule: verb *", "rule: apiGroup *", "rule: resource *", "rule: */subresource", "rule: resourceNames",
        "rule: nonResourceURL prefix*", "rule: nonResourceURL *", "subresource", "cluster-scope", "nonresource",
    ):  # fmt: skip
        assert allowed_by[feature] > 0, f"no allowed query exercised {feature!r}: change SEED or the generator"
    assert denied_by["near-miss"] > 0 and denied_by["aimed at a binding to a missing role"] > 0
    assert tally["denied"] > len(queries) // 10 and tally["allowed"] > len(queries) // 10
