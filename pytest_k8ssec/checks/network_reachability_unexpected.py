"""network-reachability-unexpected.

Kubernetes NetworkPolicy semantics: a connection is allowed when the source's egress and the
destination's ingress both allow it (policies are additive; a non-isolated side allows all).
NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening".

A requirement check: the test names the source, the destination and the port; run it with assert_reachable() or assert_not_reachable().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "network-reachability-unexpected"

CHECK = Check(
    id=ID,
    title="Connection allowed or denied against the requirement",
    summary="A connection must be allowed or denied as the test requires.",
    remediation="Change the NetworkPolicies the failure names so that they allow or deny the connection.",
    category=Category.NETWORK,
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_reachable", "assert_not_reachable"),
    controls=("NSA-net-policies",),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
)
