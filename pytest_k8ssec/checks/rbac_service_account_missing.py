"""rbac-service-account-missing.

Kubernetes RBAC: a ServiceAccount subject matches the user ``system:serviceaccount:<ns>:<name>``
whether or not the account exists (the API server does not check subjects), so a binding to a
missing account grants nothing now and grants its role to whoever later creates an account of that
name in that namespace: anyone who may create ServiceAccounts there.

A selection check: a ServiceAccount subject (``subjects[<i>]``; its namespace defaults to a
RoleBinding's own) is reported when the selection has no ServiceAccount of that namespace and
name. Accounts the control plane creates itself are never missing: ``default`` (the serviceaccount
controller creates it in every namespace) and the controllers' accounts that the shipped default
ClusterRoleBindings name (``kube-system/<name>-controller``, created by kube-controller-manager
with ``--use-service-account-credentials``); nor are the subjects of bindings the cluster ships
unchanged. The message says what the selection can tell: objects listed from a live cluster where
the account's namespace was listed mean the account does not exist; a namespace with no object in
the selection (filtered out, or absent) and a manifest selection mean "not in the selection" (the
account may be created elsewhere). Not judged: bindings the API server would reject
(rbac-risky-binding reports them).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from pytest_k8ssec.checks._bindings import bindings_of
from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.sources.default_roles import default_bindings, default_versions, is_default_binding

ID = "rbac-service-account-missing"


@functools.lru_cache(maxsize=1)
def _control_plane_accounts() -> frozenset[tuple[str, str]]:
    """(namespace, name) of the service accounts the shipped default bindings name."""
    found = set()
    for version in default_versions():
        for obj in default_bindings(version):
            for raw in as_list(obj.raw.get("subjects")):
                subject = as_mapping(raw)
                if subject.get("kind") == "ServiceAccount":
                    found.add((str(subject.get("namespace") or ""), str(subject.get("name") or "")))
    return frozenset(found)


def _evaluate(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
    accounts = {
        (obj.namespace or "", obj.name) for obj in objects if obj.kind == "ServiceAccount" and obj.api_group == ""
    }
    namespaces = {obj.namespace for obj in objects if obj.namespace}
    namespaces.update(obj.name for obj in objects if obj.kind == "Namespace" and obj.api_group == "")
    for view in bindings_of(objects):
        if view.binding is None or is_default_binding(view.obj):
            continue
        for index, subject in enumerate(view.binding.subjects):
            key = (subject.namespace, subject.name)
            if subject.kind != "ServiceAccount" or subject.name == "default" or key in accounts:
                continue
            if key in _control_plane_accounts():
                continue
            live = view.obj.provenance.from_cluster
            if live and subject.namespace in namespaces:
                message = (
                    f"{subject} does not exist in the cluster: the binding grants {view.binding.role_ref} to whoever "
                    f"creates a ServiceAccount of that name in namespace {subject.namespace}"
                )
            elif live:
                message = (
                    f"{subject} is not in the selection: namespace {subject.namespace} was not listed (filtered "
                    "out, or absent), so whether the account exists cannot be told"
                )
            else:
                message = (
                    f"{subject} is not in the selection: unless it is created elsewhere, the binding grants "
                    f"{view.binding.role_ref} to whoever creates it"
                )
            yield view.obj, Violation(f"subjects[{index}]", message)


CHECK = Check(
    id=ID,
    title="Binding to a service account that does not exist",
    summary="A ServiceAccount named by a RoleBinding or ClusterRoleBinding must be in the selection (or be one the control plane creates).",
    remediation="Add the ServiceAccount to the selection, correct the subject's name or namespace, or remove the subject.",
    category=Category.RBAC,
    severity=Severity.MEDIUM,
    evaluate_selection=_evaluate,
    targets=frozenset({"ClusterRoleBinding", "RoleBinding"}),
    controls=("NSA-authz-rbac",),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects",
        "https://kubernetes.io/docs/concepts/security/service-accounts/",
    ),
)
