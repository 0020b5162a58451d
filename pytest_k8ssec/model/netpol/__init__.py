"""NetworkPolicy semantics and reachability, as ``networking.k8s.io/v1`` defines them.

Implements the rules written in kubernetes ``staging/src/k8s.io/api/networking/v1/types.go`` and
exercised by the conformance suite ``test/e2e/network/netpol`` (judged here by its 48 cases and by
cyclonus' truth tables), with the defaulting of ``pkg/apis/networking/v1/defaults.go`` and the
validation of ``pkg/apis/networking/validation``:

* A pod is isolated for a direction only when some policy selecting it (same namespace,
  ``spec.podSelector``) has that direction in ``policyTypes``. Omitted (or empty) ``policyTypes``
  default to ``Ingress``, plus ``Egress`` when ``spec.egress`` has at least one rule (an empty
  ``egress: []`` does not count, exactly as ``len(spec.Egress) != 0`` upstream).
* Policies are additive: a direction is allowed when it is not isolated or any rule of any
  isolating policy allows it. A connection needs the source's egress AND the destination's ingress.
* ``ingress``/``egress`` absent or ``[]``: nothing is allowed in that direction (when isolated).
  A rule with no ``from``/``to`` allows every peer, in and outside the cluster; a rule with no
  ``ports`` allows every port and protocol.
* A peer with ``podSelector`` only selects pods of the policy's namespace; with
  ``namespaceSelector`` only, every pod of the selected namespaces; with both, the pods matching
  both (AND). Separate peers are OR. Every namespace carries ``kubernetes.io/metadata.name``.
* ``ipBlock`` matches addresses in ``cidr`` and not in any ``except`` (IPv4 and IPv6), for
  endpoints outside the cluster AND for pod IPs: the e2e cases build ipBlocks from live pod IPs
  and expect them to match, and cyclonus matches ipBlocks against pod IPs too. A pod whose IP is
  unknown (manifests) matches no ipBlock; a verdict that could change if it did is marked
  ``uncertain`` so that assertions can fail closed.
* Ports: a number, a number range (``endPort``) or a name; protocol ``TCP`` by default, ``UDP``,
  ``SCTP``. A named port resolves against the DESTINATION pod's container ports (name and
  protocol must both match), for ingress and egress rules alike; an external destination has no
  named ports. Container ports come from regular containers and restartable (sidecar) init
  containers, as kube-proxy's ``FindPort`` reads them.

A policy the API server would reject (bad CIDR, ``except`` outside ``cidr``, bad protocol, bad
port, ``endPort`` with a named port, a peer with nothing or with ``ipBlock`` plus a selector, a bad
selector operator, an unknown policyType) raises :class:`NetworkPolicyError` naming the policy and
the field: the model never guesses at what an invalid policy would have done.

The modules, each one concern, in import order: ``validation`` (NetworkPolicyError), ``selectors``
(label selectors), ``addresses`` (CIDRs, ipBlock, the public internet), ``endpoints`` (pods, CIDRs,
namespaces, built from objects), ``ports`` (port entries, port classes), ``policies`` (NetworkPolicy
into rules and peers), ``verdicts`` (Verdict, the matrix), ``classes`` (endpoint equivalence
classes), ``model`` (NetworkModel). This file re-exports what the other layers import.
"""

from __future__ import annotations

from pytest_k8ssec.model.netpol.addresses import PUBLIC_INTERNET
from pytest_k8ssec.model.netpol.endpoints import INTERNET, Cidr, ContainerPort, Endpoint, EndpointSpec, Namespace, Pod
from pytest_k8ssec.model.netpol.model import NetworkModel, PolicyProblem
from pytest_k8ssec.model.netpol.policies import EGRESS, INGRESS, Direction, NetworkPolicy, directions
from pytest_k8ssec.model.netpol.ports import PROTOCOLS, PortClass, port_classes
from pytest_k8ssec.model.netpol.validation import NetworkPolicyError
from pytest_k8ssec.model.netpol.verdicts import ReachabilityMatrix, RuleMatch, SideVerdict, Verdict

# What the other layers (asserts, reporting, fixtures, the package root) and the tests import.
__all__ = (
    "EGRESS",
    "INGRESS",
    "INTERNET",
    "PROTOCOLS",
    "PUBLIC_INTERNET",
    "Cidr",
    "ContainerPort",
    "Direction",
    "Endpoint",
    "EndpointSpec",
    "Namespace",
    "NetworkModel",
    "NetworkPolicy",
    "NetworkPolicyError",
    "Pod",
    "PolicyProblem",
    "PortClass",
    "ReachabilityMatrix",
    "RuleMatch",
    "SideVerdict",
    "Verdict",
    "directions",
    "port_classes",
)
