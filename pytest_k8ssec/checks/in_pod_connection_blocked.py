"""in-pod-connection-blocked.

Kubernetes NetworkPolicy, "Isolated and Non-isolated Pods": a connection is allowed when the
source's egress and the destination's ingress both allow it (policies are additive). Seen from
inside the source container: one real connection attempt that the test requires to connect was
refused, timed out or found no route.

It claims no security control: a connection that should get through and does not is an outage (a
policy too tight, a server not listening), not a weakness an attacker uses, and no framework of
the catalog asks for it. Its failures say which required path broke; its severity is low.

A requirement check: the test names the source container, the destination and the port; run it with assert_in_pod_connects().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "in-pod-connection-blocked"

CHECK = Check(
    id=ID,
    title="Required real connection was blocked",
    summary="A connection from inside the container that the test requires must connect.",
    remediation=(
        "Allow this port in the NetworkPolicies selecting the destination (ingress) and the source (egress), "
        "and check that the destination listens on it."
    ),
    category=Category.NETWORK,
    severity=Severity.LOW,
    targets=frozenset(),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
    helpers=("assert_in_pod_connects",),
)
