"""rbac-risky-rules.

CIS Kubernetes Benchmark 5.1.8: "Limit use of the Bind, Impersonate and Escalate permissions in
the Kubernetes cluster", with 5.1.2 (secrets), 5.1.4 (pod creation), 5.1.9 (persistent volume
creation), 5.1.10 (nodes/proxy), 5.1.11 (CSR approval), 5.1.12 (webhook configurations), 5.1.13
(service account token creation) and the privilege escalation risks of the Kubernetes RBAC good
practices: each permission of the catalog in pytest_k8ssec.model.rbac.risks is a known path to
more privilege than the role names.

A violation is a rule of a Role or ClusterRole that the RBAC authorizer would let grant a catalog
entry (``rules[<i>]``; an entry that needs two permissions, such as CSR approval, is reported at
each of the rules that grant them); the message names the entry and why it is risky. A Role is
never reported for cluster-scoped resources (a RoleBinding cannot grant them). Not judged: rules a
default ClusterRole of a shipped Kubernetes version has verbatim (admin, edit and the controllers'
roles need these permissions by design; a widened default is reported), and aggregated
ClusterRoles, whose rules come from the roles they select (judged themselves).

Controls: each finding carries those of the entries it names (``checks/_rbac_risks.py``: a secrets
reader fails CIS 5.1.2, not 5.1.8); the check claims only NSA's RBAC guidance, which every
finding fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._rbac_risks import FINDING_CONTROLS, controls_of
from pytest_k8ssec.model.objects import K8sObject, as_list
from pytest_k8ssec.model.rbac import RBAC_GROUP, PolicyRule, describe, role_risks
from pytest_k8ssec.sources.default_roles import is_default_rule


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.api_group != RBAC_GROUP or (obj.kind == "ClusterRole" and obj.raw.get("aggregationRule") is not None):
        return
    indexed = []
    for i, raw in enumerate(as_list(obj.raw.get("rules"))):
        try:
            indexed.append((i, PolicyRule.from_raw(raw, f"rules[{i}]")))
        except ValueError as exc:
            # A rule the API server would refuse cannot be judged: it fails, it is never skipped.
            yield Violation(f"rules[{i}]", f"cannot be read, so its permissions cannot be judged: {exc}")
    judged = [(i, rule) for i, rule in indexed if not is_default_rule(obj.kind, obj.name, rule)]
    for hit in role_risks([rule for _, rule in judged], namespaced=obj.kind == "Role"):
        for position, req in hit.grants:
            yield Violation(
                f"rules[{judged[position][0]}]",
                f"grants {hit.risk.id} ({describe(req)}): {hit.risk.why}",
                controls=controls_of((hit.risk.id,)),
            )


CHECK = Check(
    id="rbac-risky-rules",
    title="Risky RBAC permission",
    summary="Roles and ClusterRoles must not grant permissions that lead to more privilege (escalate, bind, impersonate, secrets, pod creation, exec, node proxy, tokens, CSR approval, webhooks, volumes, wildcards).",
    remediation="Remove the permission from the role, or narrow it with resourceNames and bind it only to the subjects that need it.",
    category=Category.RBAC,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    targets=frozenset({"Role", "ClusterRole"}),
    controls=("NSA-authz-rbac",),
    finding_controls=FINDING_CONTROLS,
    references=("https://kubernetes.io/docs/concepts/security/rbac-good-practices/#privilege-escalation-risks",),
)
