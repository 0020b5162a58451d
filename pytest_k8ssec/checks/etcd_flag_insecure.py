"""etcd-flag-insecure.

CIS Kubernetes Benchmark v1.12, section 2 "Etcd Node Configuration": client and peer TLS
(``--cert-file``/``--key-file``, ``--peer-cert-file``/``--peer-key-file``), client certificate
authentication (``--client-cert-auth``, ``--peer-client-cert-auth``: default false) and no
self-signed certificates (``--auto-tls``, ``--peer-auto-tls``). etcd parses with Go's ``flag``
package and reads an unset flag from ``ETCD_<FLAG>``; with ``--config-file`` it ignores its flags,
so that file is reported as not judged (fail closed).

Runs on every container whose ``command`` starts etcd (static-pod manifests); a running process is
judged by ``assert_component_flags``. Each finding names its CIS item; the check claims NSA's "Control
plane hardening" (every finding is one).
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._components import container_violations, controls_of
from pytest_k8ssec.model.components import ETCD
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    return container_violations(obj, ETCD)


CHECK = Check(
    id="etcd-flag-insecure",
    title="Etcd flag insecure",
    summary="etcd's flags must follow CIS section 2 (client and peer TLS with certificate authentication).",
    remediation="Set the flag each finding names in the etcd command (its static-pod manifest).",
    category=Category.CONTROL_PLANE,
    controls=("NSA-net-control-plane",),
    finding_controls=controls_of(ETCD),
    severity=Severity.HIGH,
    evaluate=_evaluate,
    references=(
        "https://www.cisecurity.org/benchmark/kubernetes",
        "https://etcd.io/docs/latest/op-guide/security/",
    ),
)
