"""The catalog of risky RBAC permissions: what grants a path to more privilege, and why.

Sources: the Kubernetes documentation "Role Based Access Control Good Practices" (section
"Kubernetes RBAC - privilege escalation risks": listing secrets, workload creation, persistent
volume creation, nodes/proxy, escalate, bind, impersonate, CSRs and certificate issuing, token
request, admission webhooks), CVE-2020-8554 (writing ``services/status`` sets a LoadBalancer's
ingress IPs, so the cluster's proxies send traffic for those addresses to the Service), CIS
Kubernetes Benchmark 5.1.1-5.1.13 (cluster-admin, secrets, wildcards, pod creation,
bind/impersonate/escalate, persistent volumes, nodes/proxy, CSR approval, webhook configurations,
serviceaccounts/token) and the RBAC authorizer's own semantics (pytest_k8ssec.model.rbac.rules) for deciding whether a rule
grants an entry.

An entry is triggered by requests, not by spellings: a rule grants an entry when the RBAC authorizer
would allow one of the entry's requests under it (``PolicyRule.allows``), so ``*`` verbs,
resources and groups, ``*/<subresource>`` and resourceNames count exactly as the API server counts
them. Choices where that needs one:

* A rule restricted by resourceNames grants a request about an object (get, update, a
  subresource, escalate/bind/impersonate/approve of a named thing) for the names it lists, so it
  still triggers the entry (reading one named Secret is reading a Secret); it never grants a list,
  watch or a create of a collection, as upstream decides.
* ``wildcard-all`` is probed with the request verb ``*`` on resource ``*`` in group ``*``, which
  only a rule spelling ``*`` in all three allows.
* Entries about cluster-scoped resources (nodes, persistentvolumes, CSRs, signers, webhook
  configurations, clusterroles, users and groups) cannot be granted by a Role or RoleBinding: the
  authorizer applies those only to requests in their namespace.
* An entry with several requirements (CSR approval needs both the approval subresource and the
  signer's ``approve``) is triggered only when all are granted in one scope.
* For the same rule, ``cluster-admin-service-account`` implies ``wildcard-all``, which implies
  every other entry: only the strongest one is reported (and allowing it allows the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeVar

from pytest_k8ssec.model.rbac.authorizer import Permission
from pytest_k8ssec.model.rbac.rules import RBAC_GROUP, PolicyRule, RbacError, Request
from pytest_k8ssec.model.rbac.subjects import RbacSubject

# Requests that carry an object's name (so resourceNames can allow them); create of a collection,
# list, watch and deletecollection carry none.
NAMED_VERBS: Final = frozenset(
    {"get", "update", "patch", "delete", "escalate", "bind", "impersonate", "approve", "sign"}
)
CLUSTER_ADMIN: Final = "ClusterRole/cluster-admin"


@dataclass(frozen=True, slots=True)
class Access:
    """A set of requests: each verb on each resource (``pods/exec`` = a subresource) in each API group."""

    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    api_groups: tuple[str, ...] = ("",)
    # The resources live in namespaces, so a RoleBinding can grant them; cluster-scoped ones it cannot.
    namespaced: bool = True

    def requests(self) -> Iterator[Request]:
        for group in self.api_groups:
            for resource in self.resources:
                base, _, sub = resource.partition("/")
                for verb in self.verbs:
                    yield Request(verb, base, sub, group)

    def __str__(self) -> str:
        groups = ", ".join(f'"{g}"' for g in self.api_groups)
        return f"{'/'.join(self.verbs)} {', '.join(self.resources)} (apiGroups {groups})"


@dataclass(frozen=True, slots=True)
class Risk:
    """One catalog entry. ``requires``: every group must be granted, each by any one of its accesses."""

    id: str
    title: str
    why: str
    requires: tuple[tuple[Access, ...], ...] = ()
    # Binding entries (no request): a binding of this role to a service-account subject.
    bound_role: str | None = None

    @property
    def accesses(self) -> tuple[Access, ...]:
        return tuple(access for group in self.requires for access in group)


_RBAC = (RBAC_GROUP,)
_CERTS = ("certificates.k8s.io",)
_ADMISSION = ("admissionregistration.k8s.io",)

CATALOG: Final[tuple[Risk, ...]] = (
    Risk(
        "cluster-admin-service-account",
        "cluster-admin bound to a service account",
        "every pod that runs as the account, and everyone who can create pods or read tokens in its namespace, "
        "holds cluster-admin: one compromised workload owns the cluster",
        bound_role=CLUSTER_ADMIN,
    ),
    Risk(
        "wildcard-all",
        "every verb on every resource",
        "'*' on '*' in every API group is every permission there is, including ones added later by CRDs and "
        "upgrades (escalate, bind, impersonate, secrets, pods); bound cluster-wide it is cluster-admin",
        ((Access(("*",), ("*",), ("*",)),),),
    ),
    Risk(
        "escalate",
        "escalate on roles",
        "the RBAC API refuses a Role or ClusterRole granting more than its writer holds; 'escalate' lifts that "
        "check, so the subject can write itself a role with any permission",
        (
            (
                Access(("escalate",), ("roles",), _RBAC),
                Access(("escalate",), ("clusterroles",), _RBAC, namespaced=False),
            ),
        ),
    ),
    Risk(
        "bind",
        "bind on roles",
        "binding a role normally requires holding its permissions; 'bind' lifts that, so the subject can bind "
        "cluster-admin (or any role) to itself",
        ((Access(("bind",), ("roles",), _RBAC), Access(("bind",), ("clusterroles",), _RBAC, namespaced=False)),),
    ),
    Risk(
        "impersonate",
        "impersonate users, groups or service accounts",
        "the subject acts as any user, group or service account it may impersonate, e.g. group system:masters, "
        "and so holds all of their permissions",
        (
            (
                Access(("impersonate",), ("users", "groups"), ("",), namespaced=False),
                Access(("impersonate",), ("serviceaccounts",)),
                Access(("impersonate",), ("uids",), ("authentication.k8s.io",), namespaced=False),
            ),
        ),
    ),
    Risk(
        "read-secrets",
        "get, list or watch secrets",
        "Secrets hold credentials (service account tokens, registry and cloud keys, TLS keys, passwords); "
        "reading one is acting as its owner, and list/watch return every value in scope, not just names",
        ((Access(("get", "list", "watch"), ("secrets",)),),),
    ),
    Risk(
        "create-pods",
        "create pods or pod-creating workloads",
        "a pod runs as any service account of its namespace and mounts any Secret, ConfigMap or claim there, "
        "so creating one (or a workload whose controller creates it) yields every service account's permissions "
        "and every secret of the namespace; where Pod Security allows, a privileged pod takes over its node",
        (
            (
                Access(("create",), ("pods", "replicationcontrollers")),
                Access(("create",), ("deployments", "daemonsets", "statefulsets", "replicasets"), ("apps",)),
                Access(("create",), ("jobs", "cronjobs"), ("batch",)),
            ),
        ),
    ),
    Risk(
        "pods-exec",
        "exec into pods",
        "runs commands in running containers: their service account token, mounted secrets and data, as the "
        "container's user (a GET of the exec URL over a websocket opens a session too, hence get)",
        ((Access(("create", "get"), ("pods/exec",)),),),
    ),
    Risk(
        "pods-attach",
        "attach to pods",
        "attaches to a running container's main process (stdin, stdout), with the same reach as exec into "
        "a container that runs a shell",
        ((Access(("create", "get"), ("pods/attach",)),),),
    ),
    Risk(
        "pods-portforward",
        "port-forward to pods",
        "tunnels to any port of a pod past NetworkPolicies and Services, e.g. to admin or debug endpoints that "
        "only listen inside the pod",
        ((Access(("create", "get"), ("pods/portforward",)),),),
    ),
    Risk(
        "nodes-proxy",
        "proxy to the kubelet API",
        "nodes/proxy reaches the kubelet API of every node through the API server: exec and run in any pod "
        "on the node, bypassing the authorization and audit of pods/exec",
        ((Access(("get", "create"), ("nodes/proxy",), namespaced=False),),),
    ),
    Risk(
        "serviceaccount-token",
        "create service account tokens",
        "TokenRequest mints a token for any service account in scope, so the subject acts with that account's "
        "permissions",
        ((Access(("create",), ("serviceaccounts/token",)),),),
    ),
    Risk(
        "csr-approve",
        "approve certificate signing requests",
        "with a client-certificate signer (kubernetes.io/kube-apiserver-client) the approver can have a "
        "certificate issued for any user name and group, e.g. group system:masters",
        (
            (Access(("update", "patch"), ("certificatesigningrequests/approval",), _CERTS, namespaced=False),),
            (Access(("approve",), ("signers",), _CERTS, namespaced=False),),
        ),
    ),
    Risk(
        "csr-sign",
        "sign certificate signing requests",
        "writes issued certificates into CSR status for a signer: with that signer's key the subject mints "
        "client credentials that the API server accepts for any identity",
        (
            (Access(("update", "patch"), ("certificatesigningrequests/status",), _CERTS, namespaced=False),),
            (Access(("sign",), ("signers",), _CERTS, namespaced=False),),
        ),
    ),
    Risk(
        "webhook-config-write",
        "write admission webhook configurations",
        "an admission webhook receives every matching object in full (Secrets too) and a mutating one changes "
        "them, e.g. adds a privileged container to every pod; editing or deleting a validating webhook "
        "switches off the policy it enforces",
        (
            (
                Access(
                    ("create", "update", "patch", "delete"),
                    ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"),
                    _ADMISSION,
                    namespaced=False,
                ),
            ),
        ),
    ),
    Risk(
        "services-status-write",
        "write services/status",
        "status.loadBalancer.ingress of a LoadBalancer Service is trusted by kube-proxy: whoever may update it "
        "routes the cluster's traffic for any IP it names to its own Service (CVE-2020-8554, which has no fix "
        "but restricting this permission)",
        ((Access(("update", "patch"), ("services/status",)),),),
    ),
    Risk(
        "persistentvolume-create",
        "create persistent volumes",
        "a PersistentVolume may be a hostPath on the node; bound to a claim in the subject's namespace, a pod "
        "mounts the node's filesystem even where Pod Security forbids hostPath volumes",
        ((Access(("create",), ("persistentvolumes",), namespaced=False),),),
    ),
)

_H = TypeVar("_H", "RuleHit", "SubjectHit")

RISKS: Final[Mapping[str, Risk]] = {risk.id: risk for risk in CATALOG}
# The order of strength for one rule: an entry earlier here implies the later ones.
_IMPLIES: Final = ("cluster-admin-service-account", "wildcard-all")


def risk(risk_id: str) -> Risk:
    """The catalog entry ``risk_id``; an unknown id raises with the known ones."""
    try:
        return RISKS[risk_id]
    except KeyError:
        raise RbacError(f"unknown RBAC risk {risk_id!r}; the catalog has: {', '.join(RISKS)}") from None


# --- rules -------------------------------------------------------------------------------------


def granted_request(rule: PolicyRule, access: Access) -> Request | None:
    """The first request of ``access`` that ``rule`` allows (with one of its resourceNames where the request names an object)."""
    if not rule.is_resource_rule:
        return None
    for req in access.requests():
        named = bool(req.subresource) or req.verb in NAMED_VERBS
        if named and rule.resource_names:
            req = replace(req, name=rule.resource_names[0])
        if rule.allows(req):
            return req
    return None


def describe(req: Request) -> str:
    """A request as a permission: ``create pods/exec``, ``get secrets (name "db")``, ``escalate clusterroles.rbac.authorization.k8s.io``."""
    resource = req.resource + (f"/{req.subresource}" if req.subresource else "")
    if req.api_group:
        resource += f" in {req.api_group if req.api_group != '*' else 'every API group'}"
    text = f"{req.verb} {resource}"
    return text + (f' (name "{req.name}")' if req.name else "")


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A role's rules grant a catalog entry: which rule (index) grants which request, per requirement."""

    risk: Risk
    grants: tuple[tuple[int, Request], ...]


def role_risks(rules: Sequence[PolicyRule], namespaced: bool) -> list[RuleHit]:
    """The catalog entries a Role (``namespaced``) or ClusterRole grants, one hit per granting rule.

    Binding entries (``cluster-admin-service-account``) are about bindings and never come from rules.
    """
    hits: list[RuleHit] = []
    for entry in CATALOG:
        if not entry.requires:
            continue
        if len(entry.requires) == 1:
            for index, rule in enumerate(rules):
                req = _first(rule, entry.requires[0], namespaced)
                if req is not None:
                    hits.append(RuleHit(entry, ((index, req),)))
            continue
        found: list[tuple[int, Request]] = []
        for group in entry.requires:
            match = next(
                ((i, r) for i, rule in enumerate(rules) if (r := _first(rule, group, namespaced)) is not None), None
            )
            if match is None:
                break
            found.append(match)
        else:
            hits.append(RuleHit(entry, tuple(found)))
    return _strongest(hits, lambda hit: {index for index, _ in hit.grants})


def _first(rule: PolicyRule, accesses: Iterable[Access], namespaced: bool) -> Request | None:
    for access in accesses:
        if namespaced and not access.namespaced:
            continue
        req = granted_request(rule, access)
        if req is not None:
            return req
    return None


# --- subjects ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubjectHit:
    """A subject holds a catalog entry in ``scope`` (``None``: cluster-wide) through these permissions."""

    risk: Risk
    scope: str | None
    grants: tuple[tuple[Permission, Request | None], ...]


def subject_risks(permissions: Sequence[Permission]) -> list[SubjectHit]:
    """The catalog entries that ``permissions`` (one subject's, from ``RbacModel.permissions``) add up to.

    Cluster-wide permissions count in every namespace; a namespace's permissions count only for the
    namespaced resources of an entry. Single-requirement entries give one hit per granting permission.
    """
    cluster = [p for p in permissions if p.namespace is None]
    by_namespace: dict[str, list[Permission]] = {}
    for perm in permissions:
        if perm.namespace is not None:
            by_namespace.setdefault(perm.namespace, []).append(perm)
    hits: list[SubjectHit] = []
    for entry in CATALOG:
        if entry.bound_role is not None:
            # One hit per binding and subject, through all the rules the role gives.
            bound: dict[tuple[str, RbacSubject, str | None], list[Permission]] = {}
            for perm in permissions:
                if perm.role == entry.bound_role and _service_account_subject(perm.subject):
                    bound.setdefault((perm.binding, perm.subject, perm.namespace), []).append(perm)
            hits.extend(
                SubjectHit(entry, scope, tuple((perm, None) for perm in perms))
                for (_, _, scope), perms in bound.items()
            )
            continue
        if len(entry.requires) == 1:
            for perm in permissions:
                req = _first(perm.rule, entry.requires[0], perm.namespace is not None)
                if req is not None:
                    hits.append(SubjectHit(entry, perm.namespace, ((perm, req),)))
            continue
        scopes: list[tuple[str | None, list[Permission], list[Permission]]] = [(None, cluster, [])]
        scopes.extend((ns, cluster, own) for ns, own in sorted(by_namespace.items()))
        for scope, wide, own in scopes:
            found: list[tuple[Permission, Request | None]] = []
            for group in entry.requires:
                match = _grant_in(wide, group, False) or _grant_in(own, group, True)
                if match is None:
                    break
                found.append(match)
            else:
                if scope is None or any(perm.namespace is not None for perm, _ in found):
                    hits.append(SubjectHit(entry, scope, tuple(found)))
    return _strongest(hits, lambda hit: {id(perm) for perm, _ in hit.grants})


def _grant_in(
    perms: Sequence[Permission], accesses: Iterable[Access], namespaced: bool
) -> tuple[Permission, Request] | None:
    for perm in perms:
        req = _first(perm.rule, accesses, namespaced)
        if req is not None:
            return perm, req
    return None


def _service_account_subject(subject: RbacSubject) -> bool:
    # A binding to group system:serviceaccounts[:<ns>] makes every (namespace's) account an admin too.
    return subject.kind == "ServiceAccount" or (
        subject.kind == "Group" and subject.name.startswith("system:serviceaccounts")
    )


def _strongest(hits: list[_H], keys: Callable[[_H], set[object]]) -> list[_H]:
    """Drop hits implied by a stronger hit from the same rules or permissions (see the module docstring)."""
    weakest = len(_IMPLIES)
    rank = {risk_id: i for i, risk_id in enumerate(_IMPLIES)}
    stronger_than: list[set[object]] = [set() for _ in range(weakest + 1)]
    for hit in hits:
        level = rank.get(hit.risk.id, weakest)
        for below in range(level + 1, weakest + 1):
            stronger_than[below] |= keys(hit)
    kept = []
    for hit in hits:
        mine = keys(hit)
        if mine and mine <= stronger_than[rank.get(hit.risk.id, weakest)]:
            continue
        kept.append(hit)
    return kept
