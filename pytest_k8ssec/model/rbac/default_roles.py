"""The default (bootstrap) RBAC objects a Kubernetes version ships, and telling them from added ones.

kube-apiserver creates them at start (plugin/pkg/auth/authorizer/rbac/bootstrappolicy, labelled
``kubernetes.io/bootstrapping: rbac-defaults``). The project ships them as data generated from a
real control plane (scripts/gen_default_clusterroles.py); ``pytest_k8ssec.sources.default_roles``
reads that data, this module only judges the parsed objects: a manifest target binds to them
without listing them (``--k8s-rbac-defaults``), and helpers and checks leave what the cluster ships
alone while reporting what was widened or added.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final

from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac.authorizer import RbacBinding
from pytest_k8ssec.model.rbac.rules import RBAC_KINDS, PolicyRule, RbacError
from pytest_k8ssec.model.rbac.subjects import RbacSubject

BOOTSTRAP_LABEL: Final = "kubernetes.io/bootstrapping"
BOOTSTRAP_VALUE: Final = "rbac-defaults"

# kubeadm (not the API server) creates this binding so that `kubeadm join` can read the cluster-info
# ConfigMap before it has credentials; it is part of every kubeadm cluster and grants exactly this.
KUBEADM_CLUSTER_INFO: Final = (
    "RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo",
    "Role/kube-public/kubeadm:bootstrap-signer-clusterinfo",
    frozenset(
        {PolicyRule(verbs=("get",), api_groups=("",), resources=("configmaps",), resource_names=("cluster-info",))}
    ),
)


def defaults_file(objects: Sequence[K8sObject], source: str) -> tuple[K8sObject, ...]:
    """The objects of a defaults file, refused unless every one is an RBAC object and there is one."""
    for i, obj in enumerate(objects):
        if obj.kind not in RBAC_KINDS:
            raise RbacError(f"{source}: item {i} is not an RBAC object: {obj.ref} ({obj.provenance})")
    if not objects:
        raise RbacError(f"{source}: no ClusterRoles in the defaults file")
    return tuple(objects)


def chosen_version(version: str, shipped: Sequence[str]) -> str:
    """The shipped version ``version`` names (``"latest"``, ``"1.37"`` or ``"v1.37"``); unknown ones raise."""
    if not shipped:
        raise RbacError("no default ClusterRoles are shipped (pytest_k8ssec/data/rbac/ is empty or missing)")
    chosen = shipped[-1] if version == "latest" else version.removeprefix("v")
    if chosen not in shipped:
        raise RbacError(f"no default ClusterRoles for Kubernetes {version!r}; shipped: {', '.join(shipped)}")
    return chosen


def is_bootstrap(obj: K8sObject | None) -> bool:
    """Labelled ``kubernetes.io/bootstrapping: rbac-defaults``: the API server (or defaults data) made it."""
    return obj is not None and obj.labels.get(BOOTSTRAP_LABEL) == BOOTSTRAP_VALUE


class DefaultRoles:
    """The default ClusterRoles and ClusterRoleBindings of every shipped version, united.

    A rule or binding counts as default when any shipped version has it, so a cluster one version
    behind or ahead of the newest data is not reported for what its own version ships.
    """

    def __init__(self, roles: Iterable[K8sObject], bindings: Iterable[K8sObject]) -> None:
        self._roles = tuple(roles)
        self._bindings = tuple(bindings)

    @functools.cached_property
    def _rules(self) -> dict[str, frozenset[PolicyRule]]:
        rules: dict[str, set[PolicyRule]] = {}
        for obj in self._roles:
            bucket = rules.setdefault(obj.name, set())
            for raw in as_list(obj.raw.get("rules")):
                bucket.add(PolicyRule.from_raw(raw))
        return {name: frozenset(found) for name, found in rules.items()}

    @functools.cached_property
    def _binding_subjects(self) -> dict[str, tuple[str, frozenset[RbacSubject]]]:
        bindings: dict[str, tuple[str, set[RbacSubject]]] = {}
        for obj in self._bindings:
            ref = as_mapping(obj.raw.get("roleRef"))
            _role, subjects = bindings.setdefault(obj.name, (f"{ref.get('kind')}/{ref.get('name')}", set()))
            subjects.update(_subjects(obj))
        return {name: (role, frozenset(found)) for name, (role, found) in bindings.items()}

    def is_default_rule(self, role_kind: str, role_name: str, rule: PolicyRule) -> bool:
        """A rule that a default (bootstrap) ClusterRole of a shipped Kubernetes version has, verbatim."""
        return role_kind == "ClusterRole" and rule in self._rules.get(role_name, frozenset())

    def is_default_binding(self, binding: RbacBinding | K8sObject) -> bool:
        """A binding the cluster ships, not widened: bootstrap-labelled, and for a ClusterRoleBinding of the
        shipped defaults the same role and only subjects the default has.

        Bootstrap RoleBindings (leader election and signers in kube-system / kube-public) are not in the
        shipped data; there the label and subjects all named ``system:...`` (control-plane identities) decide.
        """
        obj = binding.obj if isinstance(binding, RbacBinding) else binding
        if obj is None or not is_bootstrap(obj):
            return False
        ref = as_mapping(obj.raw.get("roleRef"))
        role = f"{ref.get('kind')}/{ref.get('name')}"
        subjects = set(_subjects(obj))
        shipped = self._binding_subjects.get(obj.name) if obj.kind == "ClusterRoleBinding" else None
        if shipped is not None:
            return role == shipped[0] and subjects <= shipped[1]
        return all(_system_name(subject) for subject in subjects)


def _subjects(obj: K8sObject) -> Iterator[RbacSubject]:
    namespace = obj.namespace or ""
    for raw in as_list(obj.raw.get("subjects")):
        subject: Mapping[str, object] = as_mapping(raw)
        kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
        ns = str(subject.get("namespace") or namespace) if kind == "ServiceAccount" else ""
        yield RbacSubject(kind, name, ns)


def _system_name(subject: RbacSubject) -> bool:
    if subject.kind == "ServiceAccount":
        return subject.namespace in ("kube-system", "kube-public")
    return subject.name.startswith("system:")
