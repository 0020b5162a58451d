"""PSS baseline ``appArmorProfile`` (v1.0).

"On supported hosts, the RuntimeDefault AppArmor profile is applied by default. The baseline
policy should prevent overriding or disabling the default AppArmor profile, or restrict overrides
to an allowed set of profiles." Restricted fields: ``spec.securityContext.appArmorProfile.type``
and the same field of every container (allowed: ``RuntimeDefault``, ``Localhost``, undefined), and
``metadata.annotations['container.apparmor.security.beta.kubernetes.io/*']`` (allowed:
``runtime/default``, ``localhost/*``, empty, undefined) (k8s.io/pod-security-admission
``policy/check_appArmorProfile.go``; the field part was added to the v1.0 check unversioned).
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
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef

ANNOTATION_PREFIX: Final = "container.apparmor.security.beta.kubernetes.io/"
ALLOWED_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_annotation(value: str) -> bool:
    return value in ("", "runtime/default") or value.startswith("localhost/")


def apparmor_profile_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    scan = scan_profile_types(pod, obj, "appArmorProfile", ALLOWED_TYPES)
    values, paths, names = scan.values, scan.paths, scan.names
    who = setters(scan.pod_bad, names)
    bad_values = sorted(values)
    annotations = as_mapping(pod.metadata.get("annotations"))
    bad_annotations = sorted(
        (key, text(value))
        for key, value in annotations.items()
        if isinstance(key, str) and key.startswith(ANNOTATION_PREFIX) and not _allowed_annotation(text(value))
    )
    if bad_annotations:
        bad_values += sorted(f"{key}={go_quote(value)}" for key, value in bad_annotations)
        who.append(pluralize("annotation", "annotations", len(bad_annotations)))
        paths += [f'{pod.metadata_path}.annotations["{key}"]' for key, _ in bad_annotations]
    if not who:
        return ALLOWED
    return forbidden(
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(bad_values)),
        f"{' and '.join(who)} must not set AppArmor profile type to {join_quote(bad_values)}",
        paths,
        names,
    )


CONTROL = Control("appArmorProfile", "baseline", (Versioned(v(1, 0), apparmor_profile_1_0),), "pss-apparmor-profile")

CHECK = make_check(
    CONTROL,
    title="PSS baseline: AppArmor profile",
    summary="Pods and containers must not disable or override the default AppArmor profile (Pod Security Standards, baseline).",
    remediation="Set appArmorProfile.type to RuntimeDefault or Localhost (or leave it unset); drop Unconfined AppArmor annotations.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    controls=("NSA-pod-security-enforcement", "MITRE-T1611"),
)
