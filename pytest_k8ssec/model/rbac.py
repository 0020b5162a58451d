"""RBAC authorization exactly as kube-apiserver decides it, offline, over listed or manifest objects.

Implements the Kubernetes RBAC authorizer (plugin/pkg/auth/authorizer/rbac/rbac.go: ``RuleAllows``),
its rule resolver (pkg/registry/rbac/validation/rule.go: ``VisitRulesFor``, ``appliesTo``), the rule
matchers (pkg/apis/rbac/v1/evaluation_helpers.go), the privileged-group authorizer that sits in front
of RBAC (k8s.io/apiserver authorizerfactory: ``system:masters`` is allowed everything), ClusterRole
aggregation as the clusterrole-aggregation controller writes it, and the v1 defaulting and validation
that decide which RBAC objects can exist at all (pkg/apis/rbac/v1/defaults.go, pkg/apis/rbac/validation).

Choices where upstream leaves room (each is what the API server or its controllers would produce):

* Aggregation REPLACES the aggregated ClusterRole's rules with the de-duplicated union of the rules
  of the ClusterRoles its selectors match (selectors in order, roles sorted by name, itself
  excluded), exactly as the controller applies them. A role's own written rules are therefore
  dropped, except when the union is empty: the controller's server-side apply then carries no
  rules field and the written rules stay. A live role whose rules the controller already wrote is
  recomputed to the same value: nothing is counted twice. Aggregated roles that select other aggregated roles are resolved to
  the controller's fixed point.
* An object the API server would reject (roleRef apiGroup other than rbac.authorization.k8s.io
  after defaulting, ClusterRoleBinding to a Role, unknown subject kind, invalid rule, an RBAC
  version no longer served) grants nothing, like a binding to a missing role; each is named in
  ``RbacModel.problems`` (``strict=True`` raises instead).
* Matching is case-sensitive everywhere, as upstream compares plain strings; ``pods/*`` is not a
  wildcard (only ``*`` and ``*/<subresource>`` are), and a rule with resourceNames never matches a
  request without a name (list, create, watch of a collection).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import yaml

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.objects import K8sObject, Provenance, as_list, as_mapping
from pytest_k8ssec.model.workloads import pod_spec

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

RBAC_GROUP: Final = "rbac.authorization.k8s.io"
RBAC_API_VERSION: Final = f"{RBAC_GROUP}/v1"
PRIVILEGED_GROUP: Final = "system:masters"
AUTHENTICATED: Final = "system:authenticated"
UNAUTHENTICATED: Final = "system:unauthenticated"
ANONYMOUS: Final = "system:anonymous"
SERVICE_ACCOUNTS: Final = "system:serviceaccounts"
SA_PREFIX: Final = "system:serviceaccount:"
RBAC_KINDS: Final = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})

_DEFAULTS_PACKAGE: Final = "pytest_k8ssec"
_DEFAULTS_DIR: Final = ("data", "rbac")
_DEFAULTS_FILE: Final = re.compile(r"^default-clusterroles-(\d+)\.(\d+)\.yaml$")


class RbacError(K8sSecError, ValueError):
    """RBAC input that cannot be judged: a malformed query, unknown defaults, or (strict) a bad object."""


# --- who asks and what ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserInfo:
    """Who asks: the user name and groups the authenticator hands the authorizer (no implicit additions)."""

    name: str
    groups: tuple[str, ...] = ()


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def user(spec: str | UserInfo, groups: Iterable[str] = ()) -> UserInfo:
    """The user a request comes from, with the groups the authenticators would add.

    * ``system:serviceaccount:<ns>:<name>``: a service account token; groups ``system:serviceaccounts``,
      ``system:serviceaccounts:<ns>`` and ``system:authenticated``.
    * ``system:anonymous``: an anonymous request; group ``system:unauthenticated``.
    * ``group:<name>``: any member of group ``<name>`` (user name ``""``, which no User subject can
      name); ``system:authenticated`` is added unless the group is ``system:unauthenticated``.
    * any other name: an authenticated user; group ``system:authenticated``.

    ``groups`` adds more groups. A ``UserInfo`` is returned unchanged (exact groups, as a
    SubjectAccessReview states them: the review adds no implicit group).
    """
    if isinstance(spec, UserInfo):
        return spec
    if not isinstance(spec, str) or not spec:
        raise RbacError(f"a user must be a non-empty user name or a UserInfo, not {spec!r}")
    extra = (groups,) if isinstance(groups, str) else tuple(groups)
    if spec.startswith("group:"):
        group = spec[len("group:") :]
        if not group:
            raise RbacError("'group:' needs a group name, e.g. 'group:system:authenticated'")
        implicit = () if group == UNAUTHENTICATED or UNAUTHENTICATED in extra else (AUTHENTICATED,)
        return UserInfo("", _dedup((group, *extra, *implicit)))
    if spec == ANONYMOUS:
        return UserInfo(spec, _dedup((UNAUTHENTICATED, *extra)))
    if spec.startswith(SA_PREFIX):
        namespace, sep, name = spec[len(SA_PREFIX) :].partition(":")
        if not sep or not namespace or not name or ":" in name:
            raise RbacError(f"service account user {spec!r} is not system:serviceaccount:<namespace>:<name>")
        return UserInfo(spec, _dedup((SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED, *extra)))
    return UserInfo(spec, _dedup((*extra, AUTHENTICATED)))


def service_account(namespace: str, name: str) -> UserInfo:
    """The user of a service account's token, with its implicit groups."""
    return user(f"{SA_PREFIX}{namespace}:{name}")


@dataclass(frozen=True, slots=True)
class Request:
    """The attributes the RBAC authorizer sees (k8s.io/apiserver ``authorizer.Attributes``)."""

    verb: str
    resource: str = ""
    subresource: str = ""
    api_group: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource_request(self) -> bool:
        return not self.path

    def __str__(self) -> str:
        if not self.is_resource_request:
            return f"{self.verb} {self.path}"
        resource = self.resource + (f".{self.api_group}" if self.api_group else "")
        resource += f"/{self.subresource}" if self.subresource else ""
        text = f"{self.verb} {resource}"
        if self.name:
            text += f" {self.name!r}"
        return text + (f" in namespace {self.namespace}" if self.namespace else " cluster-wide")


def request(
    verb: str,
    resource: str = "",
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
    api_group: str = "",
    *,
    path: str | None = None,
) -> Request:
    """A ``Request`` from the helper arguments: ``pods/exec`` splits into resource and subresource."""
    if not isinstance(verb, str) or not verb:
        raise RbacError("a request needs a verb, e.g. 'get'")
    if path is not None:
        if not path:
            raise RbacError("a non-resource request needs a path, e.g. '/healthz'")
        if resource or namespace or name or subresource or api_group:
            raise RbacError(f"a non-resource request ({path}) takes no resource, namespace, name or api_group")
        return Request(verb, path=path)
    if not resource:
        raise RbacError(f"request {verb!r} names neither a resource nor a path")
    base, sep, sub = resource.partition("/")
    if sep:
        if subresource:
            raise RbacError(f"subresource given twice: {resource!r} and subresource={subresource!r}")
        if not base or not sub:
            raise RbacError(f"resource {resource!r} is not <resource>/<subresource>")
        resource, subresource = base, sub
    return Request(verb, resource, subresource or "", api_group, namespace or "", name or "")


# --- rules, roles, bindings ---------------------------------------------------------------------

_RULE_KEYS: Final = (
    ("verbs", "verbs"),
    ("apiGroups", "api_groups"),
    ("resources", "resources"),
    ("resourceNames", "resource_names"),
    ("nonResourceURLs", "non_resource_urls"),
)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Invalid(f"{where} must be a list of strings, not {value!r}")
    return tuple(value)


class _Invalid(ValueError):
    """An object the API server would reject (internal: becomes a problem or, strict, an RbacError;
    ``PolicyRule.from_raw`` callers catch it as the ValueError it is)."""


@dataclass(frozen=True, slots=True)
class PolicyRule(Mapping[str, Any]):
    """One RBAC rule. Attribute access (``rule.api_groups``) or camelCase mapping access (``rule["apiGroups"]``)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    # Precomputed for the hot path; not part of identity.
    _verbs: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    _groups: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    _resources: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    _url_prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        setter = object.__setattr__
        setter(self, "_verbs", frozenset(self.verbs))
        setter(self, "_groups", frozenset(self.api_groups))
        setter(self, "_resources", frozenset(self.resources))
        setter(self, "_names", frozenset(self.resource_names))
        # NonResourceURLMatches: "*" matches all; "x*" matches by prefix with every trailing "*" trimmed.
        setter(self, "_url_prefixes", tuple(url.rstrip("*") for url in self.non_resource_urls if url.endswith("*")))

    @classmethod
    def from_raw(cls, raw: object, where: str = "rule") -> PolicyRule:
        """A rule from its camelCase dict; a malformed one raises ValueError (the API server would reject it)."""
        if not isinstance(raw, Mapping):
            raise _Invalid(f"{where} must be a mapping, not {raw!r}")
        return cls(**{attr: _strings(raw.get(key), f"{where}.{key}") for key, attr in _RULE_KEYS})

    # Mapping view: the keys a rule sets, camelCase, values as lists (the object's own shape).
    def __getitem__(self, key: str) -> list[str]:
        for name, attr in _RULE_KEYS:
            if name == key:
                value: tuple[str, ...] = getattr(self, attr)
                if value or key == "verbs":
                    return list(value)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (key for key, attr in _RULE_KEYS if key == "verbs" or getattr(self, attr))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def to_dict(self) -> dict[str, list[str]]:
        return {key: self[key] for key in self}

    @property
    def is_resource_rule(self) -> bool:
        return not self.non_resource_urls

    def allows(self, req: Request) -> bool:
        """``RuleAllows``: verb, then group, resource (with subresource) and name, or the non-resource URL."""
        if "*" not in self._verbs and req.verb not in self._verbs:
            return False
        if req.path:
            urls = self.non_resource_urls
            if not urls:
                return False
            path = req.path
            if "*" in urls or path in urls:
                return True
            return any(path.startswith(prefix) for prefix in self._url_prefixes)
        groups = self._groups
        if "*" not in groups and req.api_group not in groups:
            return False
        resources = self._resources
        if "*" not in resources:
            sub = req.subresource
            if sub:
                if f"{req.resource}/{sub}" not in resources and f"*/{sub}" not in resources:
                    return False
            elif req.resource not in resources:
                return False
        return not self._names or req.name in self._names

    def __str__(self) -> str:
        parts = [f"{key}={value}" for key, value in self.to_dict().items()]
        return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True, slots=True)
class RbacSubject:
    """A binding subject. ``namespace`` of a ServiceAccount is the one the authorizer matches
    (a RoleBinding's own namespace when the subject leaves it empty)."""

    kind: str
    name: str
    namespace: str = ""

    @property
    def username(self) -> str | None:
        """The user name this subject matches (Users and ServiceAccounts), ``None`` for a Group."""
        if self.kind == "User":
            return self.name
        if self.kind == "ServiceAccount":
            return f"{SA_PREFIX}{self.namespace}:{self.name}"
        return None

    def __str__(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"


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


# --- label selectors (metav1.LabelSelectorAsSelector) ------------------------------------------


def _selector_matches(selector: object, labels: Mapping[str, str], where: str) -> bool:
    if selector is None:
        # A null entry in the list decodes to the zero LabelSelector, which selects everything.
        return True
    if not isinstance(selector, Mapping):
        raise _Invalid(f"{where} must be a label selector mapping")
    match_labels = as_mapping(selector.get("matchLabels"))
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    for i, expr in enumerate(as_list(selector.get("matchExpressions"))):
        at = f"{where}.matchExpressions[{i}]"
        if not isinstance(expr, Mapping) or not isinstance(expr.get("key"), str):
            raise _Invalid(f"{at} needs a key")
        key, operator = expr["key"], expr.get("operator")
        values = _strings(expr.get("values"), f"{at}.values")
        if operator in ("In", "NotIn"):
            if not values:
                raise _Invalid(f"{at}: operator {operator} needs values")
            present = key in labels and labels[key] in values
            if present != (operator == "In"):
                return False
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                raise _Invalid(f"{at}: operator {operator} takes no values")
            if (key in labels) != (operator == "Exists"):
                return False
        else:
            raise _Invalid(f"{at}: operator {operator!r} is not In, NotIn, Exists or DoesNotExist")
    return True


# --- defaults (bootstrap ClusterRoles shipped as data) ------------------------------------------


def _defaults_dir() -> Traversable:
    # Imported here: importlib.resources costs ~20 ms, and this module loads on every pytest run.
    from importlib import resources

    return resources.files(_DEFAULTS_PACKAGE).joinpath(_DEFAULTS_DIR[0]).joinpath(_DEFAULTS_DIR[1])


def default_versions() -> list[str]:
    """Kubernetes versions whose default ClusterRoles are shipped, oldest first."""
    directory = _defaults_dir()
    found: list[tuple[int, int]] = []
    if directory.is_dir():
        for entry in directory.iterdir():
            match = _DEFAULTS_FILE.match(entry.name)
            if match:
                found.append((int(match[1]), int(match[2])))
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def load_default_roles_text(text: str | bytes, source: str) -> tuple[K8sObject, ...]:
    """Objects of a defaults file: a YAML list, a ``kind: List``, or a stream of documents."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs = list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        raise RbacError(f"{source}: not YAML: {exc}") from None
    items: list[Any] = []
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, list):
            items.extend(doc)
        elif isinstance(doc, Mapping) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
            items.extend(as_list(doc.get("items")))
        else:
            items.append(doc)
    objects: list[K8sObject] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or item.get("kind") not in RBAC_KINDS:
            raise RbacError(f"{source}: item {i} is not an RBAC object: {str(item)[:80]}")
        # Dumps from a server list items without apiVersion/kind only inside typed lists; make them whole.
        raw = dict(item)
        raw.setdefault("apiVersion", RBAC_API_VERSION)
        objects.append(K8sObject(raw, Provenance(source, doc=i)))
    if not objects:
        raise RbacError(f"{source}: no ClusterRoles in the defaults file")
    return tuple(objects)


@functools.lru_cache(maxsize=8)
def default_roles(version: str = "latest") -> tuple[K8sObject, ...]:
    """The default (bootstrap) RBAC objects of a Kubernetes version (``"1.37"``, or ``"latest"``)."""
    versions = default_versions()
    if not versions:
        raise RbacError("no default ClusterRoles are shipped (pytest_k8ssec/data/rbac/ is empty or missing)")
    chosen = versions[-1] if version == "latest" else version.removeprefix("v")
    if chosen not in versions:
        raise RbacError(f"no default ClusterRoles for Kubernetes {version!r}; shipped: {', '.join(versions)}")
    name = f"default-clusterroles-{chosen}.yaml"
    data = _defaults_dir().joinpath(name).read_bytes()
    return load_default_roles_text(data, f"{_DEFAULTS_PACKAGE}/{'/'.join(_DEFAULTS_DIR)}/{name}")


@functools.lru_cache(maxsize=8)
def default_bindings(version: str = "latest") -> tuple[K8sObject, ...]:
    """The default (bootstrap) ClusterRoleBindings of a shipped version (reference data; ``()`` if not shipped).

    ``RbacModel`` never adds them: a manifest target binds subjects itself, and a live target lists
    its own. Helpers use them to tell the cluster's own bindings from widened or added ones.
    """
    versions = default_versions()
    chosen = (versions[-1] if versions else "") if version == "latest" else version.removeprefix("v")
    name = f"default-clusterrolebindings-{chosen}.yaml"
    path = _defaults_dir().joinpath(name)
    if not chosen or not path.is_file():
        return ()
    return load_default_roles_text(path.read_bytes(), f"{_DEFAULTS_PACKAGE}/{'/'.join(_DEFAULTS_DIR)}/{name}")


def workload_user(workload: K8sObject) -> UserInfo:
    """The service account a workload's pods run as: ``serviceAccountName``, else the deprecated
    ``serviceAccount``, else ``default``, in the workload's namespace (with the implicit groups)."""
    ref = pod_spec(workload)
    if ref is None:
        raise RbacError(f"{workload.display} ({workload.provenance}) is not a workload: it has no pod spec")
    name = ref.spec.get("serviceAccountName") or ref.spec.get("serviceAccount") or "default"
    if not isinstance(name, str):
        raise RbacError(
            f"{workload.display} ({workload.provenance}): serviceAccountName must be a string, not {name!r}"
        )
    return service_account(workload.namespace or "default", name)


# --- the model ----------------------------------------------------------------------------------

# One applicable (binding, subject) pair, with the role's rules resolved.
_Entry = tuple[RbacBinding, RbacSubject]
_Resolved = tuple[RbacBinding, RbacSubject, tuple[PolicyRule, ...]]


def _role_ref(kind: str, name: str, namespace: str) -> str:
    return f"ClusterRole/{name}" if kind == "ClusterRole" else f"Role/{namespace}/{name}"


def _applies(subject: RbacSubject, who: UserInfo) -> bool:
    """``appliesToUser`` (rule.go): User by name, Group by membership, ServiceAccount by its user name."""
    if subject.kind == "Group":
        return subject.name in who.groups
    return subject.username == who.name


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
    def from_objects(cls, objs: Iterable[K8sObject], *, defaults: str | None = None, strict: bool = False) -> RbacModel:
        """The model of the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings among ``objs``.

        ``defaults="1.37"`` (or ``"latest"``) adds that version's default ClusterRoles where ``objs``
        has no object of the same kind and name (manifest targets bind to them without listing them);
        ``None`` adds none (a live target lists them). ``strict=True`` raises ``RbacError`` for any
        object the API server would reject instead of listing it in ``problems``.
        """
        problems: list[str] = []
        given = [obj for obj in objs if obj.kind in RBAC_KINDS and obj.api_group == RBAC_GROUP]
        if defaults is not None:
            present = {(obj.kind, obj.namespace, obj.name) for obj in given}
            given.extend(d for d in default_roles(defaults) if (d.kind, d.namespace, d.name) not in present)

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
                    rules = tuple(_validated_rule(raw, namespaced, f"rules[{i}]") for i, raw in enumerate(raw_rules))
                    if namespaced:
                        ns = obj.namespace or ""
                        roles.append(RbacRole(_role_ref("Role", obj.name, ns), "Role", obj.name, ns, rules, False, obj))
                    else:
                        _validate_aggregation(obj)
                        if obj.name in cluster_roles:
                            raise _Invalid("a second ClusterRole of this name (the later one is ignored)")
                        cluster_roles[obj.name] = (obj, rules)
                else:
                    binding_objs.append(obj)
            except _Invalid as exc:
                problems.append(f"{obj.ref} ({obj.provenance}): {exc}; it grants nothing")

        roles.extend(_aggregate(cluster_roles))
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
            subject = next(s for s in binding.subjects if _applies(s, who))
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

    def grants(
        self,
        who: str | UserInfo,
        verb: str,
        resource: str = "",
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        api_group: str = "",
        *,
        path: str | None = None,
    ) -> list[Grant]:
        """Every (binding, role, rule) that allows the request; empty means denied."""
        info = user(who)
        req = request(verb, resource, namespace, name, subresource, api_group, path=path)
        found = [_masters_grant(req)] if PRIVILEGED_GROUP in info.groups else []
        found.extend(
            Grant(binding.ref, binding.role_ref, rule, subject)
            for (binding, subject, _), rule in self._visit(info, req)
            if rule.allows(req)
        )
        return found

    def can(
        self,
        who: str | UserInfo,
        verb: str,
        resource: str = "",
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        api_group: str = "",
        *,
        path: str | None = None,
    ) -> bool:
        """Whether ``who`` may make the request (``namespace=None``: a cluster-scoped or all-namespaces request)."""
        return self.authorize(user(who), request(verb, resource, namespace, name, subresource, api_group, path=path))

    def who_can(
        self,
        verb: str,
        resource: str = "",
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        api_group: str = "",
        *,
        path: str | None = None,
    ) -> list[Grant]:
        """Every binding subject allowed to make the request, one grant per (binding, subject, rule).

        Group ``system:masters`` comes first (the privileged-group authorizer); then bindings in
        model order. A RoleBinding counts only for a request in its own namespace.
        """
        req = request(verb, resource, namespace, name, subresource, api_group, path=path)
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


# --- object validation and aggregation -------------------------------------------------------


def _validated_rule(raw: object, namespaced: bool, where: str) -> PolicyRule:
    """``validatePolicyRule`` (pkg/apis/rbac/validation): a rule the API server would store."""
    rule = PolicyRule.from_raw(raw, where)
    if not rule.verbs:
        raise _Invalid(f"{where}: verbs must contain at least one value")
    if rule.non_resource_urls:
        if namespaced:
            raise _Invalid(f"{where}: namespaced rules cannot apply to non-resource URLs")
        if rule.api_groups or rule.resources or rule.resource_names:
            raise _Invalid(f"{where}: rules cannot apply to both regular resources and non-resource URLs")
        return rule
    if not rule.api_groups:
        raise _Invalid(f"{where}: resource rules must supply at least one api group")
    if not rule.resources:
        raise _Invalid(f"{where}: resource rules must supply at least one resource")
    return rule


def _selectors(obj: K8sObject) -> list[Any] | None:
    """The clusterRoleSelectors of an aggregated ClusterRole, ``None`` when it is not aggregated."""
    rule = obj.raw.get("aggregationRule")
    if rule is None:
        return None
    return as_list(as_mapping(rule).get("clusterRoleSelectors"))


def _validate_aggregation(obj: K8sObject) -> None:
    rule = obj.raw.get("aggregationRule")
    if rule is None:
        return
    if not isinstance(rule, Mapping):
        raise _Invalid("aggregationRule must be a mapping")
    selectors = rule.get("clusterRoleSelectors")
    if not isinstance(selectors, list) or not selectors:
        raise _Invalid("at least one clusterRoleSelector required if aggregationRule is non-nil")
    for i, selector in enumerate(selectors):
        # Evaluating against no labels runs every structural check of the selector.
        _selector_matches(selector, {}, f"aggregationRule.clusterRoleSelectors[{i}]")


def _aggregate(cluster_roles: Mapping[str, tuple[K8sObject, tuple[PolicyRule, ...]]]) -> list[RbacRole]:
    """ClusterRoles with aggregated rules as the clusterrole-aggregation controller writes them, to its fixed point."""
    rules = {name: written for name, (_, written) in cluster_roles.items()}
    aggregated = {name: sel for name, (obj, _) in cluster_roles.items() if (sel := _selectors(obj)) is not None}
    by_name = sorted(cluster_roles)
    labels = {name: {str(k): str(v) for k, v in cluster_roles[name][0].labels.items()} for name in by_name}
    selected = {
        name: [
            [other for other in by_name if other != name and _selector_matches(sel, labels[other], name)]
            for sel in selectors
        ]
        for name, selectors in aggregated.items()
    }
    # The controller re-syncs every aggregated role whenever any ClusterRole changes; sweeping in name
    # order until nothing changes reaches the state it settles in (one sweep unless roles nest).
    for _ in range(len(aggregated) + 2):
        changed = False
        for name in sorted(aggregated):
            union: dict[PolicyRule, None] = {}
            for others in selected[name]:
                for other in others:
                    union.update(dict.fromkeys(rules[other]))
            # The controller server-side-applies the union; an empty union applies no rules field,
            # so the rules another manager wrote stay (found by the live differential test).
            new = tuple(union) if union else cluster_roles[name][1]
            if new != rules[name]:
                rules[name] = new
                changed = True
        if not changed:
            break
    return [
        RbacRole(_role_ref("ClusterRole", name, ""), "ClusterRole", name, "", rules[name], name in aggregated, obj)
        for name, (obj, _) in cluster_roles.items()
    ]


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
    subjects = tuple(_subject(raw, namespaced, namespace, f"subjects[{i}]") for i, raw in enumerate(subjects_raw or ()))
    return RbacBinding(
        f"{obj.kind}/{namespace}/{obj.name}" if namespaced else f"{obj.kind}/{obj.name}",
        obj.kind,
        obj.name,
        namespace,
        _role_ref(str(kind), name, namespace),
        subjects,
        obj,
    )


def _subject(raw: object, namespaced: bool, binding_namespace: str, where: str) -> RbacSubject:
    """``validateRoleBindingSubject`` after ``SetDefaults_Subject``."""
    if not isinstance(raw, Mapping):
        raise _Invalid(f"{where} must be a mapping")
    kind, name = raw.get("kind"), raw.get("name")
    if not isinstance(name, str) or not name:
        raise _Invalid(f"{where}.name is required")
    group = raw.get("apiGroup") or ""
    namespace = raw.get("namespace") or ""
    if not isinstance(group, str) or not isinstance(namespace, str):
        raise _Invalid(f"{where}: apiGroup and namespace must be strings")
    if kind == "ServiceAccount":
        if group:
            raise _Invalid(f"{where}.apiGroup {group!r} is not supported for a ServiceAccount (only '')")
        if not namespace and not namespaced:
            raise _Invalid(f"{where}.namespace is required for a ServiceAccount of a ClusterRoleBinding")
        # appliesToUser: an unqualified service account of a RoleBinding is in the binding's namespace.
        return RbacSubject(kind, name, namespace or binding_namespace)
    if kind in ("User", "Group"):
        if (group or RBAC_GROUP) != RBAC_GROUP:
            raise _Invalid(f"{where}.apiGroup {group!r} is not {RBAC_GROUP}")
        return RbacSubject(kind, name)
    raise _Invalid(f"{where}.kind {kind!r} is not ServiceAccount, User or Group")
