"""Who asks: users and groups as the authenticators hand them over, and binding subjects.

``user`` adds the groups kube-apiserver's authenticators add (service account tokens, anonymous
requests, authenticated users); ``RbacSubject`` is a binding subject after ``SetDefaults_Subject``
and ``validateRoleBindingSubject``; ``applies`` is ``appliesToUser`` of the rule resolver
(pkg/registry/rbac/validation/rule.go).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.rbac.rules import RBAC_GROUP, RbacError, _Invalid
from pytest_k8ssec.model.workloads import pod_spec

AUTHENTICATED: Final = "system:authenticated"
UNAUTHENTICATED: Final = "system:unauthenticated"
ANONYMOUS: Final = "system:anonymous"
SERVICE_ACCOUNTS: Final = "system:serviceaccounts"
SA_PREFIX: Final = "system:serviceaccount:"

# --- who asks -----------------------------------------------------------------------------------


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


def applies(subject: RbacSubject, who: UserInfo) -> bool:
    """``appliesToUser`` (rule.go): User by name, Group by membership, ServiceAccount by its user name."""
    if subject.kind == "Group":
        return subject.name in who.groups
    return subject.username == who.name


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


def binding_subject(raw: object, namespaced: bool, binding_namespace: str, where: str) -> RbacSubject:
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
