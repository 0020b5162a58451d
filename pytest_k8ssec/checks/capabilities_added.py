"""capabilities-added.

Pod Security Standards, Baseline, "Capabilities": adding additional capabilities beyond those
listed below must be disallowed. Restricted fields:
``spec.containers[*].securityContext.capabilities.add`` (and init and ephemeral containers);
allowed values: undefined/nil, AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD,
NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT.

Builds on the upstream control (``checks/pss/check_capabilities_baseline.py``, reported once per
pod as ``pss-capabilities-baseline``) and its allowed set: the containers it forbids are reported
one by one; a non-string entry, which the control reads as a forbidden name, is left to
malformed-object here.

``configure(allowed)`` gives the same check with another allowed set, for suites stricter (or
looser) than the baseline, such as ``assert_capabilities(objs, allowed_add=["NET_BIND_SERVICE"])``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.checks.pss import check_capabilities_baseline
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping

# Exact, case-sensitive strings without a "CAP_" prefix, as PSA's capabilities_baseline compares
# them: "chown" or "CAP_CHOWN" are reported although a runtime would grant CHOWN for them, so a
# manifest we pass is never one that a baseline namespace rejects.
BASELINE_CAPABILITIES: Final = check_capabilities_baseline.ALLOWED_1_0


def _quote(values: Iterable[str]) -> str:
    return ", ".join(f'"{value}"' for value in values)


def _evaluator(allowed: frozenset[str]) -> Callable[[K8sObject], Iterator[Violation]]:
    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        # The baseline set is the upstream control's: it decides which containers are at fault.
        found = outcome(check_capabilities_baseline.CONTROL, obj) if allowed == BASELINE_CAPABILITIES else None
        if found is not None and found.allowed:
            return
        for ref in containers(obj):
            if found is not None and f"{ref.path}.securityContext.capabilities.add" not in found.paths:
                continue
            capabilities = as_mapping(ref.security_context.get("capabilities"))
            added = as_list(capabilities.get("add"))
            # Declaration order, each value once: the message then reads like the manifest.
            # Non-string entries are malformed (malformed-object reports them).
            forbidden = dict.fromkeys(value for value in added if isinstance(value, str) and value not in allowed)
            if forbidden:
                yield Violation(
                    f"{ref.path}.securityContext.capabilities.add",
                    f'container "{ref.name}" must not include {_quote(forbidden)} in securityContext.capabilities.add',
                    ref.name,
                )

    return evaluate


CHECK = Check(
    id="capabilities-added",
    title="Capabilities added beyond the default set",
    summary=(
        "Containers must not add Linux capabilities beyond the Pod Security baseline set "
        "(the container runtime's defaults minus NET_RAW)."
    ),
    remediation=(
        "Remove the listed capabilities from securityContext.capabilities.add, or justify them with a waiver."
    ),
    category=Category.PRIVILEGES,
    severity=Severity.MEDIUM,
    evaluate=_evaluator(BASELINE_CAPABILITIES),
    controls=("PSS-baseline-capabilities", "CIS-5.2.9", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)


def configure(allowed: Iterable[str]) -> Check:
    """``CHECK`` with ``allowed`` as the capabilities a container may add (exact, case-sensitive).

    The variant keeps the id, so findings, waivers and reports treat it as this check; it builds on
    the PSS control only when ``allowed`` is exactly the baseline set.
    """
    if isinstance(allowed, str):
        # A bare string would iterate over its letters and silently allow nothing sensible.
        raise TypeError(f"allowed must be a collection of capability names, not {allowed!r}")
    allowed_set = frozenset(allowed)
    bad = sorted(repr(value) for value in allowed_set if not isinstance(value, str))
    if bad:
        raise TypeError(f"capability names must be strings, got {', '.join(bad)}")
    if allowed_set == BASELINE_CAPABILITIES:
        return CHECK
    return _configured(allowed_set)


@one_variant_per_argument
def _configured(allowed_set: frozenset[str]) -> Check:
    listed = _quote(sorted(allowed_set)) if allowed_set else "none"
    return dataclasses.replace(
        CHECK,
        summary=f"Containers may add only these Linux capabilities: {listed}.",
        evaluate=_evaluator(allowed_set),
    )
