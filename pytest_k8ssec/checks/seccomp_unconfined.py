"""seccomp-unconfined.

Pod Security Standards, Restricted, "Seccomp": "Seccomp profiles must be specified, and only runtime
default and localhost profiles are allowed." Restricted fields: ``spec.securityContext.seccompProfile.type``
and ``securityContext.seccompProfile.type`` of every init, regular and ephemeral container;
allowed values: ``RuntimeDefault``, ``Localhost``; "container-level fields may be undefined if
pod-level field is specified" (k8s.io/pod-security-admission ``policy/check_seccompProfile_restricted.go``,
control ``seccompProfile_restricted``, v1.19+).

As in PSA, an explicit bad value fails wherever it is set, even on a pod whose containers all set
their own valid profile, and a ``seccompProfile`` without a ``type`` counts as type ``""`` (bad).
Pods with ``spec.os.name: windows`` are exempt, as in PSA v1.25+: the API server forbids
seccompProfile on them, so the requirement could not be met.

This check does not claim the PSS control (``pss-seccomp-profile-restricted``,
``checks/pss/check_seccomp_profile_restricted.py``, implements it exactly) because its rule
deliberately differs in two ways:

- it reports every fault at once: PSA reports the explicit bad profiles and mentions the
  containers left without any profile only when there is no explicit bad one, so fixing one
  finding would reveal the next; here both are listed;
- a ``seccompProfile`` that is not a mapping (a type error) sets nothing here, so the container
  must still get a valid profile from the pod or fails as unset (fail closed); PSA reads it as a
  profile of type ``""``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import is_windows, pod_security_context
from pytest_k8ssec.model.workloads import pod_spec

ALLOWED_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})


def _profile_type(profile: object) -> str | None:
    """The profile's type if a profile is set (``""`` when it names none), else ``None``.

    Only a mapping with a string (or absent) type is a profile: null is "unset", and any other
    shape is a type error the API rejects (malformed-object reports it). Such a value sets
    nothing here, so the container must still get a valid profile from somewhere: fail closed.
    """
    if not isinstance(profile, Mapping):
        return None
    value = profile.get("type")
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is None or is_windows(pod):
        return
    pod_type = _profile_type(pod_security_context(pod).get("seccompProfile"))
    if pod_type is not None and pod_type not in ALLOWED_TYPES:
        yield Violation(
            f"{pod.path}.securityContext.seccompProfile.type",
            f'pod must not set securityContext.seccompProfile.type to "{pod_type}"',
        )
    for ref in containers(obj):
        own = _profile_type(ref.security_context.get("seccompProfile"))
        path = f"{ref.path}.securityContext.seccompProfile.type"
        if own is not None:
            if own not in ALLOWED_TYPES:
                yield Violation(
                    path,
                    f'container "{ref.name}" must not set securityContext.seccompProfile.type to "{own}"',
                    ref.name,
                )
        elif pod_type is None:
            # Neither the container nor the pod sets a profile. A container that inherits an
            # explicitly bad pod profile gets no second violation: fixing the pod fixes it (PSA
            # likewise reports only the explicit setters then).
            yield Violation(
                path,
                f'pod or container "{ref.name}" must set securityContext.seccompProfile.type '
                'to "RuntimeDefault" or "Localhost"',
                ref.name,
            )


CHECK = Check(
    id="seccomp-unconfined",
    title="Seccomp profile not set",
    summary="Every container must run under the RuntimeDefault or a Localhost seccomp profile, set on the pod or the container.",
    remediation="Set spec.securityContext.seccompProfile.type: RuntimeDefault on the pod (or Localhost with a reviewed profile), and remove any Unconfined profile.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("CIS-5.6.2", "NSA-pod-security-enforcement", "NSA-pod-hardening", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/tutorials/security/seccomp/",),
)
