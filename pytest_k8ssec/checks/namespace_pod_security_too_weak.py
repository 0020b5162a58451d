"""namespace-pod-security-too-weak.

Pod Security Admission, "Pod Security levels are applied per namespace through labels":
``pod-security.kubernetes.io/<MODE>: <LEVEL>`` with MODE enforce, audit or warn and LEVEL
privileged, baseline or restricted; a namespace without the label is ``privileged`` (the
admission default), an invalid value is an error of the admission configuration.

A parameterised check: the registry record requires ``enforce`` at ``restricted``;
``configure(level, mode)`` gives the variant ``assert_namespace_pod_security`` runs.
"""

from __future__ import annotations

import dataclasses

from pytest_k8ssec.checks._check import Category, Check, Evaluate, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.checks.pss import LABEL_PREFIX, compare_levels, namespace_policy
from pytest_k8ssec.model.objects import K8sObject

ID = "namespace-pod-security-too-weak"


def _evaluator(level: str, mode: str) -> Evaluate:
    key = LABEL_PREFIX + mode

    def evaluate(obj: K8sObject) -> list[Violation]:
        policy = namespace_policy(obj)
        declared = policy.mode(mode)
        label = f'metadata.labels["{key}"]'
        errors = [e for e in policy.errors if f"[{key}]" in e]
        if errors:
            return [Violation(label, f"{'; '.join(errors)} (the admission applies {declared.level})")]
        if key not in obj.labels:
            return [
                Violation(
                    label,
                    f'namespace "{obj.name}" sets no {key} label, so {mode} is {declared} (the admission '
                    f'default); want at least "{level}"',
                )
            ]
        if compare_levels(declared.level, level) < 0:
            return [
                Violation(label, f'namespace "{obj.name}" {mode}s PodSecurity "{declared}"; want at least "{level}"')
            ]
        return []

    return evaluate


def _summary(level: str, mode: str) -> str:
    return f"Namespaces must {mode} Pod Security level {level} or stricter."


def _remediation(level: str, mode: str) -> str:
    key = LABEL_PREFIX + mode
    return f"Label the namespace {key}={level} (and pin {key}-version if you need a fixed policy)."


CHECK = Check(
    id=ID,
    title="Namespace Pod Security level too weak",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    evaluate=_evaluator("restricted", "enforce"),
    targets=frozenset({"Namespace"}),
    controls=("CIS-5.2.1", "NSA-pod-security-enforcement", "MITRE-T1610"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-admission/",),
    helpers=("assert_namespace_pod_security",),
    parameters=(("level", "restricted"), ("mode", "enforce")),
    summary=_summary("restricted", "enforce"),
    remediation=_remediation("restricted", "enforce"),
)


@one_variant_per_argument
def configure(level: str = "restricted", mode: str = "enforce") -> Check:
    """The registry record requiring ``mode`` at ``level`` or stricter (values already validated)."""
    return dataclasses.replace(
        CHECK,
        evaluate=_evaluator(level, mode),
        summary=_summary(level, mode),
        remediation=_remediation(level, mode),
        parameters=(("level", level), ("mode", mode)),
    )
