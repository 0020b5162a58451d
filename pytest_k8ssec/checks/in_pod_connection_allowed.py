"""in-pod-connection-allowed.

Kubernetes NetworkPolicy, "Isolated and Non-isolated Pods": a connection is allowed only when the
source's egress and the destination's ingress both allow it. NSA/CISA Kubernetes Hardening Guide,
"Network separation and hardening": use network policies to isolate resources. Seen from inside the
source container: one real connection attempt that the test requires blocked got through, so a
policy is missing, too wide, or not enforced by the network plugin.

A requirement check: the test names the source container, the destination and the port; run it with assert_in_pod_cannot_connect().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "in-pod-connection-allowed"

CHECK = Check(
    id=ID,
    title="Real connection got through that must be blocked",
    summary="A connection from inside the container that the test requires blocked must not connect.",
    remediation=(
        "Add a NetworkPolicy selecting the destination (ingress) or the source (egress) that does not allow "
        "this port, and check that the cluster's network plugin enforces NetworkPolicy."
    ),
    category=Category.NETWORK,
    severity=Severity.HIGH,
    targets=frozenset(),
    controls=("NSA-net-policies", "MITRE-T1046"),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
    helpers=("assert_in_pod_cannot_connect",),
)
