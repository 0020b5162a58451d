"""custom-selinux-options.

Pod Security Standards, Baseline, "SELinux": "Setting the SELinux type is restricted, and setting a
custom SELinux user or role option is forbidden." Restricted fields: ``seLinuxOptions.type``,
``.user`` and ``.role`` of ``spec.securityContext`` and of every init, regular and ephemeral
container's ``securityContext``; allowed type: undefined/empty, ``container_t``,
``container_init_t``, ``container_kvm_t``, and from policy v1.31 ``container_engine_t``; user and
role: undefined/empty (k8s.io/pod-security-admission ``policy/check_seLinuxOptions.go``, control
``seLinuxOptions``, v1.0 and v1.31; this check applies the newest version).

Builds on the upstream control (``checks/pss/check_selinux_options.py``, reported once per pod as
``pss-selinux-options``): each field it forbids is its own violation, so the path says which of
type, user or role to fix; a non-string value, which the control reads as a forbidden one, is left
to malformed-object here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_selinux_options
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import pod_spec


def _string(options: Mapping[str, object], key: str) -> str | None:
    """``options[key]`` as a string (``""`` when unset); ``None`` for a non-string (malformed, skipped)."""
    value = options.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def _violations(
    options: object, path: str, who: str, container: str | None, forbidden: tuple[str, ...]
) -> Iterator[Violation]:
    if not isinstance(options, Mapping):
        return
    selinux_type = _string(options, "type")
    if selinux_type is not None and f"{path}.type" in forbidden:
        yield Violation(
            f"{path}.type",
            f'{who} must not set securityContext.seLinuxOptions.type to "{selinux_type}"',
            container,
        )
    for key in ("user", "role"):
        value = _string(options, key)
        if value and f"{path}.{key}" in forbidden:
            yield Violation(
                f"{path}.{key}",
                f'{who} must not set securityContext.seLinuxOptions.{key} (set to "{value}")',
                container,
            )


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    found = outcome(check_selinux_options.CONTROL, obj)
    pod = pod_spec(obj)
    if found.allowed or pod is None:
        return
    yield from _violations(
        pod_security_context(pod).get("seLinuxOptions"),
        f"{pod.path}.securityContext.seLinuxOptions",
        "pod",
        None,
        found.paths,
    )
    for ref in containers(obj):
        yield from _violations(
            ref.security_context.get("seLinuxOptions"),
            f"{ref.path}.securityContext.seLinuxOptions",
            f'container "{ref.name}"',
            ref.name,
            found.paths,
        )


CHECK = Check(
    id="custom-selinux-options",
    title="Custom SELinux options",
    summary="Pods and containers must not set a custom SELinux user or role, or an SELinux type outside the container types.",
    remediation="Remove seLinuxOptions.user and .role, and set seLinuxOptions.type only to container_t, container_init_t, container_kvm_t or container_engine_t.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("PSS-baseline-selinux", "NSA-pod-security-enforcement", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
