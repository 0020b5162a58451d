"""PSS restricted ``capabilities_restricted`` (v1.22, v1.25; overrides ``capabilities_baseline``).

"Containers must drop ALL capabilities, and are only permitted to add back the NET_BIND_SERVICE
capability." Restricted fields: ``spec.containers[*].securityContext.capabilities.drop`` (must
include ``ALL``, exactly) and ``.capabilities.add`` (undefined/empty or ``NET_BIND_SERVICE``), for
init and ephemeral containers too. From v1.25 pods with ``spec.os.name: windows`` are exempt
(k8s.io/pod-security-admission ``policy/check_capabilities_restricted.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize, text
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.security import is_windows
from pytest_k8ssec.model.workloads import PodSpecRef


def capabilities_restricted_1_22(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    missing: list[str] = []
    adding: list[str] = []
    added: set[str] = set()
    paths: list[str] = []
    for ref in containers(obj):
        capabilities = ref.security_context.get("capabilities")
        if capabilities is None:
            missing.append(ref.name)
            paths.append(f"{ref.path}.securityContext.capabilities.drop")
            continue
        capabilities = as_mapping(capabilities)
        if "ALL" not in as_list(capabilities.get("drop")):
            missing.append(ref.name)
            paths.append(f"{ref.path}.securityContext.capabilities.drop")
        bad = [text(c) for c in as_list(capabilities.get("add")) if c != "NET_BIND_SERVICE"]
        if bad:
            adding.append(ref.name)
            added.update(bad)
            paths.append(f"{ref.path}.securityContext.capabilities.add")
    details = []
    if missing:
        details.append(
            f"{pluralize('container', 'containers', len(missing))} {join_quote(missing)} must set "
            'securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{pluralize('container', 'containers', len(adding))} {join_quote(adding)} must not include "
            f"{join_quote(sorted(added))} in securityContext.capabilities.add"
        )
    if not details:
        return ALLOWED
    return forbidden("unrestricted capabilities", "; ".join(details), paths, [*missing, *adding])


def capabilities_restricted_1_25(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    # The API server rejects capabilities on Windows pods, so dropping ALL cannot be required.
    if is_windows(pod):
        return ALLOWED
    return capabilities_restricted_1_22(pod, obj)


_OVERRIDES = ("capabilities_baseline",)
CONTROL = Control(
    "capabilities_restricted",
    "restricted",
    (
        Versioned(v(1, 22), capabilities_restricted_1_22, _OVERRIDES),
        Versioned(v(1, 25), capabilities_restricted_1_25, _OVERRIDES),
    ),
    "pss-capabilities-restricted",
)

CHECK = make_check(
    CONTROL,
    title="PSS restricted: capabilities",
    summary="Every container must drop ALL capabilities and may add back only NET_BIND_SERVICE (Pod Security Standards, restricted).",
    remediation='Set securityContext.capabilities.drop: ["ALL"] on every container and add nothing but NET_BIND_SERVICE.',
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    controls=("CIS-5.2.8", "CIS-5.2.9", "MITRE-T1611"),
)
