"""PSS baseline ``windowsHostProcess`` (v1.0).

"Windows pods offer the ability to run HostProcess containers which enables privileged access to
the Windows host machine. Privileged access to the host is disallowed in the baseline policy."
Restricted fields: ``spec.securityContext.windowsOptions.hostProcess`` and the same field of every
container; allowed values: ``false``, undefined/null (k8s.io/pod-security-admission
``policy/check_windowsHostProcess.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, is_true, setters
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef


def windows_host_process_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    paths: list[str] = []
    names: list[str] = []
    for ref in containers(obj):
        if is_true(as_mapping(ref.security_context.get("windowsOptions")).get("hostProcess")):
            names.append(ref.name)
            paths.append(f"{ref.path}.securityContext.windowsOptions.hostProcess")
    pod_bad = is_true(as_mapping(pod_security_context(pod).get("windowsOptions")).get("hostProcess"))
    if pod_bad:
        paths.insert(0, f"{pod.path}.securityContext.windowsOptions.hostProcess")
    who = setters(pod_bad, names)
    if not who:
        return ALLOWED
    return forbidden(
        "hostProcess",
        f"{' and '.join(who)} must not set securityContext.windowsOptions.hostProcess=true",
        paths,
        names,
    )


CONTROL = Control(
    "windowsHostProcess", "baseline", (Versioned(v(1, 0), windows_host_process_1_0),), "pss-windows-host-process"
)

CHECK = make_check(
    CONTROL,
    title="PSS baseline: Windows HostProcess",
    summary="Windows pods and containers must not run as HostProcess containers (Pod Security Standards, baseline).",
    remediation="Remove windowsOptions.hostProcess or set it to false.",
    category=Category.HOST,
    severity=Severity.CRITICAL,
    controls=("CIS-5.2.10", "MITRE-T1611"),
)
