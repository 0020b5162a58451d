"""apparmor-unconfined.

Pod Security Standards, Baseline, "AppArmor": "On supported hosts, the 'runtime/default' AppArmor
profile is applied by default. The baseline policy should prevent overriding or disabling the
default AppArmor profile, or restrict overrides to an allowed set of profiles."
Restricted fields: ``spec.securityContext.appArmorProfile.type`` and the same field of every init,
regular and ephemeral container (allowed: undefined, ``RuntimeDefault``, ``Localhost``), and the
pod's ``metadata.annotations['container.apparmor.security.beta.kubernetes.io/*']`` (allowed:
undefined, empty, ``runtime/default``, ``localhost/*``) (k8s.io/pod-security-admission
``policy/check_appArmorProfile.go``, control ``appArmorProfile``, v1.0; the field part was added
to the v1.0 check without a new version, so it applies at every version).

For a controller the annotations are those of its pod template, as PSA reads them.

Builds on the upstream control (``checks/pss/check_apparmor_profile.py``, reported once per pod as
``pss-apparmor-profile``): each field and annotation it forbids is its own violation; a malformed
profile or annotation value, which the control reads as a forbidden one, is left to
malformed-object here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_apparmor_profile
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import pod_spec

ANNOTATION_PREFIX: Final = check_apparmor_profile.ANNOTATION_PREFIX


def _type(profile: object) -> str | None:
    """The type a set profile carries (``""`` when it has none), else ``None``.

    A non-mapping profile or a non-string type is a type error the API rejects; malformed-object
    reports it, so it is skipped here rather than guessed at.
    """
    if not isinstance(profile, Mapping):
        return None
    value = profile.get("type", "")
    if value is None:
        value = ""
    return value if isinstance(value, str) else None


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    found = outcome(check_apparmor_profile.CONTROL, obj)
    pod = pod_spec(obj)
    if found.allowed or pod is None:
        return
    path = f"{pod.path}.securityContext.appArmorProfile.type"
    bad = _type(pod_security_context(pod).get("appArmorProfile"))
    if bad is not None and path in found.paths:
        yield Violation(path, f'pod must not set securityContext.appArmorProfile.type to "{bad}"')
    for ref in containers(obj):
        path = f"{ref.path}.securityContext.appArmorProfile.type"
        bad = _type(ref.security_context.get("appArmorProfile"))
        if bad is not None and path in found.paths:
            yield Violation(
                path,
                f'container "{ref.name}" must not set securityContext.appArmorProfile.type to "{bad}"',
                ref.name,
            )
    annotations = as_mapping(pod.metadata.get("annotations"))
    # Sorted, so findings come in the same order whatever order the file lists them in.
    for key in sorted(k for k in annotations if isinstance(k, str) and k.startswith(ANNOTATION_PREFIX)):
        value = annotations[key]
        path = f'{pod.metadata_path}.annotations["{key}"]'
        if not isinstance(value, str) or path not in found.paths:
            continue  # a non-string value is malformed (a bare "key:" is an empty string, allowed)
        container = key[len(ANNOTATION_PREFIX) :]
        yield Violation(
            path,
            f'annotation {key} must not set AppArmor profile "{value}" '
            '(allowed: empty, "runtime/default", "localhost/<profile>")',
            container,
        )


CHECK = Check(
    id="apparmor-unconfined",
    title="AppArmor profile overridden",
    summary="Pods and containers must not disable or replace the default AppArmor profile, by field or by annotation.",
    remediation="Remove appArmorProfile types other than RuntimeDefault or Localhost, and AppArmor annotations other than runtime/default or localhost/<profile>.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("PSS-baseline-apparmor", "NSA-pod-security-enforcement", "MITRE-T1611"),
    references=(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/tutorials/security/apparmor/",
    ),
)
