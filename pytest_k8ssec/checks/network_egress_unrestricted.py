"""network-egress-unrestricted.

Kubernetes NetworkPolicy, egress isolation: a pod not isolated for egress, or allowed to an
``ipBlock`` covering public addresses, can reach the internet. NSA/CISA Kubernetes Hardening
Guide, "Network policies": restrict egress to what the workload needs.

A requirement check: the helper computes the internet's port classes (not yet in the model); run it with assert_egress_restricted().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "network-egress-unrestricted"

CHECK = Check(
    id=ID,
    title="Egress to the internet allowed",
    summary="A workload must be isolated for egress and reach no internet address on any port.",
    remediation="Select the workload with an Egress NetworkPolicy whose rules name in-cluster peers or private ranges only.",
    category=Category.NETWORK,
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_egress_restricted",),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
)
