"""PSS baseline ``seccompProfile_baseline`` (v1.0, v1.19).

"Seccomp profile must not be explicitly set to Unconfined." v1.0 to v1.18 read the annotations
``seccomp.security.alpha.kubernetes.io/pod`` and ``container.seccomp.security.alpha.kubernetes.io/*``
(allowed: ``runtime/default``, ``docker/default``, ``localhost/*``, undefined); v1.19+ reads
``spec.securityContext.seccompProfile.type`` and the same field of every container (allowed:
``RuntimeDefault``, ``Localhost``, undefined) and ignores the annotations
(k8s.io/pod-security-admission ``policy/check_seccompProfile_baseline.go``). Restricted v1.19+
overrides it with ``seccompProfile_restricted``.
"""

from __future__ import annotations

from typing import Final

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import (
    ALLOWED,
    Outcome,
    forbidden,
    go_quote,
    join_quote,
    pluralize,
    scan_profile_types,
    setters,
    text,
)
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef

POD_ANNOTATION: Final = "seccomp.security.alpha.kubernetes.io/pod"
CONTAINER_ANNOTATION_PREFIX: Final = "container.seccomp.security.alpha.kubernetes.io/"
VALID_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})


def _valid_annotation(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def seccomp_profile_baseline_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    annotations = as_mapping(pod.metadata.get("annotations"))
    found: dict[str, str] = {}  # formatted -> annotation key
    keys = [POD_ANNOTATION, *(CONTAINER_ANNOTATION_PREFIX + ref.name for ref in containers(obj))]
    for key in keys:
        if key in annotations:
            value = text(annotations[key])
            if not _valid_annotation(value):
                found.setdefault(f"{key}={go_quote(value)}", key)
    if not found:
        return ALLOWED
    formatted = sorted(found)
    return forbidden(
        "seccompProfile",
        f"forbidden {pluralize('annotation', 'annotations', len(formatted))} {', '.join(formatted)}",
        [f'{pod.metadata_path}.annotations["{found[item]}"]' for item in formatted],
    )


def seccomp_profile_baseline_1_19(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    scan = scan_profile_types(pod, obj, "seccompProfile", VALID_TYPES)
    values, paths, names = scan.values, scan.paths, scan.names
    who = setters(scan.pod_bad, names)
    if not who:
        return ALLOWED
    return forbidden(
        "seccompProfile",
        f"{' and '.join(who)} must not set securityContext.seccompProfile.type to {join_quote(sorted(values))}",
        paths,
        names,
    )


CONTROL = Control(
    "seccompProfile_baseline",
    "baseline",
    (Versioned(v(1, 0), seccomp_profile_baseline_1_0), Versioned(v(1, 19), seccomp_profile_baseline_1_19)),
    "pss-seccomp-profile-baseline",
)

CHECK = make_check(
    CONTROL,
    title="PSS baseline: seccomp profile not Unconfined",
    summary="Pods and containers must not set the seccomp profile to Unconfined (Pod Security Standards, baseline).",
    remediation="Set seccompProfile.type to RuntimeDefault or Localhost, or leave it unset.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    controls=("NSA-pod-security-enforcement", "NSA-pod-hardening", "MITRE-T1611"),
)
