"""RBAC authorization exactly as kube-apiserver decides it, offline, over listed or manifest objects.

Implements the Kubernetes RBAC authorizer (plugin/pkg/auth/authorizer/rbac/rbac.go: ``RuleAllows``),
its rule resolver (pkg/registry/rbac/validation/rule.go: ``VisitRulesFor``, ``appliesTo``), the
privileged-group authorizer that sits in front of RBAC (k8s.io/apiserver authorizerfactory:
``system:masters`` is allowed everything), and the v1 defaulting and validation that decide which
RBAC objects can exist at all (pkg/apis/rbac/v1/defaults.go, pkg/apis/rbac/validation). Rules are
matched in ``rules``, subjects in ``subjects``, aggregated ClusterRoles resolved in ``aggregation``.

An object the API server would reject (roleRef apiGroup other than rbac.authorization.k8s.io after
defaulting, ClusterRoleBinding to a Role, unknown subject kind, invalid rule, an RBAC version no
longer served) grants nothing, like a binding to a missing role; each is named in
``RbacModel.problems`` (``strict=True`` raises instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.model.objects import K8sObject, as_list
from pytest_k8ssec.model.rbac.aggregation import aggregate, validate_aggregation
from pytest_k8ssec.model.rbac.rules import (
    PRIVILEGED_GROUP,
    RBAC_API_VERSION,
    RBAC_GROUP,
    RBAC_KINDS,
    PolicyRule,
    RbacError,
    Request,
    _Invalid,
    request,
    validated_rule,
)
from pytest_k8ssec.model.rbac.subjects import RbacSubject, UserInfo, applies, binding_subject, user, workload_user


@dataclass(frozen=True, slots=True)
class RbacRole:
    """A Role or ClusterRole with the rules the authorizer uses (aggregation resolved)."""

    ref: str  # "ClusterRole/name" or "Role/ns/name"
    kind: str
    name: str
    namespace: str  # "" for a ClusterRole
    rules: tuple[PolicyRule, ...]
    aggregated: bool
    obj: K8sObject | None


@dataclass(frozen=True, slots=True)
class RbacBinding:
    """A RoleBinding or ClusterRoleBinding the API server would accept."""

    ref: str  # "ClusterRoleBinding/name" or "RoleBinding/ns/name"
    kind: str
    name: str
    namespace: str  # "" for a ClusterRoleBinding
    role_ref: str  # "ClusterRole/name" or "Role/ns/name" (the role may be missing)
    subjects: tuple[RbacSubject, ...]
    obj: K8sObject | None


@dataclass(frozen=True, slots=True)
class Grant:
    """Why a request is allowed: the binding, its role, the matching rule and the subject that matched."""

    binding: str
    role: str
    rule: PolicyRule
    subject: RbacSubject

    def __str__(self) -> str:
        return f"{self.subject} via {self.binding} -> {self.role or '(privileged group)'} rule {self.rule}"


@dataclass(frozen=True, slots=True)
class Permission:
    """One rule a user holds: where (``namespace``, ``None`` = every namespace and cluster-wide), and why."""

    namespace: str | None
    rule: PolicyRule
    binding: str
    role: str
    subject: RbacSubject

    @property
    def cluster_wide(self) -> bool:
        return self.namespace is None

    @property
    def scope(self) -> str:
        return "cluster" if self.namespace is None else self.namespace


# The privileged-group authorizer answers before RBAC; these describe it in grants and permissions.
_MASTERS_SUBJECT: Final = RbacSubject("Group", PRIVILEGED_GROUP)
_ALL_RESOURCES: Final = PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",))
_ALL_URLS: Final = PolicyRule(verbs=("*",), non_resource_urls=("*",))


def _masters_grant(req: Request) -> Grant:
    return Grant(PRIVILEGED_GROUP, "", _ALL_RESOURCES if req.is_resource_request else _ALL_URLS, _MASTERS_SUBJECT)


# --- the model ----------------------------------------------------------------------------------

# One applicable (binding, subject) pair, with the role's rules resolved.
_Entry = tuple[RbacBinding, RbacSubject]
_Resolved = tuple[RbacBinding, RbacSubject, tuple[PolicyRule, ...]]


def _role_ref(kind: str, name: str, namespace: str) -> str:
    return f"ClusterRole/{name}" if kind == "ClusterRole" else f"Role/{namespace}/{name}"


class RbacModel:
    """Every Role, ClusterRole and binding of a target, indexed for ``can`` and ``who_can``.

    Build it once (``from_objects``); queries never change it. Per-user rule lists are resolved
    lazily and cached, so repeated questions about one subject cost a scan of its own rules only.
    """

    def __init__(
        self, roles: Sequence[RbacRole], bindings: Sequence[RbacBinding], problems: Sequence[str] = ()
    ) -> None:
        self.roles: tuple[RbacRole, ...] = tuple(roles)
        self.bindings: tuple[RbacBinding, ...] = tuple(bindings)
        self.problems: tuple[str, ...] = tuple(problems)
        self._roles = {role.ref: role for role in self.roles}
        self._bindings = {binding.ref: binding for binding in self.bindings}
        self._order = {binding.ref: i for i, binding in enumerate(self.bindings)}
        # Subject indexes: cluster bindings by user name / group; role bindings by namespace first.
        self._crb_user: dict[str, list[_Entry]] = {}
        self._crb_group: dict[str, list[_Entry]] = {}
        self._rb_user: dict[str, dict[str, list[_Entry]]] = {}
        self._rb_group: dict[str, dict[str, list[_Entry]]] = {}
        # Role index: role ref -> binding namespace ("" = cluster bindings) -> bindings.
        self._by_role: dict[str, dict[str, list[RbacBinding]]] = {}
        for binding in self.bindings:
            self._by_role.setdefault(binding.role_ref, {}).setdefault(binding.namespace, []).append(binding)
            for subject in binding.subjects:
                entry = (binding, subject)
                username = subject.username
                if binding.namespace:
                    index, key = (self._rb_group, subject.name) if username is None else (self._rb_user, username)
                    index.setdefault(key, {}).setdefault(binding.namespace, []).append(entry)
                elif username is None:
                    self._crb_group.setdefault(subject.name, []).append(entry)
                else:
                    self._crb_user.setdefault(username, []).append(entry)
        # Rule index for who_can: verb -> (role ref, rule) for every role that some binding references.
        self._rules_by_verb: dict[str, list[tuple[str, PolicyRule]]] = {}
        for ref in self._by_role:
            role = self._roles.get(ref)
            if role is None:
                continue
            for rule in role.rules:
                for verb in dict.fromkeys(rule.verbs):
                    self._rules_by_verb.setdefault(verb, []).append((ref, rule))
        self._cluster_cache: dict[UserInfo, tuple[_Resolved, ...]] = {}
        self._ns_cache: dict[tuple[UserInfo, str], tuple[_Resolved, ...]] = {}

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def from_objects(
        cls, objs: Iterable[K8sObject], *, defaults: Iterable[K8sObject] | None = None, strict: bool = False
    ) -> RbacModel:
        """The model of the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings among ``objs``.

        ``defaults`` (the default ClusterRoles of a Kubernetes version, e.g.
        ``pytest_k8ssec.sources.default_roles.default_roles("1.37")``) are added where ``objs`` has no
        object of the same kind and name (manifest targets bind to them without listing them);
        ``None`` adds none (a live target lists them). ``strict=True`` raises ``RbacError`` for any
        object the API server would reject instead of listing it in ``problems``.
        """
        if isinstance(defaults, str):
            # The model reads no files: the version's objects come from sources/default_roles.py.
            raise RbacError(
                f"defaults={defaults!r}: pass the default roles' objects, "
                f"pytest_k8ssec.sources.default_roles.default_roles({defaults!r})"
            )
        problems: list[str] = []
        given = [obj for obj in objs if obj.kind in RBAC_KINDS and obj.api_group == RBAC_GROUP]
        if defaults is not None:
            present = {(obj.kind, obj.namespace, obj.name) for obj in given}
            given.extend(d for d in defaults if (d.kind, d.namespace, d.name) not in present)

        cluster_roles: dict[str, tuple[K8sObject, tuple[PolicyRule, ...]]] = {}
        roles: list[RbacRole] = []
        binding_objs: list[K8sObject] = []
        for obj in given:
            try:
                if obj.api_version != RBAC_API_VERSION:
                    raise _Invalid(f"apiVersion {obj.api_version} is not served (only {RBAC_API_VERSION})")
                if not obj.name:
                    raise _Invalid("metadata.name is empty")
                if obj.kind in ("Role", "ClusterRole"):
                    namespaced = obj.kind == "Role"
                    if obj.raw.get("rules") is not None and not isinstance(obj.raw.get("rules"), list):
                        raise _Invalid("rules must be a list")
                    raw_rules = as_list(obj.raw.get("rules"))
                    rules = tuple(validated_rule(raw, namespaced, f"rules[{i}]") for i, raw in enumerate(raw_rules))
                    if namespaced:
                        ns = obj.namespace or ""
                        roles.append(RbacRole(_role_ref("Role", obj.name, ns), "Role", obj.name, ns, rules, False, obj))
                    else:
                        validate_aggregation(obj)
                        if obj.name in cluster_roles:
                            raise _Invalid("a second ClusterRole of this name (the later one is ignored)")
                        cluster_roles[obj.name] = (obj, rules)
                else:
                    binding_objs.append(obj)
            except _Invalid as exc:
                problems.append(f"{obj.ref} ({obj.provenance}): {exc}; it grants nothing")

        for name, (rules, aggregated) in aggregate(cluster_roles).items():
            obj = cluster_roles[name][0]
            roles.append(RbacRole(_role_ref("ClusterRole", name, ""), "ClusterRole", name, "", rules, aggregated, obj))
        bindings: list[RbacBinding] = []
        seen: set[str] = set()
        for obj in binding_objs:
            try:
                binding = _binding(obj)
                if binding.ref in seen:
                    raise _Invalid("a second binding of this name (the later one is ignored)")
                seen.add(binding.ref)
                bindings.append(binding)
            except _Invalid as exc:
                problems.append(f"{obj.ref} ({obj.provenance}): {exc}; it grants nothing")

        known = {role.ref for role in roles}
        problems.extend(
            f"{b.ref}: references {b.role_ref}, which does not exist; it grants nothing"
            for b in bindings
            if b.role_ref not in known
        )
        if strict and problems:
            raise RbacError("RBAC objects the API server would reject or cannot resolve:\n  " + "\n  ".join(problems))
        return cls(roles, bindings, problems)

    # -- the authorizer ---------------------------------------------------------------------------

    def _cluster_rules(self, who: UserInfo) -> tuple[_Resolved, ...]:
        cached = self._cluster_cache.get(who)
        if cached is None:
            entries = list(self._crb_user.get(who.name, ()))
            for group in who.groups:
                entries.extend(self._crb_group.get(group, ()))
            cached = self._cluster_cache[who] = self._resolve(entries, who)
        return cached

    def _namespace_rules(self, who: UserInfo, namespace: str) -> tuple[_Resolved, ...]:
        key = (who, namespace)
        cached = self._ns_cache.get(key)
        if cached is None:
            entries = list(self._rb_user.get(who.name, {}).get(namespace, ()))
            for group in who.groups:
                entries.extend(self._rb_group.get(group, {}).get(namespace, ()))
            cached = self._ns_cache[key] = self._resolve(entries, who)
        return cached

    def _resolve(self, entries: list[_Entry], who: UserInfo) -> tuple[_Resolved, ...]:
        """Each binding once, in model order, with its first applicable subject (``appliesTo``)."""
        bindings = {binding.ref: binding for binding, _ in entries}
        resolved: list[_Resolved] = []
        for ref in sorted(bindings, key=self._order.__getitem__):
            binding = bindings[ref]
            role = self._roles.get(binding.role_ref)
            if role is None:
                continue
            subject = next(s for s in binding.subjects if applies(s, who))
            resolved.append((binding, subject, role.rules))
        return tuple(resolved)

    def _visit(self, who: UserInfo, req: Request) -> Iterator[tuple[_Resolved, PolicyRule]]:
        """``VisitRulesFor``: cluster bindings for every request, role bindings only in the request's namespace."""
        for item in self._cluster_rules(who):
            for rule in item[2]:
                yield item, rule
        if req.namespace:
            for item in self._namespace_rules(who, req.namespace):
                for rule in item[2]:
                    yield item, rule

    def authorize(self, who: UserInfo, req: Request) -> bool:
        """The decision of the authorizer chain: privileged group, then RBAC (deny = no rule allows)."""
        if PRIVILEGED_GROUP in who.groups:
            return True
        return any(rule.allows(req) for _, rule in self._visit(who, req))

    @keyword_only("namespace", "name", "subresource", "group", renamed={"api_group": "group"})
    def grants(
        self,
        who: str | UserInfo,
        verb: str,
        resource: str = "",
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        group: str = "",
        path: str | None = None,
    ) -> list[Grant]:
        """Every (binding, role, rule) that allows the request; empty means denied."""
        return self.grants_for(user(who), request(verb, resource, namespace, name, subresource, group, path=path))

    def grants_for(self, info: UserInfo, req: Request) -> list[Grant]:
        """``grants`` for a request already built (as ``authorize`` takes it)."""
        found = [_masters_grant(req)] if PRIVILEGED_GROUP in info.groups else []
        found.extend(
            Grant(binding.ref, binding.role_ref, rule, subject)
            for (binding, subject, _), rule in self._visit(info, req)
            if rule.allows(req)
        )
        return found

    @keyword_only("namespace", "name", "subresource", "group", renamed={"api_group": "group"})
    def can(
        self,
        who: str | UserInfo,
        verb: str,
        resource: str = "",
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        group: str = "",
        path: str | None = None,
    ) -> bool:
        """Whether ``who`` may make the request (``namespace=None``: a cluster-scoped or all-namespaces request)."""
        return self.authorize(user(who), request(verb, resource, namespace, name, subresource, group, path=path))

    @keyword_only("namespace", "name", "subresource", "group", renamed={"api_group": "group"})
    def who_can(
        self,
        verb: str,
        resource: str = "",
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        group: str = "",
        path: str | None = None,
    ) -> list[Grant]:
        """Every binding subject allowed to make the request, one grant per (binding, subject, rule).

        Group ``system:masters`` comes first (the privileged-group authorizer); then bindings in
        model order. A RoleBinding counts only for a request in its own namespace.
        """
        req = request(verb, resource, namespace, name, subresource, group, path=path)
        # Rules are shared objects between the index and their role, so identity tells them apart.
        matching: dict[str, set[int]] = {}
        for bucket in (req.verb, "*") if req.verb != "*" else ("*",):
            for ref, rule in self._rules_by_verb.get(bucket, ()):
                if rule.allows(req):
                    matching.setdefault(ref, set()).add(id(rule))
        hits: list[tuple[RbacBinding, tuple[PolicyRule, ...]]] = []
        for ref, ids in matching.items():
            rules = tuple(rule for rule in self._roles[ref].rules if id(rule) in ids)
            by_namespace = self._by_role.get(ref, {})
            hits.extend((binding, rules) for binding in by_namespace.get("", ()))
            if req.namespace:
                hits.extend((binding, rules) for binding in by_namespace.get(req.namespace, ()))
        order = self._order
        hits.sort(key=lambda hit: order[hit[0].ref])
        found = [_masters_grant(req)]
        for binding, rules in hits:
            for subject in binding.subjects:
                found.extend(Grant(binding.ref, binding.role_ref, rule, subject) for rule in rules)
        return found

    def permissions(self, who: str | UserInfo) -> list[Permission]:
        """Every rule ``who`` holds: cluster-wide ones (``namespace=None``), then per namespace (sorted)."""
        info = user(who)
        found: list[Permission] = []
        if PRIVILEGED_GROUP in info.groups:
            found.extend(
                Permission(None, rule, PRIVILEGED_GROUP, "", _MASTERS_SUBJECT) for rule in (_ALL_RESOURCES, _ALL_URLS)
            )
        for binding, subject, rules in self._cluster_rules(info):
            found.extend(Permission(None, rule, binding.ref, binding.role_ref, subject) for rule in rules)
        namespaces: set[str] = set(self._rb_user.get(info.name, {}))
        for group in info.groups:
            namespaces.update(self._rb_group.get(group, {}))
        for ns in sorted(namespaces):
            for binding, subject, rules in self._namespace_rules(info, ns):
                found.extend(Permission(ns, rule, binding.ref, binding.role_ref, subject) for rule in rules)
        return found

    def workload_permissions(self, workload: K8sObject) -> list[Permission]:
        """Every rule the workload's service account holds (``workload_user``), as ``permissions``."""
        return self.permissions(workload_user(workload))

    def binding(self, ref: str) -> RbacBinding | None:
        """The binding ``ClusterRoleBinding/<name>`` or ``RoleBinding/<ns>/<name>`` (``None`` if absent or rejected)."""
        return self._bindings.get(ref)

    def role(self, ref: str) -> RbacRole | None:
        """The role ``ClusterRole/<name>`` or ``Role/<ns>/<name>``, aggregation resolved."""
        return self._roles.get(ref)

    def __repr__(self) -> str:
        return f"<RbacModel {len(self.roles)} roles, {len(self.bindings)} bindings, {len(self.problems)} problems>"


def _binding(obj: K8sObject) -> RbacBinding:
    """A binding after v1 defaulting, or ``_Invalid`` where ``ValidateRoleBinding`` would reject it."""
    namespaced = obj.kind == "RoleBinding"
    namespace = (obj.namespace or "") if namespaced else ""
    ref_raw = obj.raw.get("roleRef")
    if not isinstance(ref_raw, Mapping):
        raise _Invalid("roleRef is missing")
    # SetDefaults_RoleBinding / SetDefaults_ClusterRoleBinding: an empty roleRef.apiGroup is the RBAC group.
    group = ref_raw.get("apiGroup") or RBAC_GROUP
    if group != RBAC_GROUP:
        raise _Invalid(f"roleRef.apiGroup {group!r} is not {RBAC_GROUP}")
    kind, name = ref_raw.get("kind"), ref_raw.get("name")
    allowed = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if kind not in allowed:
        raise _Invalid(f"roleRef.kind {kind!r} is not supported (supported: {', '.join(allowed)})")
    if not isinstance(name, str) or not name:
        raise _Invalid("roleRef.name is required")
    subjects_raw = obj.raw.get("subjects")
    if subjects_raw is not None and not isinstance(subjects_raw, list):
        raise _Invalid("subjects must be a list")
    subjects = tuple(
        binding_subject(raw, namespaced, namespace, f"subjects[{i}]") for i, raw in enumerate(subjects_raw or ())
    )
    return RbacBinding(
        f"{obj.kind}/{namespace}/{obj.name}" if namespaced else f"{obj.kind}/{obj.name}",
        obj.kind,
        obj.name,
        namespace,
        _role_ref(str(kind), name, namespace),
        subjects,
        obj,
    )
