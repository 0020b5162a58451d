"""rbac-risky-binding.

CIS Kubernetes Benchmark 5.1 ("Minimize access to secrets", "... to create pods", "Limit use of the
Bind, Impersonate and Escalate permissions", nodes/proxy, CSR approval, webhook configurations,
token creation) and the Kubernetes RBAC good practices' privilege escalation risks, asked of the
bindings: who gets each permission of the catalog in pytest_k8ssec.model.rbac.risks (escalate,
bind, impersonate, secrets, pod creation, exec, attach, port-forward, nodes/proxy, token creation,
CSR approval and signing, webhook configurations, ``services/status`` (CVE-2020-8554), persistent
volumes, ``*`` on ``*``, cluster-admin bound to a service account).

A selection check: each RoleBinding and ClusterRoleBinding is judged with the roles of the
selection (aggregation resolved) and the Kubernetes default ClusterRoles it may bind without
listing them (newest shipped version). Scope is the authorizer's: a ClusterRoleBinding grants
everywhere; a RoleBinding grants only in its namespace, so through it a ClusterRole's cluster-scoped
entries (nodes/proxy, persistent volumes, CSRs, webhook configurations, impersonating users and
groups) are granted to no one. A violation is one subject (``subjects[<i>]``) and every entry it
gets through the binding, with the permission that grants each.

How it differs from rbac-risky-rules: that check judges the rules a role spells and leaves the
default ClusterRoles alone (admin and edit need these permissions by design); this one judges what
is granted to whom, so a binding of ``edit`` or ``admin`` to a subject is reported for the
secrets, pods and exec it hands out, and a risky role that nothing binds is not. Not reported:
bindings the cluster ships unchanged (bootstrap-labelled, subjects as shipped), and bindings
without subjects (they grant nothing).

Fail closed: a binding the API server would reject, or one whose role is in the selection but
would be rejected, cannot be judged and is reported (``roleRef`` or the field at fault). A roleRef
to a role that is neither in the selection nor a default ClusterRole is reported on manifests at
``roleRef.name``: what it grants is decided by objects outside the selection (rbac-role-ref-missing
reports the same reference as a dangling one). On a live cluster the listing is the cluster's, so
such a binding grants nothing until the role is created: it is left to rbac-role-ref-missing.

Controls: each finding carries those of the entries it names (``checks/_rbac_risks.py``: a secrets
reader fails CIS 5.1.2, not 5.1.8); the check claims only NSA's RBAC guidance, which every
finding fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from pytest_k8ssec.checks._bindings import BindingView, bindings_of, problem_path
from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._rbac_risks import FINDING_CONTROLS, controls_of
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.rbac import CATALOG, Permission, RbacSubject, SubjectHit, describe, subject_risks
from pytest_k8ssec.sources.default_roles import is_default_binding

ID = "rbac-risky-binding"


def _granted(hits: Sequence[SubjectHit]) -> str:
    """``read-secrets (get secrets); create-pods (create pods, create jobs in batch)``: each entry once."""
    by_risk: dict[str, list[str]] = {}
    for hit in hits:
        permissions = by_risk.setdefault(hit.risk.id, [])
        permissions.extend(describe(req) for _, req in hit.grants if req is not None)
    return "; ".join(
        f"{risk} ({', '.join(dict.fromkeys(permissions))})" if permissions else risk
        for risk, permissions in by_risk.items()
    )


# Only catalog entries about a bound role (cluster-admin-service-account) depend on the subject;
# the others depend on the rules and the scope alone, so bindings of one role share their answer.
_BOUND_ROLES: Final = frozenset(entry.bound_role for entry in CATALOG if entry.bound_role is not None)
_HitsKey = tuple[str, bool, "RbacSubject | None"]


def _judge(view: BindingView, answered: dict[_HitsKey, list[SubjectHit]]) -> Iterator[Violation]:
    if view.binding is None:
        problem = view.problem or "it is not valid"
        yield Violation(problem_path(problem), f"cannot be judged: the API server would reject it ({problem})")
        return
    binding, role = view.binding, view.role
    if role is None:
        if view.role_listed:
            yield Violation(
                "roleRef.name",
                f"cannot be judged: its role {binding.role_ref} is in the selection but the API server would "
                "reject it, so what this binding grants is unknown",
            )
        elif not view.obj.provenance.from_cluster:
            yield Violation(
                "roleRef.name",
                f"cannot be judged: its role {binding.role_ref} is not in the selection nor a default ClusterRole, "
                "so what it grants is decided elsewhere; add the role to the selection",
            )
        return
    scope = "cluster-wide" if binding.kind == "ClusterRoleBinding" else f"in namespace {binding.namespace}"
    for index, subject in enumerate(binding.subjects):
        key = (role.ref, bool(binding.namespace), subject if role.ref in _BOUND_ROLES else None)
        hits = answered.get(key)
        if hits is None:
            perms = [
                Permission(binding.namespace or None, rule, binding.ref, binding.role_ref, subject)
                for rule in role.rules
            ]
            hits = answered[key] = subject_risks(perms)
        if not hits:
            continue
        # One entry's reason is worth its length; for several, the catalog (docs) gives each.
        why = f": {hits[0].risk.why}" if len({hit.risk.id for hit in hits}) == 1 else ""
        yield Violation(
            f"subjects[{index}]",
            f"{subject} gets {_granted(hits)} {scope} through {binding.role_ref}{why}",
            controls=controls_of(hit.risk.id for hit in hits),
        )


def _evaluate(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
    answered: dict[_HitsKey, list[SubjectHit]] = {}
    for view in bindings_of(objects):
        if is_default_binding(view.obj):
            continue
        for violation in _judge(view, answered):
            yield view.obj, violation


CHECK = Check(
    id=ID,
    title="Binding grants a risky permission",
    summary="No RoleBinding or ClusterRoleBinding may give a subject a permission that leads to more privilege (escalate, bind, impersonate, secrets, pod creation, exec, attach, nodes/proxy, tokens, CSR approval, webhooks, services/status, '*' on '*').",
    remediation="Bind a role without the permission, or remove the subject; where the subject needs it, narrow it with resourceNames or a RoleBinding in one namespace.",
    category=Category.RBAC,
    severity=Severity.HIGH,
    evaluate_selection=_evaluate,
    targets=frozenset({"ClusterRoleBinding", "RoleBinding"}),
    controls=("NSA-authz-rbac",),
    finding_controls=FINDING_CONTROLS,
    references=(
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#privilege-escalation-risks",
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding",
        "https://github.com/kubernetes/kubernetes/issues/97076",
    ),
)
