"""Requests and rules: what the RBAC authorizer is asked, and how one rule answers it.

The rule matchers of pkg/apis/rbac/v1/evaluation_helpers.go (``RuleAllows``: verb, API group,
resource with subresource, resource name, non-resource URL) and ``validatePolicyRule``
(pkg/apis/rbac/validation), which decides which rules the API server would store at all. Matching
is case-sensitive, as upstream compares plain strings; ``pods/*`` is not a wildcard (only ``*`` and
``*/<subresource>`` are), and a rule with resourceNames never matches a request without a name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pytest_k8ssec.errors import K8sSecError

RBAC_GROUP: Final = "rbac.authorization.k8s.io"
RBAC_API_VERSION: Final = f"{RBAC_GROUP}/v1"
PRIVILEGED_GROUP: Final = "system:masters"
RBAC_KINDS: Final = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


class RbacError(K8sSecError, ValueError):
    """RBAC input that cannot be judged: a malformed query, unknown defaults, or (strict) a bad object."""


class _Invalid(RbacError):
    """An object the API server would reject (internal: becomes a problem or, strict, an RbacError;
    ``PolicyRule.from_raw`` callers catch it as the ValueError it is)."""


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


# --- rules ---------------------------------------------------------------------------------------

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


def validated_rule(raw: object, namespaced: bool, where: str) -> PolicyRule:
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
