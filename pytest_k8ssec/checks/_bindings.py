"""What the binding-level RBAC selection checks share: each binding of a selection with its role.

The RBAC model of the selection (``RbacModel.from_objects`` with the default ClusterRoles of the
newest shipped Kubernetes version, as ``rbac-cluster-admin-subject`` builds it) resolves every
roleRef; this module only pairs each RoleBinding and ClusterRoleBinding object with what the model
made of it, so every check reads one answer: the binding the API server would accept (or why it
would not), its role (aggregation resolved), and whether a role of that name is in the selection
at all (a role the API server would reject is there, but grants nothing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.rbac import RBAC_GROUP, RbacBinding, RbacModel, RbacRole
from pytest_k8ssec.sources.default_roles import default_roles

_FIELD = re.compile(r"^(roleRef|subjects\[\d+\]|subjects|apiVersion )")
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})


@dataclass(frozen=True, slots=True)
class BindingView:
    """One binding object of the selection, as the model resolved it."""

    obj: K8sObject
    #: ``None``: the API server would reject the object (``problem`` says why); it grants nothing.
    binding: RbacBinding | None
    problem: str | None
    #: The bound role, aggregation resolved (``None``: not in the selection nor a default ClusterRole,
    #: or in the selection but rejected: see ``role_listed``).
    role: RbacRole | None
    #: An object of the roleRef's kind, namespace and name is in the selection (valid or not).
    role_listed: bool

    @property
    def role_ref(self) -> str:
        """``ClusterRole/<name>`` or ``Role/<ns>/<name>`` (of the accepted binding, else as written)."""
        if self.binding is not None:
            return self.binding.role_ref
        ref = as_mapping(self.obj.raw.get("roleRef"))
        return f"{ref.get('kind')}/{ref.get('name')}"


# The last selection's answer: the engine runs every binding check over the same selection.
_last: tuple[tuple[K8sObject, ...], tuple[BindingView, ...]] | None = None


def bindings_of(objects: Sequence[K8sObject]) -> tuple[BindingView, ...]:
    """Every RBAC binding object of ``objects`` (in order), with the model's reading of it."""
    global _last
    snapshot = tuple(objects)
    if _last is not None and len(_last[0]) == len(snapshot) and all(a is b for a, b in zip(_last[0], snapshot)):
        return _last[1]
    model = RbacModel.from_objects(snapshot, defaults=default_roles("latest"))
    accepted = {id(b.obj): b for b in model.bindings if b.obj is not None}
    listed = {
        (obj.kind, obj.namespace or "", obj.name)
        for obj in snapshot
        if obj.kind in ("Role", "ClusterRole") and obj.api_group == RBAC_GROUP
    }
    views = []
    for obj in snapshot:
        if obj.kind not in BINDING_KINDS or obj.api_group != RBAC_GROUP:
            continue
        binding = accepted.get(id(obj))
        if binding is None:
            prefix = f"{obj.ref} ({obj.provenance}): "
            found = next((p for p in model.problems if p.startswith(prefix)), None)
            problem = found[len(prefix) :].removesuffix("; it grants nothing") if found else "it is not valid"
            views.append(BindingView(obj, None, problem, None, False))
            continue
        kind, _, rest = binding.role_ref.partition("/")
        namespace, _, name = rest.rpartition("/")
        role = model.role(binding.role_ref)
        views.append(BindingView(obj, binding, None, role, (kind, namespace, name) in listed))
    result = tuple(views)
    _last = (snapshot, result)
    return result


def problem_path(problem: str) -> str:
    """The field a rejection starts with (``roleRef``, ``subjects[<i>]``, ``apiVersion``), else ``metadata``."""
    match = _FIELD.match(problem)
    if match is None:
        return "metadata"
    return match.group(1) if match.group(1) != "apiVersion " else "apiVersion"
