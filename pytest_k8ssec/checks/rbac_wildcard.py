"""rbac-wildcard.

CIS Kubernetes Benchmark 5.1.3: "Minimize wildcard use in Roles and ClusterRoles." Kubernetes Roles
and ClusterRoles grant access to resources by name; "*" grants every current and future value
(new verbs, resources added by CRDs or upgrades, every API group), so what a role allows can grow
without anyone editing it.

A violation is a ``*`` in a rule's ``verbs``, ``resources``, ``apiGroups`` or ``nonResourceURLs``
(a bare ``*`` URL reaches every non-resource path, /debug and /logs included; a path prefix such
as ``/healthz/*`` names a tree and is not reported). ``*/scale`` names one subresource of every
resource and is not the wildcard. Not judged: rules a default (bootstrap) ClusterRole of a shipped
Kubernetes version has verbatim (cluster-admin and the controllers' roles are wildcards by
design; a widened one is reported), and aggregated ClusterRoles, whose rules the aggregation
controller copies from the roles it selects (those are judged themselves).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac import RBAC_GROUP, PolicyRule
from pytest_k8ssec.sources.default_roles import is_default_rule

_ROLES: Final = frozenset({"roles", "clusterroles"})
_IDENTITIES: Final = frozenset({"users", "groups", "serviceaccounts", "uids", "userextras"})


def _groups(groups: list[object]) -> str:
    names = sorted({g for g in groups if isinstance(g, str)})
    if "*" in names:
        return "every API group"
    if names == [""]:
        return 'the core API group ("")'
    shown = ", ".join('"" (core)' if g == "" else g for g in names)
    return f"API group{'s' if len(names) > 1 else ''} {shown}" if names else "no API group"


def _grants(rule: Mapping[str, Any], key: str) -> str:
    """What the ``*`` in ``rule[key]`` really grants: the message must not claim secrets for a rule
    that cannot reach the core group (issue 11 item 8), nor impersonate for one on deployments."""
    groups = as_list(rule.get("apiGroups"))
    resources = {r.split("/", 1)[0] for r in as_list(rule.get("resources")) if isinstance(r, str)}
    core = "" in groups or "*" in groups
    if key == "verbs":
        if as_list(rule.get("nonResourceURLs")) and not resources:
            return "every HTTP verb on its non-resource paths"
        dangerous = []
        if ("*" in groups or RBAC_GROUP in groups) and ("*" in resources or resources & _ROLES):
            dangerous.append("escalate and bind (grant any permission through roles)")
        if (core or "authentication.k8s.io" in groups) and ("*" in resources or resources & _IDENTITIES):
            dangerous.append("impersonate")
        if core and ("*" in resources or "pods" in resources):
            dangerous.append("create on pods/exec")
        listed = (
            ", ".join(dangerous[:-1]) + (" and " if len(dangerous) > 1 else "") + (dangerous[-1] if dangerous else "")
        )
        extra = f", {listed} included" if dangerous else ""
        return f"every verb on its resources, including verbs added later{extra}"
    if key == "resources":
        extra = ", secrets and pods/exec included" if core else ", including resources added to it later"
        return f"every resource and subresource of {_groups(groups)}{extra}"
    if key == "apiGroups":
        return "every API group, including those CRDs add later"
    return "every non-resource path of the API server"


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.api_group != RBAC_GROUP or (obj.kind == "ClusterRole" and obj.raw.get("aggregationRule") is not None):
        return
    for i, raw in enumerate(as_list(obj.raw.get("rules"))):
        rule = as_mapping(raw)
        try:
            if is_default_rule(obj.kind, obj.name, PolicyRule.from_raw(rule)):
                continue
        except ValueError:
            pass  # malformed: no default role has it (rbac-risky-rules reports it); wildcards still count
        for key in ("verbs", "resources", "apiGroups", "nonResourceURLs"):
            if "*" in as_list(rule.get(key)):
                yield Violation(f"rules[{i}].{key}", f'rule {i} grants "*" in {key}: {_grants(rule, key)}')


CHECK = Check(
    id="rbac-wildcard",
    title="Wildcard in RBAC rule",
    summary="Roles and ClusterRoles must name the verbs, resources, API groups and URLs they grant instead of using a wildcard.",
    remediation='Replace each "*" with the verbs, resources, API groups or paths the role needs.',
    category=Category.RBAC,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    targets=frozenset({"Role", "ClusterRole"}),
    controls=("CIS-5.1.3", "NSA-authz-rbac"),
    references=("https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege",),
)
