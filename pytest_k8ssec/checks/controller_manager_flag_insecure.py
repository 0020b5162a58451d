"""controller-manager-flag-insecure.

CIS Kubernetes Benchmark v1.12, section 1.3 "Controller Manager": kube-controller-manager's
flags, judged on their effective values (its defaults when unset: ``--profiling`` true,
``--use-service-account-credentials`` false, ``--bind-address`` 0.0.0.0, feature gate
RotateKubeletServerCertificate on). Which items and how: ``checks/_components.py``.

Runs on every container whose ``command`` starts kube-controller-manager (static-pod manifests);
a running process is judged by ``assert_component_flags``. Each finding names its CIS item; the
check claims NSA's "Control plane hardening" (every finding is one).
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._components import container_violations, controls_of
from pytest_k8ssec.model.components import CONTROLLER_MANAGER
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    return container_violations(obj, CONTROLLER_MANAGER)


CHECK = Check(
    id="controller-manager-flag-insecure",
    title="Controller manager flag insecure",
    summary="kube-controller-manager's flags must follow CIS section 1.3 (profiling, credentials, keys, bind address).",
    remediation="Set the flag each finding names in the kube-controller-manager command (its static-pod manifest).",
    category=Category.CONTROL_PLANE,
    controls=("NSA-net-control-plane",),
    finding_controls=controls_of(CONTROLLER_MANAGER),
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    references=(
        "https://www.cisecurity.org/benchmark/kubernetes",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
    ),
)
