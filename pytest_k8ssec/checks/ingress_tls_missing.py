"""ingress-tls-missing.

Kubernetes Ingress (networking.k8s.io/v1 IngressSpec): ``tls`` configures TLS, and each entry's
``hosts`` are "hosts included in the TLS certificate"; left unspecified, an entry "defaults to the
wildcard host setting for the loadbalancer controller fulfilling this Ingress". A rule's
``host`` selects which requests it serves (a rule without a host serves every host), and
``defaultBackend`` serves the requests that match no rule. What no TLS entry covers is served in
plain HTTP. Polaris (``tlsSettingsMissing``) and Kubescape (C-0263) ask only that ``spec.tls``
be non-empty.

A violation is each rule host that no ``tls[*].hosts`` entry covers, compared as ingress-nginx
does (ASCII case-insensitive) plus the certificate wildcard rule (``*.example.com`` covers
``a.example.com``, not ``example.com`` nor ``a.b.example.com``); a wildcard rule host is covered
by the same wildcard only. A rule without a host, and the default backend (``spec.backend`` in
the beta APIs), serve any host: only a TLS entry without hosts (the controller's wildcard host)
covers them. The deprecated ``extensions/v1beta1`` and ``networking.k8s.io/v1beta1`` Ingress
have the same fields and are judged alike. A field of the wrong shape is reported as
unjudgeable, never passed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping

ID = "ingress-tls-missing"

INGRESS_GROUPS = frozenset({"networking.k8s.io", "extensions"})


def _lower(host: str) -> str:
    # Upstream lowercases ASCII only (toLowerCaseASCII); str.lower would fold other letters too.
    return host.translate({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


def covers(tls_host: str, host: str) -> bool:
    """True when a certificate for ``tls_host`` serves ``host`` (exact, or one-label wildcard)."""
    tls_host, host = _lower(tls_host), _lower(host)
    if tls_host == host:
        return True
    if not tls_host.startswith("*.") or host.startswith("*."):
        return False
    label, dot, rest = host.partition(".")
    return bool(label and dot) and rest == tls_host[2:]


def _tls_hosts(spec: Any) -> tuple[list[str], bool, list[Violation]]:
    """(listed hosts, some entry has no hosts, problems reading spec.tls)."""
    hosts: list[str] = []
    wildcard = False
    problems = []
    tls = spec.get("tls")
    if tls is not None and not isinstance(tls, list):
        return [], False, [Violation("spec.tls", "spec.tls is not a list, so TLS coverage cannot be judged")]
    for i, entry in enumerate(as_list(tls)):
        if not isinstance(entry, dict):
            problems.append(Violation(f"spec.tls[{i}]", f"spec.tls[{i}] is not a mapping, so it cannot be judged"))
            continue
        listed = entry.get("hosts")
        if listed is not None and not isinstance(listed, list):
            problems.append(Violation(f"spec.tls[{i}].hosts", f"spec.tls[{i}].hosts is not a list"))
            continue
        if not listed:
            wildcard = True
        for j, host in enumerate(as_list(listed)):
            if isinstance(host, str):
                hosts.append(host)
            else:
                problems.append(Violation(f"spec.tls[{i}].hosts[{j}]", f"TLS host {host!r} is not a string"))
    return hosts, wildcard, problems


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.api_group not in INGRESS_GROUPS:
        return
    raw_spec = obj.raw.get("spec")
    if not isinstance(raw_spec, dict):
        yield Violation("spec", "spec is not a mapping, so the Ingress's TLS coverage cannot be judged")
        return
    hosts, wildcard, problems = _tls_hosts(raw_spec)
    yield from problems
    rules = raw_spec.get("rules")
    if rules is not None and not isinstance(rules, list):
        yield Violation("spec.rules", "spec.rules is not a list, so its hosts cannot be judged")
        return
    for i, rule in enumerate(as_list(rules)):
        host = as_mapping(rule).get("host")
        if host in (None, ""):
            if not wildcard:
                yield Violation(
                    f"spec.rules[{i}]",
                    f"rule {i} has no host, so it serves every host, and no TLS entry without hosts covers it: "
                    "it is served in plain HTTP",
                )
        elif not isinstance(host, str):
            yield Violation(f"spec.rules[{i}].host", f"rule {i} host {host!r} is not a string")
        elif not any(covers(tls_host, host) for tls_host in hosts):
            yield Violation(
                f"spec.rules[{i}].host",
                f'host "{host}" is served in plain HTTP: no spec.tls entry lists it or a wildcard covering it',
            )
    # v1 renamed the beta APIs' spec.backend to spec.defaultBackend (each version drops the other).
    field = "defaultBackend" if obj.api_version == "networking.k8s.io/v1" else "backend"
    if raw_spec.get(field) is not None and not wildcard:
        yield Violation(
            f"spec.{field}",
            f"spec.{field} serves requests for any host that no rule matches, and no TLS entry without hosts "
            "covers it: it is served in plain HTTP",
        )


CHECK = Check(
    id=ID,
    title="Ingress host served without TLS",
    summary="Every host an Ingress serves (its rules' hosts, host-less rules, its default backend) must be covered by spec.tls.",
    remediation="List each rule host in a spec.tls entry with the Secret of its certificate (or a wildcard covering it).",
    category=Category.NETWORK,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    targets=frozenset({"Ingress"}),
    references=("https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",),
)
