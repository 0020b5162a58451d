"""apiserver-flag-insecure.

CIS Kubernetes Benchmark v1.12, section 1.2 "API Server": the kube-apiserver's flags, each
recommendation judged on the flag's effective value (kube-apiserver's own default when unset:
``--anonymous-auth`` true, ``--profiling`` true, ``--authorization-mode`` AlwaysAllow, admission
plugins NamespaceLifecycle and ServiceAccount on, NodeRestriction, AlwaysAdmit, AlwaysPullImages,
EventRateLimit and DenyServiceExternalIPs off). Which items and how: ``checks/_components.py``.

Runs on every container whose ``command`` starts kube-apiserver (a static-pod manifest from
``/etc/kubernetes/manifests``, or a hosted control plane's Deployment), as checkov does; a
running process is judged by ``assert_component_flags``. A finding names the CIS item, the flag,
its effective value and where it was set, and the fix. The check claims NSA's "Control plane
hardening" (every finding is one); each finding names its own CIS item, and the ``cis_nodes``
suite has one test per item, marked with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._components import container_violations, controls_of
from pytest_k8ssec.model.components import APISERVER
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    return container_violations(obj, APISERVER)


CHECK = Check(
    id="apiserver-flag-insecure",
    title="API server flag insecure",
    summary="kube-apiserver's flags must follow CIS section 1.2 (authentication, authorization, admission, audit, TLS, profiling).",
    remediation="Set the flag each finding names in the kube-apiserver command (its static-pod manifest).",
    category=Category.CONTROL_PLANE,
    controls=("NSA-net-control-plane",),
    finding_controls=controls_of(APISERVER),
    severity=Severity.HIGH,
    evaluate=_evaluate,
    references=(
        "https://www.cisecurity.org/benchmark/kubernetes",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
    ),
)
