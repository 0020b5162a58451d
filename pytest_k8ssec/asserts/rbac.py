"""RBAC questions and assertions over a target: the ``k8s_rbac`` view and the RBAC assertion helpers.

The answers come from the offline RBAC authorizer (pytest_k8ssec.model.rbac: the API server's RBAC
semantics over the target's Roles, ClusterRoles and bindings), so the same test runs on manifests
and on live clusters. On a live target, ``source="cluster"`` asks the API server itself with a
SubjectAccessReview (authorization.k8s.io/v1), i.e. every authorizer the server runs (Node, RBAC,
webhooks), not only RBAC. Risky permissions are judged against the catalog in
pytest_k8ssec.model.rbac.risks.

Subjects are written as the authenticator names them: ``"system:serviceaccount:<ns>:<name>"``,
``"group:<name>"``, ``"system:anonymous"``, or a user name; a ``UserInfo`` (exact groups), an
``RbacSubject`` (from ``who_can``), or a workload / ServiceAccount object (its service account) work
too. A string that looks like another notation (``ServiceAccount/ns/x``, a group name given as a
user) is refused rather than silently matching nobody.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, Union

from pytest_k8ssec._deprecation import keyword_only, warn
from pytest_k8ssec.asserts._failure import _check, _conclude, _fail, _record_pass
from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.checks._check import Check, Violation
from pytest_k8ssec.engine import Finding
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.rbac import (
    ANONYMOUS,
    AUTHENTICATED,
    CATALOG,
    KUBEADM_CLUSTER_INFO,
    PRIVILEGED_GROUP,
    RISKS,
    UNAUTHENTICATED,
    Grant,
    Permission,
    RbacBinding,
    RbacError,
    RbacModel,
    RbacSubject,
    Request,
    SubjectHit,
    UserInfo,
    describe,
    is_bootstrap,
    request,
    service_account,
    subject_risks,
    user,
    workload_user,
)
from pytest_k8ssec.model.workloads import is_workload
from pytest_k8ssec.sources.default_roles import default_roles, is_default_binding, is_default_rule

if TYPE_CHECKING:
    from pytest_k8ssec.sources.cluster import ClusterSource

Subject = Union[str, UserInfo, RbacSubject, K8sObject]
Source = Literal["model", "cluster"]
Allow = Union[Mapping[Any, str | Iterable[str]], Iterable[tuple[Any, str]], None]

# Groups the authenticators assign; as a user name they would match no binding, silently.
_GROUP_NAMES: Final = frozenset(
    {AUTHENTICATED, UNAUTHENTICATED, PRIVILEGED_GROUP, "system:nodes", "system:bootstrappers", "system:monitoring"}
)
_OTHER_NOTATION: Final = re.compile(r"^(serviceaccounts?|sa|user|users|group|groups)[/:]", re.IGNORECASE)

# The helpers' checks are registry records (docs/checks.md); each helper reports under its own.
ACCESS_CHECK: Final = _check("rbac-access-unexpected")
CLUSTER_ADMIN_CHECK: Final = _check("rbac-cluster-admin-subject")


# --- subjects -----------------------------------------------------------------------------------


def to_user(who: Subject | Mapping[str, Any]) -> UserInfo:
    """The user a subject spec stands for (see the module docstring); bad specs raise ``RbacError``."""
    if isinstance(who, UserInfo):
        return who
    if isinstance(who, RbacSubject):
        if who.kind == "ServiceAccount":
            return service_account(who.namespace, who.name)
        if who.kind == "Group":
            return user(f"group:{who.name}")
        return user(who.name)
    if isinstance(who, Mapping) and not isinstance(who, K8sObject):
        who = K8sObject(who, Provenance("<dict>"))
    if isinstance(who, K8sObject):
        if who.kind == "ServiceAccount":
            return service_account(who.namespace or "default", who.name)
        if is_workload(who):
            return workload_user(who)
        raise RbacError(f"{who.display} is neither a workload nor a ServiceAccount: which subject does it stand for?")
    if not isinstance(who, str) or not who:
        raise RbacError(f"a subject must be a non-empty string, UserInfo, RbacSubject or workload, not {who!r}")
    if _OTHER_NOTATION.match(who) and not who.startswith("group:"):
        raise RbacError(
            f"subject {who!r}: write a service account as 'system:serviceaccount:<namespace>:<name>', a group as "
            "'group:<name>', a user by its user name"
        )
    if who in _GROUP_NAMES or who.startswith(("system:serviceaccounts", "system:bootstrappers:")):
        raise RbacError(f"{who!r} is a group, not a user; write 'group:{who}'")
    return user(who)


def _subject_text(info: UserInfo) -> str:
    if not info.name:
        return f"group {info.groups[0]}"
    if info.name.startswith("system:serviceaccount:"):
        namespace, _, name = info.name.removeprefix("system:serviceaccount:").partition(":")
        return f"ServiceAccount {namespace}/{name}"
    return f"user {info.name}"


# --- the view -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessReview:
    """The API server's answer to a SubjectAccessReview."""

    allowed: bool
    denied: bool
    reason: str
    evaluation_error: str


class RbacView:
    """A target's RBAC, built once: ``can``, ``who_can``, ``permissions``, ``workload_permissions``.

    ``source="cluster"`` (live targets) asks the API server instead of the offline model.
    """

    def __init__(
        self,
        model: RbacModel,
        target: str = "manifests",
        cluster: ClusterSource | None = None,
        namespaces: Sequence[str] = (),
        excluded_namespaces: Sequence[str] = (),
    ) -> None:
        self.model = model
        self.target = target
        self.cluster = cluster
        # A live target listed with --k8s-namespace / --k8s-exclude-namespace saw only part of the
        # RoleBindings: questions about the other namespaces have no offline answer.
        self._namespaces = frozenset(namespaces)
        self._excluded = frozenset(excluded_namespaces)

    @property
    def live(self) -> bool:
        return self.cluster is not None

    @property
    def problems(self) -> tuple[str, ...]:
        """RBAC objects the API server would reject or cannot resolve (they grant nothing)."""
        return self.model.problems

    def subject(self, who: Subject) -> UserInfo:
        """The user (name and groups) a subject spec stands for."""
        return to_user(who)

    def workload_subject(self, workload: K8sObject) -> UserInfo:
        """The service account a workload's pods run as (with its implicit groups)."""
        return workload_user(workload)

    @keyword_only("namespace", "name", "subresource", "group", renamed={"api_group": "group"})
    def can(
        self,
        who: Subject,
        verb: str,
        resource: str = "",
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        group: str = "",
        path: str | None = None,
        source: Source = "model",
    ) -> bool:
        """Whether ``who`` may make the request (offline; ``source="cluster"``: the API server's answer).

        The request is spelled the same everywhere (``assert_can``, ``who_can``, ``K8sCluster.can_i``):
        ``verb`` and ``resource`` by position (``"pods/exec"`` names a subresource), then by keyword
        ``namespace`` (``None``: cluster-wide or across all namespaces), ``name``, ``subresource`` and
        ``group`` (the API group, ``""`` for the core group: SubjectAccessReview's ``group``);
        ``path`` asks about a non-resource URL (``"/healthz"``) instead of a resource.
        """
        info = to_user(who)
        req = request(verb, resource, namespace, name, subresource, group, path=path)
        if _source(source) == "cluster":
            return self.review(info, req).allowed
        self._covered(req.namespace)
        return self.model.authorize(info, req)

    @keyword_only("namespace", "name", "subresource", "group", renamed={"api_group": "group"})
    def grants(
        self,
        who: Subject,
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
        self._covered(namespace or "")
        return self.model.grants(
            to_user(who),
            verb,
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            group=group,
            path=path,
        )

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
        """Every binding subject allowed to make the request, with the binding, role and rule that allow it."""
        self._covered(namespace or "")
        return self.model.who_can(
            verb, resource, namespace=namespace, name=name, subresource=subresource, group=group, path=path
        )

    def permissions(self, who: Subject) -> list[Permission]:
        """Every rule ``who`` holds: cluster-wide ones (``namespace=None``), then per namespace."""
        return self.model.permissions(to_user(who))

    def workload_permissions(self, workload: K8sObject) -> list[Permission]:
        """Every rule the workload's service account holds (``serviceAccountName``, else
        ``serviceAccount``, else ``default``, in the workload's namespace)."""
        return self.model.workload_permissions(workload)

    def review(self, who: Subject, req: Request) -> AccessReview:
        """Ask the API server (SubjectAccessReview); only on a live target."""
        if self.cluster is None:
            raise RbacError(
                f"source='cluster' asks the API server, but target {self.target!r} is not a live cluster; "
                "use the default source='model' (or run against a cluster with --k8s-context)"
            )
        info = to_user(who)
        attrs: dict[str, str]
        if req.path:
            attrs = {"path": req.path, "verb": req.verb}
        else:
            attrs = {
                "verb": req.verb,
                "group": req.api_group,
                "resource": req.resource,
                "subresource": req.subresource,
                "namespace": req.namespace,
                "name": req.name,
            }
        status = self.cluster.subject_access_review(info.name, info.groups, attrs)
        return AccessReview(
            bool(status.get("allowed")),
            bool(status.get("denied")),
            str(status.get("reason") or ""),
            str(status.get("evaluationError") or ""),
        )

    def _covered(self, namespace: str) -> None:
        if not namespace:
            return
        if (self._namespaces and namespace not in self._namespaces) or namespace in self._excluded:
            raise RbacError(
                f"target {self.target!r} was listed without namespace {namespace!r} (--k8s-namespace / "
                "--k8s-exclude-namespace), so its RoleBindings are unknown; ask with source='cluster' or list it"
            )

    def __repr__(self) -> str:
        return f"<RbacView {self.target}: {len(self.model.roles)} roles, {len(self.model.bindings)} bindings>"


def _source(source: str) -> Source:
    if source not in ("model", "cluster"):
        raise RbacError(
            f"source must be 'model' (the offline authorizer) or 'cluster' (SubjectAccessReview), not {source!r}"
        )
    return "cluster" if source == "cluster" else "model"


def _model(rbac: RbacView | RbacModel) -> RbacModel:
    if isinstance(rbac, RbacView):
        return rbac.model
    if isinstance(rbac, RbacModel):
        return rbac
    raise TypeError(f"expected k8s_rbac (an RbacView) or an RbacModel, got {type(rbac).__name__}")


def _model_of(rbac_or_objs: RbacView | RbacModel | Iterable[K8sObject], what: str) -> RbacModel:
    if isinstance(rbac_or_objs, (RbacView, RbacModel)):
        return _model(rbac_or_objs)
    # Bindings in manifests refer to the default ClusterRoles without listing them.
    return RbacModel.from_objects(_objects(rbac_or_objs, what), defaults=default_roles("latest"))


# --- provenance and lines -------------------------------------------------------------------------


def _where(model: RbacModel, binding_ref: str, role_ref: str) -> str:
    binding = model.binding(binding_ref)
    role = model.role(role_ref) if role_ref else None
    parts = []
    if binding is not None and binding.obj is not None:
        parts.append(f"binding {binding.obj.provenance}")
    if role is not None and role.obj is not None:
        parts.append(f"role {role.obj.provenance}")
    return f" ({'; '.join(parts)})" if parts else ""


def _grant_line(model: RbacModel, grant: Grant) -> str:
    if not grant.role:
        return f"{grant.subject}: group {PRIVILEGED_GROUP} is allowed everything (privileged-group authorizer)"
    return f"{grant.binding} -> {grant.role} -> rule {grant.rule} (subject {grant.subject}){_where(model, grant.binding, grant.role)}"


def _finding(
    check: Check, model: RbacModel, binding_ref: str, subject: RbacSubject | None, message: str
) -> Finding | None:
    binding = model.binding(binding_ref)
    if binding is None or binding.obj is None:
        return None
    path = "roleRef"
    if subject is not None and subject in binding.subjects:
        path = f"subjects[{binding.subjects.index(subject)}]"
    return Finding(check, binding.obj, Violation(path, message))


# --- access assertions ----------------------------------------------------------------------------


@keyword_only("namespace", "name", "subresource", "group", renamed={"api_group": "group"})
def assert_can(
    rbac: RbacView | RbacModel,
    subject: Subject,
    verb: str,
    resource: str = "",
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
    group: str = "",
    path: str | None = None,
    source: Source = "model",
) -> None:
    """Assert ``subject`` may make the request (``source="cluster"``: as the API server decides it).

    The request is spelled as in ``RbacView.can``: ``verb``, ``resource``, then ``namespace=``,
    ``name=``, ``subresource=``, ``group=`` (or ``path=``).

    Raises:
        SecurityAssertionError: the request is denied.
        RbacError: a malformed subject or request, or ``source="cluster"`` on a manifest target.
    """
    __tracebackhide__ = True
    info = to_user(subject)
    req = request(verb, resource, namespace, name, subresource, group, path=path)
    who = _subject_text(info)
    if _source(source) == "cluster":
        review = _live(rbac).review(info, req)
        if not review.allowed:
            why = review.reason or review.evaluation_error or "no authorizer allowed it"
            return _fail(f"rbac: {who} cannot {req}: the API server denies it ({why})", ACCESS_CHECK, [], [], 1)
        _record_pass("rbac-access", ACCESS_CHECK)
        return
    model = _model(rbac)
    if isinstance(rbac, RbacView):
        rbac._covered(req.namespace)
    if not model.authorize(info, req):
        held = model.permissions(info)
        bindings = sorted({perm.binding for perm in held})
        detail = (
            f"  {who} holds {len(held)} rule(s) through {len(bindings)} binding(s): {', '.join(bindings[:10])}"
            if held
            else f"  no binding names {who} or one of its groups ({', '.join(info.groups) or 'none'})"
        )
        return _fail(f"rbac: {who} cannot {req}: no RBAC rule allows it", ACCESS_CHECK, [detail], [], 1)
    _record_pass("rbac-access", ACCESS_CHECK, 1)


@keyword_only("namespace", "name", "subresource", "group", renamed={"api_group": "group"})
def assert_cannot(
    rbac: RbacView | RbacModel,
    subject: Subject,
    verb: str,
    resource: str = "",
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
    group: str = "",
    path: str | None = None,
    source: Source = "model",
) -> None:
    """Assert ``subject`` may not make the request (spelled as in ``RbacView.can``); a failure names
    every binding, role and rule that allows it, with the files and lines they come from.

    Raises:
        SecurityAssertionError: the request is allowed.
        RbacError: a malformed subject or request, or ``source="cluster"`` on a manifest target.
    """
    __tracebackhide__ = True
    info = to_user(subject)
    req = request(verb, resource, namespace, name, subresource, group, path=path)
    who = _subject_text(info)
    if _source(source) == "cluster":
        review = _live(rbac).review(info, req)
        if review.allowed:
            return _fail(
                f"rbac: {who} can {req}: the API server allows it ({review.reason or 'no reason given'})",
                ACCESS_CHECK,
                [],
                [],
                1,
            )
        _record_pass("rbac-access", ACCESS_CHECK)
        return
    model = _model(rbac)
    if isinstance(rbac, RbacView):
        rbac._covered(req.namespace)
    grants = model.grants_for(info, req)
    if grants:
        message = f"{who} can {req}"
        findings = [
            f for g in grants if (f := _finding(ACCESS_CHECK, model, g.binding, g.subject, message)) is not None
        ]
        noun = "grant" if len(grants) == 1 else "grants"
        return _fail(
            f"rbac: {who} can {req}: {len(grants)} {noun}",
            ACCESS_CHECK,
            [f"  - {_grant_line(model, g)}" for g in grants],
            findings,
            1,
        )
    _record_pass("rbac-access", ACCESS_CHECK, 1)


def _live(rbac: RbacView | RbacModel) -> RbacView:
    if not isinstance(rbac, RbacView) or rbac.cluster is None:
        target = rbac.target if isinstance(rbac, RbacView) else "an RbacModel"
        raise RbacError(
            f"source='cluster' asks the API server, but {target!r} is not a live target; use source='model' "
            "(the default) or run against a cluster with --k8s-context"
        )
    return rbac


# --- whole-target assertions ----------------------------------------------------------------------


def assert_not_cluster_admin(rbac: RbacView | RbacModel, subject: Subject) -> None:
    """Assert ``subject`` does not hold ``*`` on ``*`` in every API group cluster-wide, through any
    binding (cluster-admin, or any role spelling the same wildcard, or group system:masters)."""
    __tracebackhide__ = True
    model = _model(rbac)
    info = to_user(subject)
    who = _subject_text(info)
    grants = model.grants(info, "*", "*", group="*")
    if grants:
        message = f"{who} holds every verb on every resource cluster-wide"
        findings = [
            f for g in grants if (f := _finding(CLUSTER_ADMIN_CHECK, model, g.binding, g.subject, message)) is not None
        ]
        return _fail(
            f"rbac: {who} is cluster-admin ('*' on '*' in every API group, cluster-wide) through {len(grants)} grant(s)",
            CLUSTER_ADMIN_CHECK,
            [f"  - {_grant_line(model, g)}" for g in grants],
            findings,
            1,
        )
    _record_pass("rbac-cluster-admin", CLUSTER_ADMIN_CHECK, 1)


def assert_no_wildcard_rules(rbac_or_objs: RbacView | RbacModel | Iterable[K8sObject]) -> None:
    """Assert no Role or ClusterRole rule uses ``*`` in verbs, resources, apiGroups or nonResourceURLs
    (check ``rbac-wildcard``: default bootstrap rules and aggregated roles are not judged)."""
    __tracebackhide__ = True
    _run_role_check("rbac-wildcard", rbac_or_objs)


def _run_role_check(check_id: str, rbac_or_objs: RbacView | RbacModel | Iterable[K8sObject]) -> None:
    __tracebackhide__ = True
    from pytest_k8ssec.engine import evaluate

    check = builtin_registry().get(check_id)
    if isinstance(rbac_or_objs, (RbacView, RbacModel)):
        objects = [role.obj for role in _model(rbac_or_objs).roles if role.obj is not None]
    else:
        objects = [obj for obj in _objects(rbac_or_objs, check_id) if check.applies_to(obj)]
    if not objects:
        raise SecurityAssertionError(f"{check_id}: no Role or ClusterRole given; nothing was checked")
    _conclude(check_id, [check], objects, evaluate([check], objects))


def _objects(objs: Iterable[K8sObject], what: str) -> list[K8sObject]:
    objects = list(objs)
    if not objects:
        raise SecurityAssertionError(f"{what}: no objects given; nothing was checked (an empty selection never passes)")
    for obj in objects:
        if not isinstance(obj, K8sObject):
            raise TypeError(f"expected K8sObjects, k8s_rbac or an RbacModel, got {type(obj).__name__}")
    return objects


def _anonymous(subject: RbacSubject) -> bool:
    return (subject.kind, subject.name) in (("User", ANONYMOUS), ("Group", UNAUTHENTICATED))


def _default_anonymous(model: RbacModel, binding: RbacBinding) -> bool:
    """A binding the cluster ships for anonymous requests, with its role not widened."""
    role = model.role(binding.role_ref)
    if role is None:
        return False
    if is_default_binding(binding):
        return all(is_default_rule(role.kind, role.name, rule) for rule in role.rules)
    binding_ref, role_ref, rules = KUBEADM_CLUSTER_INFO
    return binding.ref == binding_ref and binding.role_ref == role_ref and set(role.rules) <= rules


def _allow_defaults_renamed(func: Callable[..., None]) -> Callable[..., None]:
    """``allow_defaults`` (a switch, not a list of exemptions) became ``include_default_bindings``,
    its opposite; the old keyword and the old positional use keep working one release."""

    @functools.wraps(func)
    def wrapper(rbac_or_objs: Any, *args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True
        where = func.__name__
        if args:
            if len(args) > 1 or "allow_defaults" in kwargs:
                raise TypeError(f"{where}() takes 1 positional argument but {1 + len(args)} were given")
            kwargs["allow_defaults"] = args[0]
        if "allow_defaults" in kwargs:
            if "include_default_bindings" in kwargs:
                raise TypeError(
                    f"{where}() got both allow_defaults= (deprecated) and include_default_bindings=; "
                    "pass only include_default_bindings="
                )
            allow = kwargs.pop("allow_defaults")
            warn(
                f"{where}(allow_defaults=...)",
                f"{where}(include_default_bindings=...), its opposite "
                f"(allow_defaults={allow!r} is include_default_bindings={not allow!r})",
            )
            kwargs["include_default_bindings"] = not allow
        func(rbac_or_objs, **kwargs)

    return wrapper


@_allow_defaults_renamed
def assert_no_anonymous_access(
    rbac_or_objs: RbacView | RbacModel | Iterable[K8sObject], *, include_default_bindings: bool = False
) -> None:
    """Assert no binding grants anything to user ``system:anonymous`` or group ``system:unauthenticated``.

    The cluster's own anonymous bindings pass while their roles keep the default rules: the API
    server's ``system:public-info-viewer`` (GET /healthz, /livez, /readyz, /version) and kubeadm's
    kube-public ``kubeadm:bootstrap-signer-clusterinfo`` (the cluster-info ConfigMap ``kubeadm
    join`` reads); ``include_default_bindings=True`` reports them too. A widened one fails, as does
    a binding to a role that does not exist yet (it grants the moment the role is created).
    """
    __tracebackhide__ = True
    title = "rbac-anonymous-binding"
    model = _model_of(rbac_or_objs, title)
    check = builtin_registry().get(title)
    if not model.bindings:
        raise SecurityAssertionError(
            f"{title}: no RoleBinding or ClusterRoleBinding in the target; nothing was checked"
        )
    lines: list[str] = []
    findings: list[Finding] = []
    for binding in model.bindings:
        anonymous = [s for s in binding.subjects if _anonymous(s)]
        if not anonymous or (not include_default_bindings and _default_anonymous(model, binding)):
            continue
        role = model.role(binding.role_ref)
        grants = (
            ", ".join(str(rule) for rule in role.rules) if role is not None else "nothing yet (the role does not exist)"
        )
        for subject in anonymous:
            message = f"{subject} gets {binding.role_ref}: anyone who can reach the API server, without credentials, may {grants}"
            lines.append(f"  - {binding.ref}{_where(model, binding.ref, binding.role_ref)}: {message}")
            finding = _finding(check, model, binding.ref, subject, message)
            if finding is not None:
                findings.append(finding)
    if lines:
        return _fail(f"{title}: {len(lines)} anonymous grant(s)", check, lines, findings, len(model.bindings))
    _record_pass(title, check, len(model.bindings))


def _allowed(allow: Allow) -> dict[UserInfo, set[str]]:
    pairs: list[tuple[Any, str]] = []
    if allow is None:
        return {}
    if isinstance(allow, Mapping):
        for key, ids in allow.items():
            pairs.extend((key, i) for i in ([ids] if isinstance(ids, str) else list(ids)))
    else:
        for item in allow:
            if not isinstance(item, tuple) or len(item) != 2:
                raise RbacError(f"allow entries are (subject, risk id) pairs, not {item!r}")
            pairs.append(item)
    found: dict[UserInfo, set[str]] = {}
    for key, risk_id in pairs:
        if risk_id != "*" and risk_id not in RISKS:
            raise RbacError(f"allow: unknown risk id {risk_id!r}; the catalog has: *, {', '.join(RISKS)}")
        found.setdefault(to_user(key), set()).add(risk_id)
    return found


def _bound_subjects(model: RbacModel) -> list[RbacSubject]:
    """Subjects of every binding except the cluster's own bootstrap bindings."""
    return list(dict.fromkeys(s for b in model.bindings if not is_default_binding(b) for s in b.subjects))


def _own(model: RbacModel, perm: Permission) -> bool:
    """A permission from a default binding through a default rule (the control plane's design)."""
    binding = model.binding(perm.binding)
    if binding is None or not is_default_binding(binding):
        return False
    role = model.role(perm.role)
    if role is None:
        return False
    return is_default_rule(role.kind, role.name, perm.rule) or (role.kind == "Role" and is_bootstrap(role.obj))


@keyword_only("subjects", "allow")
def assert_no_risky_permissions(
    rbac: RbacView | RbacModel,
    *,
    subjects: Iterable[Subject] | None = None,
    allow: Allow = None,
) -> None:
    """Assert no subject holds a permission of the risk catalog (``pytest_k8ssec.model.rbac.risks.CATALOG``).

    Args:
        rbac: ``k8s_rbac`` (or an ``RbacModel``).
        subjects: the subjects to judge, each with everything it holds (its groups' bindings too).
            ``None``: every subject named by a binding, judged on what that binding names it for;
            the cluster's own bootstrap bindings (labelled kubernetes.io/bootstrapping=rbac-defaults,
            not widened: system:masters, system:kube-controller-manager, the controllers' service
            accounts in kube-system, ...) are the control plane's design and are left out.
        allow: accepted findings: ``{subject: ["read-secrets", ...]}`` or ``[(subject, risk id), ...]``;
            ``"*"`` accepts every entry for that subject.

    Raises:
        SecurityAssertionError: a risky permission, or no subject to judge.
        RbacError: an unknown risk id or malformed subject.
    """
    __tracebackhide__ = True
    title = "rbac-risky-rules"
    model = _model(rbac)
    check = builtin_registry().get(title)
    accepted = _allowed(allow)
    judged: list[tuple[UserInfo, RbacSubject | None]]
    if subjects is None:
        judged = [(to_user(s), s) for s in _bound_subjects(model)]
        if not judged:
            raise SecurityAssertionError(
                f"{title}: no binding names a subject (besides the cluster's bootstrap bindings); nothing was checked"
            )
    else:
        judged = [(to_user(s), None) for s in subjects]
        if not judged:
            raise SecurityAssertionError(
                f"{title}: no subjects given; nothing was checked (an empty selection never passes)"
            )
    lines: list[str] = []
    findings: list[Finding] = []
    for info, direct in judged:
        perms = model.permissions(info)
        if direct is not None:
            perms = [p for p in perms if p.subject == direct and not _own(model, p)]
        allowed = accepted.get(info, set())
        groups: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], list[SubjectHit]] = {}
        for hit in subject_risks(perms):
            if hit.risk.id in allowed or "*" in allowed:
                continue
            key = (hit.risk.id, hit.scope, tuple((perm.binding, perm.role) for perm, _ in hit.grants))
            groups.setdefault(key, []).append(hit)
        for same in groups.values():
            line, message = _risk_line(model, info, same)
            lines.append(line)
            for hit in same:
                for perm, _ in hit.grants:
                    finding = _finding(check, model, perm.binding, perm.subject, message)
                    if finding is not None:
                        findings.append(finding)
    if lines:
        return _fail(
            f"{title}: {len(lines)} risky permission(s) held by {len(judged)} subject(s) judged",
            check,
            lines,
            findings,
            len(judged),
        )
    _record_pass(title, check, len(judged))


def _risk_line(model: RbacModel, info: UserInfo, hits: Sequence[SubjectHit]) -> tuple[str, str]:
    """One failure line for hits of one entry, scope and binding path: what is granted, how, why."""
    first = hits[0]
    scope = "cluster-wide" if first.scope is None else f"in namespace {first.scope}"
    granted = [describe(req) for hit in hits for _, req in hit.grants if req is not None]
    perms = "; ".join(dict.fromkeys(granted)) or f"bound to {first.risk.bound_role}"
    paths = dict.fromkeys((perm.binding, perm.role) for perm, _ in first.grants)
    rules = dict.fromkeys(str(perm.rule) for hit in hits for perm, _ in hit.grants)
    via = "; ".join(
        f"{binding} -> {role or '(privileged group)'}{_where(model, binding, role)}" for binding, role in paths
    )
    message = f"{first.risk.id}: {perms} {scope}: {first.risk.why}"
    line = (
        f"  - {_subject_text(info)}: {first.risk.id} {scope}: {perms}\n"
        f"      via {via}, rule(s) {'; '.join(rules)}\n"
        f"      why: {first.risk.why}"
    )
    return line, message


__all__ = (
    "ACCESS_CHECK",
    "CATALOG",
    "AccessReview",
    "RbacView",
    "assert_can",
    "assert_cannot",
    "assert_no_anonymous_access",
    "assert_no_risky_permissions",
    "assert_no_wildcard_rules",
    "assert_not_cluster_admin",
    "to_user",
)
