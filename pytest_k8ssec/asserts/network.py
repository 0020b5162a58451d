"""NetworkPolicy assertions over a target's network model (``k8s_network``, a NetworkModel).

The verdicts are those of pytest_k8ssec.model.netpol, which implements ``networking.k8s.io/v1``
NetworkPolicy semantics exactly (isolation per direction, additive policies, a connection needs
the source's egress and the destination's ingress). The helpers add what a test needs on top:
"any port" questions answered exactly (ports are split into the classes on which no rule can
change its mind), fail-closed handling of verdicts that hang on unknown pod IPs, and failure
messages that name the endpoints, the port, the policies with their file and line, and why.

Endpoints are written as the model reads them: a workload object (``k8s_workload``), a string
``"Kind/namespace/name"``, a namespace name (every endpoint in it), a selector dict
(``{"namespace": "shop", "labels": {"app": "web"}}``, ``matchExpressions`` too), ``"internet"``
(``0.0.0.0/0``) or a CIDR. On a live target a workload stands for the pods it controls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.asserts import _failure
from pytest_k8ssec.asserts._failure import _check
from pytest_k8ssec.checks._check import Check, Violation
from pytest_k8ssec.engine import Finding
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.netpol import (
    EGRESS,
    PUBLIC_INTERNET,
    Cidr,
    Endpoint,
    EndpointSpec,
    NetworkModel,
    NetworkPolicy,
    NetworkPolicyError,
    Pod,
    PolicyProblem,
    Verdict,
    directions,
    port_classes,
)
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import pod_spec

#: The ``direction`` a test names (any case): one policyType, or both.
DirectionName = Literal["ingress", "egress", "both"]


# The helpers' checks are registry records (docs/checks.md); each helper reports under its own.
REACHABILITY_CHECK: Final = _check("network-reachability-unexpected")
ISOLATION_CHECK: Final = _check("network-not-isolated")
DEFAULT_DENY_CHECK: Final = _check("network-default-deny-missing")
INGRESS_FROM_CHECK: Final = _check("network-ingress-from-allowed")
EGRESS_CHECK: Final = _check("network-egress-unrestricted")
EFFECTIVE_CHECK: Final = _check("network-policy-ineffective")


# --- arguments ------------------------------------------------------------------------------------


def _model(net: NetworkModel) -> NetworkModel:
    if not isinstance(net, NetworkModel):
        raise TypeError(f"expected k8s_network (a NetworkModel), got {type(net).__name__}")
    return net


def _is_single(spec: object) -> bool:
    return isinstance(spec, (str, K8sObject, Pod, Cidr, Mapping))


def _resolve(model: NetworkModel, spec: EndpointSpec | Iterable[EndpointSpec], what: str) -> list[Endpoint]:
    specs: list[Any] = [spec] if _is_single(spec) else list(spec)  # type: ignore[arg-type]
    found: list[Endpoint] = []
    for item in specs:
        for endpoint in model.resolve(item):
            if endpoint not in found:
                found.append(endpoint)
    if not found:
        raise SecurityAssertionError(f"network: no {what} given; nothing was checked (an empty selection never passes)")
    return found


def _pods(model: NetworkModel, spec: EndpointSpec | Iterable[EndpointSpec], what: str = "workloads") -> list[Pod]:
    found = _resolve(model, spec, what)
    for endpoint in found:
        if not isinstance(endpoint, Pod):
            raise NetworkPolicyError(f"{what}: {endpoint} is an address range, not a workload or pod")
    return [ep for ep in found if isinstance(ep, Pod)]


def _cidrs(model: NetworkModel, spec: str | Iterable[str]) -> list[Cidr]:
    found = _resolve(model, spec, "address ranges")
    for endpoint in found:
        if not isinstance(endpoint, Cidr):
            raise NetworkPolicyError(f"expected a CIDR or 'internet', got the endpoint {endpoint}")
    return [ep for ep in found if isinstance(ep, Cidr)]


# --- ports ----------------------------------------------------------------------------------------


def _ports_text(classes: Sequence[tuple[str, int, int]]) -> str:
    merged: list[tuple[str, int, int]] = []
    for protocol, first, last in classes:
        if merged and merged[-1][0] == protocol and merged[-1][2] + 1 == first:
            merged[-1] = (protocol, merged[-1][1], last)
        else:
            merged.append((protocol, first, last))
    classes = merged
    return ", ".join(f"{p} {a}" if a == b else f"{p} {a}-{b}" for p, a, b in classes)


# --- message parts --------------------------------------------------------------------------------


def _where(obj: K8sObject | None) -> str:
    return f" ({obj.provenance})" if obj is not None else ""


def _endpoint_text(endpoint: Endpoint) -> str:
    return f"{endpoint}{_where(endpoint.obj)}" if isinstance(endpoint, Pod) else str(endpoint)


def _policy_text(policy: NetworkPolicy) -> str:
    return f"{policy.ref} ({policy.source})" if policy.source else policy.ref


def _verdict_policies(model: NetworkModel, verdict: Verdict) -> list[NetworkPolicy]:
    refs = dict.fromkeys([*verdict.egress.isolated_by, *verdict.ingress.isolated_by])
    return [model.policy(ref) for ref in refs]


def _indent(text: str, prefix: str = "    ") -> list[str]:
    return [prefix + line for line in text.splitlines()]


def _explanation(model: NetworkModel, verdict: Verdict) -> list[str]:
    lines = _indent(verdict.explain(), "  ")
    policies = _verdict_policies(model, verdict)
    if policies:
        lines.append("    policies: " + "; ".join(_policy_text(p) for p in policies))
    return lines


def _endpoint_path(obj: K8sObject) -> str:
    ref = pod_spec(obj)
    return ref.metadata_path + ".labels" if ref is not None else "metadata.labels"


def _policy_findings(check: Check, policies: Iterable[NetworkPolicy], message: str) -> list[Finding]:
    return [Finding(check, p.obj, Violation("spec", message)) for p in policies if p.obj is not None]


def _endpoint_finding(check: Check, endpoint: Endpoint, message: str) -> list[Finding]:
    if isinstance(endpoint, Pod) and endpoint.obj is not None:
        return [Finding(check, endpoint.obj, Violation(_endpoint_path(endpoint.obj), message))]
    return []


def _fail(check: Check, title: str, lines: list[str], findings: Sequence[Finding], objects: int) -> None:
    __tracebackhide__ = True
    # One finding per (object, path, message): several endpoint pairs can blame the same field.
    unique = list({(f.check.id, f.obj.ref, f.path, f.message): f for f in findings}.values())
    return _failure._fail(title, check, lines, unique, objects)


def _passed(check: Check, objects: int) -> None:
    _failure._record_pass(check.id, check, objects)


# --- reachability ---------------------------------------------------------------------------------


@keyword_only("protocol")
def assert_reachable(
    net: NetworkModel,
    src: EndpointSpec | Iterable[EndpointSpec],
    dst: EndpointSpec | Iterable[EndpointSpec],
    port: int | str,
    *,
    protocol: str = "TCP",
) -> None:
    """Assert every source may open a connection to every destination on ``port``/``protocol``.

    ``port`` is a number or a container port name (resolved on each destination). A source or
    destination that names several endpoints (a namespace, a selector) means every one of them.

    Raises:
        SecurityAssertionError: some connection is denied (the message names the policies that
            isolate each side and the rules that do not admit it).
        NetworkPolicyError: an endpoint that does not exist, a bad port or protocol.
    """
    __tracebackhide__ = True
    model = _model(net)
    sources = _resolve(model, src, "sources")
    targets = _resolve(model, dst, "destinations")
    denied: list[Verdict] = []
    for source in sources:
        for destination in targets:
            verdict = model.reachable(source, destination, port, protocol)
            if not verdict.allowed:
                denied.append(verdict)
    pairs = len(sources) * len(targets)
    if denied:
        first = denied[0]
        title = (
            f"network: {first.src} -> {first.dst} on {first.protocol}/{first.port} is denied"
            if pairs == 1
            else f"network: {len(denied)} of {pairs} connections on {protocol}/{port} are denied"
        )
        lines: list[str] = []
        findings: list[Finding] = []
        for verdict in denied:
            if pairs > 1:
                lines.append(f"  - {verdict.src} -> {verdict.dst} on {verdict.protocol}/{verdict.port}: denied")
            lines.extend(_explanation(model, verdict))
            findings.extend(
                _policy_findings(
                    REACHABILITY_CHECK,
                    _verdict_policies(model, verdict),
                    f"{verdict.src} -> {verdict.dst} on {verdict.protocol}/{verdict.port} is denied",
                )
            )
        lines.extend(_endpoint_lines(sources, targets))
        return _fail(REACHABILITY_CHECK, title, lines, findings, pairs)
    _passed(REACHABILITY_CHECK, pairs)


def _endpoint_lines(sources: Sequence[Endpoint], targets: Sequence[Endpoint]) -> list[str]:
    shown = [ep for ep in dict.fromkeys([*sources, *targets]) if isinstance(ep, Pod) and ep.obj is not None]
    if not shown:
        return []
    text = "; ".join(_endpoint_text(ep) for ep in shown[:10]) + (
        f"; ... {len(shown) - 10} more" if len(shown) > 10 else ""
    )
    return [f"  endpoints: {text}"]


@keyword_only("protocol")
def assert_not_reachable(
    net: NetworkModel,
    src: EndpointSpec | Iterable[EndpointSpec],
    dst: EndpointSpec | Iterable[EndpointSpec],
    port: int | str | None = None,
    *,
    protocol: str = "TCP",
) -> None:
    """Assert no source may open a connection to any destination on ``port``/``protocol``.

    ``port=None`` means on any port and protocol (checked exactly, one port per class of ports no
    rule tells apart). A verdict that is "denied" only because a pod's IP is unknown (an ipBlock
    rule could admit it: manifests, or pods without an IP yet) fails: the model cannot promise
    the connection is denied.

    Raises:
        SecurityAssertionError: some connection is allowed or uncertain (the message names the
            rules that allow it, with the policies' files and lines).
        NetworkPolicyError: an endpoint that does not exist, a bad port or protocol.
    """
    __tracebackhide__ = True
    model = _model(net)
    sources = _resolve(model, src, "sources")
    targets = _resolve(model, dst, "destinations")
    if port is None and protocol != "TCP":
        raise NetworkPolicyError("port=None checks every port of every protocol; leave protocol out")
    bad: list[tuple[Verdict, str]] = []
    for source in sources:
        for destination in targets:
            bad.extend(_open_ports(model, source, destination, port, protocol))
    pairs = len(sources) * len(targets)
    on = "any port" if port is None else f"{protocol}/{port}"
    if bad:
        first, first_ports = bad[0]
        allowed = sum(1 for v, _ in bad if v.allowed)
        state = "allowed" if first.allowed else "not provably denied (uncertain)"
        title = (
            f"network: {first.src} -> {first.dst} on {first_ports} is {state}"
            if len(bad) == 1
            else f"network: {len(bad)} connection(s) that must be denied on {on} are not ({allowed} allowed, {len(bad) - allowed} uncertain; {pairs} pair(s) checked)"
        )
        lines: list[str] = []
        findings: list[Finding] = []
        for verdict, ports in bad:
            why = "allowed" if verdict.allowed else "uncertain: an ipBlock could admit it, the pod's IP is unknown"
            if len(bad) > 1:
                lines.append(f"  - {verdict.src} -> {verdict.dst} on {ports}: {why}")
            lines.extend(_explanation(model, verdict))
            rules = [m.policy for m in (*verdict.egress.allowed_by, *verdict.ingress.allowed_by)]
            involved = [model.policy(ref) for ref in dict.fromkeys(rules)] or _verdict_policies(model, verdict)
            findings.extend(
                _policy_findings(REACHABILITY_CHECK, involved, f"{verdict.src} -> {verdict.dst} on {ports} is {why}")
            )
            findings.extend(
                _endpoint_finding(
                    REACHABILITY_CHECK, verdict.dst, f"{verdict.src} -> {verdict.dst} on {ports} is {why}"
                )
                if not involved
                else []
            )
        lines.extend(_endpoint_lines(sources, targets))
        return _fail(REACHABILITY_CHECK, title, lines, findings, pairs)
    _passed(REACHABILITY_CHECK, pairs)


def _open_ports(
    model: NetworkModel, src: Endpoint, dst: Endpoint, port: int | str | None, protocol: str
) -> list[tuple[Verdict, str]]:
    """Verdicts that are allowed or uncertain, with the ports they hold for (grouped by explanation)."""
    if port is not None:
        verdict = model.reachable(src, dst, port, protocol)
        return [(verdict, f"{verdict.protocol}/{verdict.port}")] if verdict.allowed or verdict.uncertain else []
    grouped: dict[str, tuple[Verdict, list[tuple[str, int, int]]]] = {}
    for cls in port_classes(model, dst):
        verdict = model.reachable(src, dst, cls.first, cls.protocol)
        if verdict.allowed or verdict.uncertain:
            key = verdict.explain().split("\n", 1)[1]
            grouped.setdefault(key, (verdict, []))[1].append((cls.protocol, cls.first, cls.last))
    return [(verdict, _ports_text(classes)) for verdict, classes in grouped.values()]


# --- isolation --------------------------------------------------------------------------------------


@keyword_only("direction")
def assert_default_deny(net: NetworkModel, namespace: str, *, direction: DirectionName = "ingress") -> None:
    """Assert ``namespace`` has a default-deny NetworkPolicy for ``direction`` ("ingress", "egress", "both").

    A default-deny policy, as the Kubernetes documentation defines it, selects every pod of its
    namespace (``podSelector: {}``), has the direction in its ``policyTypes`` (written or defaulted)
    and no rules in that direction. It makes every pod of the namespace, present or created later
    whatever its labels, isolated in that direction, so that nothing reaches it (or leaves it) by
    default. Other policies that allow specific connections are fine: policies are additive, and
    the paths they open are explicit (test them with ``assert_not_reachable``). Not a default deny:
    policies that isolate every current pod through label selectors (a new workload would be
    open), and an empty-selector policy WITH rules (such as "all pods may reach DNS"): it isolates
    but also allows; add a rule-less policy beside it.

    A namespace without pods or workloads in the model fails: a misspelt namespace never passes.

    Raises:
        SecurityAssertionError: no default-deny policy for a direction (the message lists the
            namespace's policies and the endpoints that are open in that direction).
        NetworkPolicyError: a bad direction.
    """
    __tracebackhide__ = True
    model = _model(net)
    wanted = directions(direction)
    if not isinstance(namespace, str) or not namespace:
        raise NetworkPolicyError(f"namespace must be a namespace name, got {namespace!r}")
    members = [pod for pod in model.pods if pod.namespace == namespace]
    if not members:
        known = sorted({pod.namespace for pod in model.pods})
        raise SecurityAssertionError(
            f"{DEFAULT_DENY_CHECK.id}: namespace {namespace!r} has no pods or workloads in the model; nothing was checked "
            f"(namespaces with endpoints: {', '.join(known[:20]) or 'none'})"
        )
    policies = [p for p in model.policies if p.namespace == namespace]
    lines: list[str] = []
    findings: list[Finding] = []
    missing: list[str] = []
    for d in wanted:
        deny = [p for p in policies if p.pod_selector.is_empty and d in p.policy_types and not p.rules(d)]
        if deny:
            continue
        missing.append(d)
        lines.append(
            f"  {d}: no NetworkPolicy in namespace {namespace} has podSelector {{}}, policyType {d} and no {d.lower()} rules"
        )
        for policy in policies:
            if d not in policy.policy_types:
                continue
            if policy.pod_selector.is_empty:
                allows = "; ".join(r.describe(policy.namespace) for r in policy.rules(d))
                lines.append(f"    - {_policy_text(policy)} selects every pod but allows {allows}: not a default deny")
                findings.extend(
                    _policy_findings(
                        DEFAULT_DENY_CHECK, [policy], f"selects every pod of {namespace} for {d} but has rules"
                    )
                )
            else:
                lines.append(f"    - {_policy_text(policy)} isolates only pods with labels {policy.pod_selector}")
        open_pods = [pod for pod in members if not model.isolating(pod, d)]
        if open_pods:
            shown = ", ".join(_endpoint_text(pod) for pod in open_pods[:10])
            more = f" and {len(open_pods) - 10} more" if len(open_pods) > 10 else ""
            lines.append(f"    not isolated for {d} now: {shown}{more}")
            for pod in open_pods:
                findings.extend(
                    _endpoint_finding(
                        DEFAULT_DENY_CHECK,
                        pod,
                        f"not isolated for {d}: namespace {namespace} has no default-deny policy",
                    )
                )
    if missing:
        return _fail(
            DEFAULT_DENY_CHECK,
            f"{DEFAULT_DENY_CHECK.id}: namespace {namespace} has no default-deny {' and '.join(missing)} policy",
            [*lines, f"  fix: {DEFAULT_DENY_CHECK.remediation}"],
            findings,
            len(members),
        )
    _passed(DEFAULT_DENY_CHECK, len(members))


@keyword_only("direction")
def assert_isolated(
    net: NetworkModel, workloads: EndpointSpec | Iterable[EndpointSpec], *, direction: DirectionName
) -> None:
    """Assert every workload (or pod) is isolated for ``direction`` ("ingress", "egress", "both"):
    some NetworkPolicy in its namespace selects it and has that policyType.

    Isolation means only what policies allow gets through; it does not mean nothing does (use
    ``assert_not_reachable`` or ``assert_no_ingress_from`` for that).

    Raises:
        SecurityAssertionError: a workload is not isolated, or no workload was given.
        NetworkPolicyError: an unknown workload or a bad direction.
    """
    __tracebackhide__ = True
    model = _model(net)
    wanted = directions(direction)
    pods = _pods(model, workloads)
    lines: list[str] = []
    findings: list[Finding] = []
    for pod in pods:
        for d in wanted:
            if model.isolating(pod, d):
                continue
            others = [p for p in model.policies if p.namespace == pod.namespace and d in p.policy_types]
            hint = (
                "; policies with that type in the namespace select other labels: "
                + ", ".join(f"{_policy_text(p)} ({p.pod_selector})" for p in others[:5])
                if others
                else f"; no policy in namespace {pod.namespace} has policyType {d}"
            )
            lines.append(f"  - {_endpoint_text(pod)} (labels {_labels(pod)}): not isolated for {d}{hint}")
            findings.extend(
                _endpoint_finding(
                    ISOLATION_CHECK, pod, f"not isolated for {d}: no NetworkPolicy selects it with policyType {d}"
                )
            )
    if lines:
        return _fail(
            ISOLATION_CHECK,
            f"{ISOLATION_CHECK.id}: {len(lines)} of {len(pods) * len(wanted)} (endpoint, direction) pairs are not isolated",
            [*lines, f"  fix: {ISOLATION_CHECK.remediation}"],
            findings,
            len(pods),
        )
    _passed(ISOLATION_CHECK, len(pods))


def _labels(pod: Pod) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(pod.labels.items())) + "}"


@keyword_only("cidr")
def assert_no_ingress_from(
    net: NetworkModel,
    workloads: EndpointSpec | Iterable[EndpointSpec],
    *,
    cidr: str | Iterable[str] = "0.0.0.0/0",
) -> None:
    """Assert no address of ``cidr`` (a CIDR, ``"internet"`` or several) may connect to any
    workload on any port or protocol.

    A range reaches a workload when SOME address in it does, so the default ``0.0.0.0/0`` fails on
    any ingress rule admitting an IPv4 ipBlock, or a rule without ``from`` (every peer). Pass
    ``"::/0"`` too for IPv6. Ports are checked exactly (one per class of ports no rule tells apart).

    Raises:
        SecurityAssertionError: a connection is allowed (the message names the ports, the policies
            and the rules), or no workload was given.
        NetworkPolicyError: an unknown workload, or a cidr that is not an address range.
    """
    __tracebackhide__ = True
    model = _model(net)
    pods = _pods(model, workloads)
    ranges = _cidrs(model, cidr)
    lines: list[str] = []
    findings: list[Finding] = []
    for pod in pods:
        for block in ranges:
            for verdict, ports in _open_ports(model, block, pod, None, "TCP"):
                lines.append(f"  - {block} -> {_endpoint_text(pod)} on {ports}: allowed")
                lines.extend(_explanation(model, verdict))
                rules = [model.policy(m.policy) for m in verdict.ingress.allowed_by]
                message = f"{block} may connect to {pod} on {ports}"
                findings.extend(
                    _policy_findings(INGRESS_FROM_CHECK, rules, message)
                    or _endpoint_finding(INGRESS_FROM_CHECK, pod, message)
                )
    if lines:
        ranges_text = ", ".join(str(r) for r in ranges)
        count = sum(1 for line in lines if line.startswith("  - "))
        return _fail(
            INGRESS_FROM_CHECK,
            f"{INGRESS_FROM_CHECK.id}: {ranges_text} can reach {count} (workload, port set) of {len(pods)} workload(s)",
            lines,
            findings,
            len(pods),
        )
    _passed(INGRESS_FROM_CHECK, len(pods))


@keyword_only("internet")
def assert_egress_restricted(
    net: NetworkModel,
    workloads: EndpointSpec | Iterable[EndpointSpec],
    *,
    internet: str | Iterable[str] | None = None,
) -> None:
    """Assert every workload is isolated for egress and can reach no internet address on any port.

    The internet is, by default, every public address (``PUBLIC_INTERNET``): ``0.0.0.0/0`` less
    the private, shared (CGNAT), loopback, link-local, documentation, benchmarking, multicast and
    reserved ranges, plus IPv6 global unicast ``2000::/3``. Egress to a private range (a corporate
    ``10.0.0.0/8``) or to in-cluster pods (DNS included) is fine; a rule without ``to`` (every
    peer) reaches the internet on its ports and fails, even on port 53: a DNS exception written
    that way lets a pod talk to any server. Pass ``internet="0.0.0.0/0"`` to forbid every
    address outside the cluster's pods.

    Raises:
        SecurityAssertionError: a workload is not egress-isolated or reaches the internet (the
            message names the range, the ports, the policy and the rule), or no workload was given.
        NetworkPolicyError: an unknown workload or a bad range.
    """
    __tracebackhide__ = True
    model = _model(net)
    pods = _pods(model, workloads)
    ranges = _cidrs(model, PUBLIC_INTERNET if internet is None else internet)
    coarse = [Cidr("0.0.0.0/0"), Cidr("::/0")]
    failing: set[str] = set()
    lines: list[str] = []
    findings: list[Finding] = []
    for pod in pods:
        if not model.isolating(pod, EGRESS):
            lines.append(
                f"  - {_endpoint_text(pod)}: not isolated for Egress (no NetworkPolicy selecting it has policyType Egress): it may reach any address"
            )
            findings.extend(_endpoint_finding(EGRESS_CHECK, pod, "not isolated for egress"))
            failing.add(pod.ref)
            continue
        for probe in coarse:
            if not _open_ports(model, pod, probe, None, "TCP"):
                continue  # nothing of this address family is reachable, so no public range is
            for block in ranges:
                if block.network.version != probe.network.version:
                    continue
                holes = _open_ports(model, pod, block, None, "TCP")
                for verdict, ports in holes:
                    lines.append(f"  - {_endpoint_text(pod)} -> internet {block.network} on {ports}: allowed")
                    lines.extend(_explanation(model, verdict))
                    rules = [model.policy(m.policy) for m in verdict.egress.allowed_by]
                    findings.extend(_policy_findings(EGRESS_CHECK, rules, f"{pod} may reach the internet"))
                if holes:
                    failing.add(pod.ref)
                    break  # one public range shows the hole; the rules it names open the others too
    if lines:
        return _fail(
            EGRESS_CHECK,
            f"{EGRESS_CHECK.id}: {len(failing)} of {len(pods)} workload(s) can reach the internet or are not egress-isolated",
            [*lines, f"  fix: {EGRESS_CHECK.remediation}"],
            findings,
            len(pods),
        )
    _passed(EGRESS_CHECK, len(pods))


# --- lint -------------------------------------------------------------------------------------------


def network_policy_problems(net: NetworkModel) -> tuple[PolicyProblem, ...]:
    """``net.lint()``: policies that select no pod, peers that match no namespace or no pod."""
    return _model(net).lint()


@keyword_only("allow")
def assert_network_policies_effective(net: NetworkModel, *, allow: Iterable[str] = ()) -> None:
    """Assert every NetworkPolicy selects at least one endpoint and every selector peer matches a
    namespace and an endpoint (``net.lint()``).

    ``allow`` lists policies (``"namespace/name"``) whose problems are accepted, e.g. a policy
    admitting DNS from ``kube-system`` when kube-system is not among the manifests. On manifests,
    endpoints are the workloads deployed there: a peer naming pods deployed elsewhere is reported.

    Raises:
        SecurityAssertionError: a problem, or no NetworkPolicy at all (nothing was checked).
        NetworkPolicyError: ``allow`` names a policy that does not exist.
    """
    __tracebackhide__ = True
    model = _model(net)
    accepted = [allow] if isinstance(allow, str) else list(allow)
    for ref in accepted:
        model.policy(ref)
    if not model.policies:
        raise SecurityAssertionError(f"{EFFECTIVE_CHECK.id}: the target has no NetworkPolicy; nothing was checked")
    problems = [p for p in model.lint() if p.policy.ref not in accepted]
    if problems:
        findings = [
            Finding(EFFECTIVE_CHECK, p.policy.obj, Violation(p.path, p.message))
            for p in problems
            if p.policy.obj is not None
        ]
        return _fail(
            EFFECTIVE_CHECK,
            f"{EFFECTIVE_CHECK.id}: {len(problems)} problem(s) in {len({p.policy.ref for p in problems})} of {len(model.policies)} NetworkPolicies",
            [f"  - {problem}" for problem in problems] + [f"  fix: {EFFECTIVE_CHECK.remediation}"],
            findings,
            len(model.policies),
        )
    _passed(EFFECTIVE_CHECK, len(model.policies))


__all__ = (
    "PUBLIC_INTERNET",
    "DirectionName",
    "assert_default_deny",
    "assert_egress_restricted",
    "assert_isolated",
    "assert_network_policies_effective",
    "assert_no_ingress_from",
    "assert_not_reachable",
    "assert_reachable",
    "network_policy_problems",
    "port_classes",
)
