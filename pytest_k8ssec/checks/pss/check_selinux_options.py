"""PSS baseline ``seLinuxOptions`` (v1.0, v1.31).

"Setting the SELinux type is restricted, and setting a custom SELinux user or role option is
forbidden." Restricted fields: ``spec.securityContext.seLinuxOptions.type`` and the same field of
every container; allowed values: undefined/``""``, ``container_t``, ``container_init_t``,
``container_kvm_t``, and from v1.31 ``container_engine_t``. ``seLinuxOptions.user`` and ``.role``:
undefined/``""`` only (k8s.io/pod-security-admission ``policy/check_seLinuxOptions.go``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize, setters, text
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef

TYPES_1_0: Final = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
TYPES_1_31: Final = TYPES_1_0 | {"container_engine_t"}


def _check(pod: PodSpecRef, obj: K8sObject, allowed: frozenset[str]) -> Outcome:
    types: set[str] = set()
    flags = {"user": False, "role": False}
    paths: list[str] = []

    def valid(options: Mapping[str, Any], path: str) -> bool:
        ok = True
        kind = text(options.get("type"))
        if kind not in allowed:
            ok = False
            types.add(kind)
            paths.append(f"{path}.type")
        for key in ("user", "role"):
            if text(options.get(key)):
                ok = False
                flags[key] = True
                paths.append(f"{path}.{key}")
        return ok

    pod_options = pod_security_context(pod).get("seLinuxOptions")
    pod_bad = pod_options is not None and not valid(
        as_mapping(pod_options), f"{pod.path}.securityContext.seLinuxOptions"
    )
    names: list[str] = []
    for ref in containers(obj):
        options = ref.security_context.get("seLinuxOptions")
        if options is not None and not valid(as_mapping(options), f"{ref.path}.securityContext.seLinuxOptions"):
            names.append(ref.name)
    who = setters(pod_bad, names)
    if not who:
        return ALLOWED
    data = []
    if types:
        data.append(f"{pluralize('type', 'types', len(types))} {join_quote(sorted(types))}")
    if flags["user"]:
        data.append("user may not be set")
    if flags["role"]:
        data.append("role may not be set")
    return forbidden(
        "seLinuxOptions",
        f"{' and '.join(who)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}",
        paths,
        names,
    )


def selinux_options_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    return _check(pod, obj, TYPES_1_0)


def selinux_options_1_31(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    return _check(pod, obj, TYPES_1_31)


CONTROL = Control(
    "seLinuxOptions",
    "baseline",
    (Versioned(v(1, 0), selinux_options_1_0), Versioned(v(1, 31), selinux_options_1_31)),
    "pss-selinux-options",
)

CHECK = make_check(
    CONTROL,
    title="PSS baseline: SELinux options",
    summary="Pods and containers must not set a custom SELinux user or role, nor a type outside the container types (Pod Security Standards, baseline).",
    remediation="Remove seLinuxOptions.user and .role; use a container_* SELinux type or none.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    controls=("NSA-pod-security-enforcement", "MITRE-T1611"),
)
