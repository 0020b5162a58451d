"""rbac-wildcard's messages say what the wildcard grants in the rule at hand (issue 11 item 8: a
``*`` in resources of a non-core group was said to include secrets and pods/exec)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec.checks import rbac_wildcard
from pytest_k8ssec.model.objects import K8sObject, Provenance


def messages(rule: dict[str, Any]) -> dict[str, str]:
    role = K8sObject(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "r", "namespace": "ns"},
            "rules": [rule],
        },
        Provenance("r.yaml", 1),
    )
    return {v.path: v.message for v in rbac_wildcard.CHECK.evaluate(role)}


def test_resources_of_a_non_core_group_do_not_claim_secrets() -> None:
    assert messages({"apiGroups": ["argoproj.io"], "resources": ["*"], "verbs": ["get"]}) == {
        "rules[0].resources": 'rule 0 grants "*" in resources: every resource and subresource of API group argoproj.io, '
        "including resources added to it later"
    }


@pytest.mark.parametrize("groups", [[""], ["*"], ["apps", ""]])
def test_resources_reaching_the_core_group_name_secrets_and_exec(groups: list[str]) -> None:
    message = messages({"apiGroups": groups, "resources": ["*"], "verbs": ["get"]})["rules[0].resources"]
    assert message.endswith("secrets and pods/exec included"), message


def test_verbs_name_escalate_bind_impersonate_only_where_the_rule_reaches_them() -> None:
    assert messages({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}) == {
        "rules[0].verbs": 'rule 0 grants "*" in verbs: every verb on its resources, including verbs added later'
    }
    assert messages({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["*"]})[
        "rules[0].verbs"
    ].endswith("escalate and bind (grant any permission through roles) included")
    core = messages({"apiGroups": [""], "resources": ["*"], "verbs": ["*"]})["rules[0].verbs"]
    assert core.endswith("impersonate and create on pods/exec included"), core
    assert messages({"nonResourceURLs": ["/metrics"], "verbs": ["*"]}) == {
        "rules[0].verbs": 'rule 0 grants "*" in verbs: every HTTP verb on its non-resource paths'
    }
