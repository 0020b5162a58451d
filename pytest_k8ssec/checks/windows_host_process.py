"""windows-host-process.

Pod Security Standards, Baseline, "HostProcess": Windows Pods offer the ability to run HostProcess
containers which enables privileged access to the Windows host machine. Privileged access to the
host is disallowed in the Baseline policy. Restricted fields:
``spec.securityContext.windowsOptions.hostProcess`` and ``securityContext.windowsOptions.hostProcess``
of every init, regular and ephemeral container; allowed values: undefined/nil, ``false``
(k8s.io/pod-security-admission ``policy/check_windowsHostProcess.go``, v1.0+).

Builds on the upstream control (``checks/pss/check_windows_host_process.py``, reported once per pod
as ``pss-windows-host-process``): same verdict, one violation per pod or container that sets it.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_windows_host_process
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import pod_spec


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    found = outcome(check_windows_host_process.CONTROL, obj)
    pod = pod_spec(obj)
    if found.allowed or pod is None:
        return
    path = f"{pod.path}.securityContext.windowsOptions.hostProcess"
    if path in found.paths:
        yield Violation(path, "pod must not set securityContext.windowsOptions.hostProcess=true")
    for ref in containers(obj):
        path = f"{ref.path}.securityContext.windowsOptions.hostProcess"
        if path in found.paths:
            yield Violation(
                path,
                f'container "{ref.name}" must not set securityContext.windowsOptions.hostProcess=true',
                ref.name,
            )


CHECK = Check(
    id="windows-host-process",
    title="Windows HostProcess container",
    summary="Windows pods must not run HostProcess containers: they run as a process on the host with its privileges.",
    remediation="Remove windowsOptions.hostProcess or set it to false; run node-level Windows tooling outside application namespaces.",
    category=Category.HOST,
    severity=Severity.CRITICAL,
    evaluate=_evaluate,
    controls=("PSS-baseline-hostprocess", "CIS-5.2.10", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
