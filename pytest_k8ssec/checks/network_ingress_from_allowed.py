"""network-ingress-from-allowed.

Kubernetes NetworkPolicy, ``ipBlock`` peers and rules without ``from``: an ingress rule admits
the address ranges its peers name (all addresses when it names none). NSA/CISA Kubernetes
Hardening Guide: restrict ingress to what the workload must serve.

A requirement check: the test names the address range; run it with assert_no_ingress_from().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "network-ingress-from-allowed"

CHECK = Check(
    id=ID,
    title="Ingress allowed from an address range",
    summary="A workload must accept no connection from the address range the test names, on any port.",
    remediation="Remove or narrow the ingress rules (ipBlock, or rules without from) that admit the range.",
    category=Category.NETWORK,
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_no_ingress_from",),
    controls=("NSA-net-policies",),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
)
