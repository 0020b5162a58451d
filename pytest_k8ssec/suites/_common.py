"""What the ready suites share: the profile's system namespaces, the Pod Security level of a
namespace, RBAC questions over every namespace, and the skip of a control no manifest can show.

Only the public API (``from pytest_k8ssec import ...``) and pytest, so a team that copies a suite
can copy this module beside it (and import it as ``_common``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from pytest_k8ssec import Grant, Inventory, K8sObject, Profile, RbacView, Target, WorkloadNamespace

ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
BOOTSTRAP = "kubernetes.io/bootstrapping"  # label of the bindings the API server creates itself
LEVELS = ("privileged", "baseline", "restricted")


def skip_system(namespace: str | None, profile: Profile) -> None:
    """Skip a test case about a namespace the profile leaves to the platform."""
    if profile.is_system(namespace):
        pytest.skip(
            f"namespace {namespace} is a system namespace (profile system_namespaces: "
            f"{', '.join(profile.system_namespaces)}); set system_namespaces in --k8s-profile to judge it"
        )


def app_workloads(workloads: Iterable[K8sObject], profile: Profile) -> list[K8sObject]:
    """The workloads outside the system namespaces; none left fails (an empty selection never passes)."""
    workloads = list(workloads)
    kept = [obj for obj in workloads if not profile.is_system(obj.namespace)]
    if not kept:
        pytest.fail(
            f"none of the {len(workloads)} workloads is outside the system namespaces "
            f"({', '.join(profile.system_namespaces)}); nothing was checked",
            pytrace=False,
        )
    return kept


def live_only(target: Target, control: str, how: str) -> None:
    """Skip on manifests: the control is about the running cluster, which no manifest shows."""
    if not target.live:
        pytest.skip(f"{control} is live-only: {how}; run this suite with --k8s-context to judge it")


def pss_level(name: str | None, namespace: K8sObject | None, profile: Profile) -> tuple[str, str, str]:
    """(level, version, why) Pod Security admission applies in a namespace, or the profile's default.

    The admission reads ``pod-security.kubernetes.io/enforce`` (and ``-version``); an invalid
    value makes it fall back to ``restricted`` (and ``latest``), so the suite does the same.
    A namespace without the label gets the profile's ``pss_default_level``: the admission's own
    default (privileged) is no requirement at all.
    """
    labels = dict(namespace.labels) if namespace is not None else {}
    if ENFORCE not in labels:
        where = "has no" if namespace is not None else "has no Namespace object, so no"
        return profile.pss_default_level, "latest", f"namespace {name} {where} {ENFORCE} label: profile default"
    level = labels[ENFORCE]
    version = labels.get(ENFORCE_VERSION, "latest")
    if level not in LEVELS:
        level = "restricted"  # the admission's fallback for an invalid level
    if version != "latest" and not (version.startswith("v1.") and version[3:].isdigit()):
        version = "latest"
    return level, version, f"namespace {name} enforces {level}:{version}"


def namespace_of(inventory: Inventory, name: str | None) -> K8sObject | None:
    """The Namespace object called ``name``, or None when the objects have none."""
    if not name:
        return None
    found = inventory.select(kind="Namespace", name=name)
    return found[0] if found else None


def level_of(workload_namespace: WorkloadNamespace, profile: Profile) -> tuple[str, str, str]:
    return pss_level(workload_namespace.name, workload_namespace.namespace, profile)


def skip_without_bindings(rbac: RbacView) -> None:
    """Skip a whole-target RBAC question on objects that bind nothing: no subject holds anything there."""
    if not rbac.model.bindings:
        pytest.skip(
            f"target {rbac.target} has no RoleBinding or ClusterRoleBinding: no subject is granted anything "
            "here (the cluster's own bindings are judged with --k8s-context)"
        )


def _platform(rbac: RbacView, grant: Grant, profile: Profile) -> bool:
    """A grant of the control plane itself: the system:masters group, a bootstrap binding, or a
    service account of a system namespace (the platform's own controllers)."""
    if not grant.role:  # the system:masters group, allowed by the authorizer without a binding
        return True
    binding = next((b for b in rbac.model.bindings if b.ref == grant.binding), None)
    if binding is not None and binding.obj is not None and binding.obj.labels.get(BOOTSTRAP) == "rbac-defaults":
        return True
    subject = grant.subject
    return subject.kind == "ServiceAccount" and profile.is_system(subject.namespace)


def who_can(
    rbac: RbacView,
    profile: Profile,
    verb: str,
    resource: str,
    *,
    subresource: str | None = None,
    group: str = "",
) -> list[Grant]:
    """Every grant of the request, cluster-wide and in every namespace a RoleBinding names,
    leaving out the platform's own (see ``_platform``)."""
    namespaces = sorted({b.namespace for b in rbac.model.bindings if b.namespace})
    found: dict[tuple[str, str, str], Grant] = {}
    for namespace in [None, *namespaces]:
        for grant in rbac.who_can(verb, resource, namespace=namespace, subresource=subresource, group=group):
            if not _platform(rbac, grant, profile):
                found.setdefault((str(grant.subject), grant.binding, grant.role), grant)
    return list(found.values())


def grants_text(grants: Iterable[Grant], what: str) -> str:
    lines = [f"  - {grant.subject} via {grant.binding} -> {grant.role}" for grant in grants]
    return f"{len(lines)} subject grant(s) allow {what}:\n" + "\n".join(lines)


def check_nobody_can(
    rbac: RbacView, profile: Profile, requests: Iterable[tuple[str, str, str | None, str]], what: str
) -> None:
    """Fail when any subject outside the platform may make one of the requests (verb, resource, subresource, group)."""
    __tracebackhide__ = True
    grants = [
        grant
        for verb, resource, subresource, group in requests
        for grant in who_can(rbac, profile, verb, resource, subresource=subresource, group=group)
    ]
    assert not grants, grants_text(grants, what)
