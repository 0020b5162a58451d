"""PSS baseline ``privileged`` (v1.0).

"Privileged Pods disable most security mechanisms and must be disallowed." Restricted fields:
``spec.containers[*].securityContext.privileged`` (and init and ephemeral containers); allowed
values: ``false``, undefined/null (k8s.io/pod-security-admission ``policy/check_privileged.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, is_true, join_quote, pluralize
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import PodSpecRef


def privileged_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    bad = [ref for ref in containers(obj) if is_true(ref.security_context.get("privileged"))]
    if not bad:
        return ALLOWED
    names = [ref.name for ref in bad]
    return forbidden(
        "privileged",
        f"{pluralize('container', 'containers', len(names))} {join_quote(names)} must not set securityContext.privileged=true",
        [f"{ref.path}.securityContext.privileged" for ref in bad],
        names,
    )


CONTROL = Control("privileged", "baseline", (Versioned(v(1, 0), privileged_1_0),), "pss-privileged")

CHECK = make_check(
    CONTROL,
    title="PSS baseline: privileged containers",
    summary="Containers must not run privileged (Pod Security Standards, baseline).",
    remediation="Remove securityContext.privileged or set it to false.",
    category=Category.PRIVILEGES,
    severity=Severity.CRITICAL,
    controls=("CIS-5.2.2", "NSA-pod-security-enforcement", "MITRE-T1611"),
)
