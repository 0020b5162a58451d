"""kubelet-config-insecure.

CIS Kubernetes Benchmark v1.12, section 4.2 "Kubelet", on a KubeletConfiguration file (the
kubelet's ``--config``, ``/var/lib/kubelet/config.yaml`` on kubeadm nodes). The file's fields are
judged with their ``kubelet.config.k8s.io/v1beta1`` defaults when unset (anonymous auth off,
authorization ``Webhook``, ``readOnlyPort`` 0, ``rotateCertificates`` and
``protectKernelDefaults`` false): a file alone is what a kubelet started with only ``--config``
runs. Flags on the kubelet's command line override the file; ``assert_component_flags`` judges a
running kubelet with both (and without a file the flag defaults, which are the insecure ones:
anonymous auth on, ``AlwaysAllow``, read-only port 10255).

``protectKernelDefaults`` has no item in v1.12 (it was 4.2.6 up to v1.9) and is reported with no
control; each other finding names its CIS item. The check claims NSA's "Control plane hardening", whose
worker-node part is the kubelet's API.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._components import config_violations, controls_of
from pytest_k8ssec.model.components import KUBELET
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    return config_violations(obj)


CHECK = Check(
    id="kubelet-config-insecure",
    title="Kubelet configuration insecure",
    summary="A KubeletConfiguration must follow CIS section 4.2 (no anonymous auth, authorization, read-only port off, certificate rotation).",
    remediation="Set the field each finding names in the kubelet config file, with no kubelet flag overriding it.",
    category=Category.CONTROL_PLANE,
    controls=("NSA-net-control-plane",),
    finding_controls=controls_of(KUBELET),
    severity=Severity.HIGH,
    evaluate=_evaluate,
    targets=frozenset({"KubeletConfiguration"}),
    references=(
        "https://www.cisecurity.org/benchmark/kubernetes",
        "https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/",
    ),
)
