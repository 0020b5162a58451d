"""PSS restricted ``seccompProfile_restricted`` (v1.19, v1.25; overrides ``seccompProfile_baseline``).

"Seccomp profile must be explicitly set to one of the allowed values. Both the Unconfined profile
and the absence of a profile are prohibited." Restricted fields:
``spec.securityContext.seccompProfile.type`` and the same field of every container; allowed
values: ``RuntimeDefault``, ``Localhost``; container-level fields may be undefined if the pod sets
one. From v1.25 pods with ``spec.os.name: windows`` are exempt (k8s.io/pod-security-admission
``policy/check_seccompProfile_restricted.go``).
"""

from __future__ import annotations

from typing import Final

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import (
    ALLOWED,
    Outcome,
    forbidden,
    join_quote,
    pluralize,
    setters,
    text,
)
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.security import is_windows, pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef

VALID_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})


def seccomp_profile_restricted_1_19(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    values: set[str] = set()
    explicit_paths: list[str] = []
    pod_bad = pod_ok = False
    profile = pod_security_context(pod).get("seccompProfile")
    if profile is not None:
        kind = text(as_mapping(profile).get("type"))
        if kind in VALID_TYPES:
            pod_ok = True
        else:
            pod_bad = True
            values.add(kind)
            explicit_paths.append(f"{pod.path}.securityContext.seccompProfile.type")
    explicit: list[str] = []
    implicit: list[str] = []
    implicit_paths: list[str] = []
    for ref in containers(obj):
        profile = ref.security_context.get("seccompProfile")
        if profile is not None:
            kind = text(as_mapping(profile).get("type"))
            if kind not in VALID_TYPES:
                explicit.append(ref.name)
                values.add(kind)
                explicit_paths.append(f"{ref.path}.securityContext.seccompProfile.type")
        elif not pod_ok:
            implicit.append(ref.name)
            implicit_paths.append(f"{ref.path}.securityContext.seccompProfile.type")
    who = setters(pod_bad, explicit)
    if who:
        return forbidden(
            "seccompProfile",
            f"{' and '.join(who)} must not set securityContext.seccompProfile.type to {join_quote(sorted(values))}",
            explicit_paths,
            explicit,
        )
    if implicit:
        return forbidden(
            "seccompProfile",
            f"pod or {pluralize('container', 'containers', len(implicit))} {join_quote(implicit)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
            implicit_paths,
            implicit,
        )
    return ALLOWED


def seccomp_profile_restricted_1_25(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    # The API server rejects seccompProfile on Windows pods, so it cannot be required.
    if is_windows(pod):
        return ALLOWED
    return seccomp_profile_restricted_1_19(pod, obj)


_OVERRIDES = ("seccompProfile_baseline",)
CONTROL = Control(
    "seccompProfile_restricted",
    "restricted",
    (
        Versioned(v(1, 19), seccomp_profile_restricted_1_19, _OVERRIDES),
        Versioned(v(1, 25), seccomp_profile_restricted_1_25, _OVERRIDES),
    ),
    "pss-seccomp-profile-restricted",
)

CHECK = make_check(
    CONTROL,
    title="PSS restricted: seccomp profile required",
    summary="Pods must run with the RuntimeDefault or a Localhost seccomp profile, set on the pod or on every container (Pod Security Standards, restricted).",
    remediation="Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost) and never Unconfined.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    controls=("CIS-5.6.2", "NSA-pod-security-enforcement", "NSA-pod-hardening", "MITRE-T1611"),
)
