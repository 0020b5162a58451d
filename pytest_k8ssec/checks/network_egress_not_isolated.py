"""network-egress-not-isolated.

Kubernetes NetworkPolicy, "Isolated and Non-isolated Pods": by default a pod is non-isolated for
egress (it may open connections to any address); it is isolated for egress when some
NetworkPolicy in its namespace selects it and has ``Egress`` in its policyTypes (a policy that
omits policyTypes gets ``Egress`` only when it has egress rules). NSA/CISA Kubernetes Hardening
Guide, "Network policies": select every pod with a policy, for ingress and for egress.

This is network-not-isolated's egress variant (``network_not_isolated.configure("egress")``, the
one ``assert_isolated(..., direction="egress")`` asks) given a registry record of its own: the
same model and the same evaluation, another id. The id is what keeps the two directions apart
where it matters: a baseline fingerprint is (target, object, check id, field path) and a waiver
names a check id, and both directions report at the workload's pod labels. Under one id, an
ingress finding recorded in a baseline would also hide the egress finding of the same workload,
and no waiver could name one direction; and ``assert_passes``, ``--k8s-controls``, the docs and
SARIF could only ever see ingress.
"""

from __future__ import annotations

import dataclasses

from pytest_k8ssec.checks import network_not_isolated

ID = "network-egress-not-isolated"

CHECK = dataclasses.replace(
    network_not_isolated.configure("egress"),
    id=ID,
    title="Workload not isolated for egress by a NetworkPolicy",
    summary="A workload must be selected by a NetworkPolicy with policyType Egress.",
    remediation="Add a NetworkPolicy whose podSelector selects the workload with policyType Egress.",
    helpers=(),
    parameters=(),
)
