"""ClusterRole aggregation as the clusterrole-aggregation controller writes it.

Aggregation REPLACES the aggregated ClusterRole's rules with the de-duplicated union of the rules
of the ClusterRoles its selectors match (selectors in order, roles sorted by name, itself excluded),
exactly as the controller applies them. A role's own written rules are therefore dropped, except
when the union is empty: the controller's server-side apply then carries no rules field and the
written rules stay. A live role whose rules the controller already wrote is recomputed to the same
value: nothing is counted twice. Aggregated roles that select other aggregated roles are resolved
to the controller's fixed point. Selectors are evaluated as metav1.LabelSelectorAsSelector does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac.rules import PolicyRule, _Invalid, _strings


def _selector_matches(selector: object, labels: Mapping[str, str], where: str) -> bool:
    if selector is None:
        # A null entry in the list decodes to the zero LabelSelector, which selects everything.
        return True
    if not isinstance(selector, Mapping):
        raise _Invalid(f"{where} must be a label selector mapping")
    match_labels = as_mapping(selector.get("matchLabels"))
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    for i, expr in enumerate(as_list(selector.get("matchExpressions"))):
        at = f"{where}.matchExpressions[{i}]"
        if not isinstance(expr, Mapping) or not isinstance(expr.get("key"), str):
            raise _Invalid(f"{at} needs a key")
        key, operator = expr["key"], expr.get("operator")
        values = _strings(expr.get("values"), f"{at}.values")
        if operator in ("In", "NotIn"):
            if not values:
                raise _Invalid(f"{at}: operator {operator} needs values")
            present = key in labels and labels[key] in values
            if present != (operator == "In"):
                return False
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                raise _Invalid(f"{at}: operator {operator} takes no values")
            if (key in labels) != (operator == "Exists"):
                return False
        else:
            raise _Invalid(f"{at}: operator {operator!r} is not In, NotIn, Exists or DoesNotExist")
    return True


def _selectors(obj: K8sObject) -> list[Any] | None:
    """The clusterRoleSelectors of an aggregated ClusterRole, ``None`` when it is not aggregated."""
    rule = obj.raw.get("aggregationRule")
    if rule is None:
        return None
    return as_list(as_mapping(rule).get("clusterRoleSelectors"))


def validate_aggregation(obj: K8sObject) -> None:
    rule = obj.raw.get("aggregationRule")
    if rule is None:
        return
    if not isinstance(rule, Mapping):
        raise _Invalid("aggregationRule must be a mapping")
    selectors = rule.get("clusterRoleSelectors")
    if not isinstance(selectors, list) or not selectors:
        raise _Invalid("at least one clusterRoleSelector required if aggregationRule is non-nil")
    for i, selector in enumerate(selectors):
        # Evaluating against no labels runs every structural check of the selector.
        _selector_matches(selector, {}, f"aggregationRule.clusterRoleSelectors[{i}]")


def aggregate(
    cluster_roles: Mapping[str, tuple[K8sObject, tuple[PolicyRule, ...]]],
) -> dict[str, tuple[tuple[PolicyRule, ...], bool]]:
    """Each ClusterRole's rules as the clusterrole-aggregation controller writes them (to its fixed
    point), and whether it is aggregated."""
    rules = {name: written for name, (_, written) in cluster_roles.items()}
    aggregated = {name: sel for name, (obj, _) in cluster_roles.items() if (sel := _selectors(obj)) is not None}
    by_name = sorted(cluster_roles)
    labels = {name: {str(k): str(v) for k, v in cluster_roles[name][0].labels.items()} for name in by_name}
    selected = {
        name: [
            [other for other in by_name if other != name and _selector_matches(sel, labels[other], name)]
            for sel in selectors
        ]
        for name, selectors in aggregated.items()
    }
    # The controller re-syncs every aggregated role whenever any ClusterRole changes; sweeping in name
    # order until nothing changes reaches the state it settles in (one sweep unless roles nest).
    for _ in range(len(aggregated) + 2):
        changed = False
        for name in sorted(aggregated):
            union: dict[PolicyRule, None] = {}
            for others in selected[name]:
                for other in others:
                    union.update(dict.fromkeys(rules[other]))
            # The controller server-side-applies the union; an empty union applies no rules field,
            # so the rules another manager wrote stay (found by the live differential test).
            new = tuple(union) if union else cluster_roles[name][1]
            if new != rules[name]:
                rules[name] = new
                changed = True
        if not changed:
            break
    return {name: (rules[name], name in aggregated) for name in cluster_roles}
