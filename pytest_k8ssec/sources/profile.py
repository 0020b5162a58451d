"""The suites' profile: the parameters of a ready suite, read from a small YAML file.

A ready suite (``pytest --pyargs pytest_k8ssec.suites.cis``) must be usable without editing it, so
what differs between teams (the registries images may come from, the namespaces that belong to
the platform, the Pod Security level of a namespace without a label, the network flows the
application needs) lives here::

    allowed_registries: [registry.example.com/]
    system_namespaces: [kube-system, kube-public, kube-node-lease]
    pss_default_level: baseline
    ingress_allowed: [Deployment/shop/web]
    expected_flows:
      allowed:
        - {src: Deployment/shop/api, dst: StatefulSet/shop/db, port: 5432}
      denied:
        - {src: internet, dst: StatefulSet/shop/db}

The file is read with the project's one YAML reader (values as Kubernetes reads them). A key this
module does not know, a value of the wrong shape or a file that is not YAML is refused naming the
file and line: a misspelt key would otherwise leave a requirement silently unconfigured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.sources.kube_yaml import compose_all, construct

DEFAULT_SYSTEM_NAMESPACES: Final = ("kube-system", "kube-public", "kube-node-lease")
PSS_LEVELS: Final = ("baseline", "restricted")
PROTOCOLS: Final = ("TCP", "UDP", "SCTP")
KEYS: Final = ("allowed_registries", "system_namespaces", "pss_default_level", "expected_flows", "ingress_allowed")
FLOW_KEYS: Final = ("src", "dst", "port", "protocol")
# An endpoint as the network helpers take it: "Kind/ns/name", a namespace, "internet", a CIDR, or a selector.
Endpoint = str | Mapping[str, Any]


class ProfileError(K8sSecError, ValueError):
    """The profile cannot be used: not YAML, an unknown key, a value of the wrong shape (with file:line)."""


@dataclass(frozen=True, slots=True)
class Flow:
    """A connection the application needs (``allowed``) or must never get (``denied``)."""

    src: Endpoint
    dst: Endpoint
    port: int | str | None = None  # None: every port (only for denied flows)
    protocol: str = "TCP"
    where: str = ""  # file:line of the entry, for failure messages

    def __str__(self) -> str:
        port = "any port" if self.port is None else f"port {self.port}/{self.protocol}"
        return f"{_endpoint_text(self.src)} -> {_endpoint_text(self.dst)} ({port})"


@dataclass(frozen=True, slots=True)
class Profile:
    """The parameters of the ready suites; the defaults are what a suite uses without a profile."""

    allowed_registries: tuple[str, ...] = ()
    system_namespaces: tuple[str, ...] = DEFAULT_SYSTEM_NAMESPACES
    pss_default_level: str = "baseline"
    allowed_flows: tuple[Flow, ...] = ()
    denied_flows: tuple[Flow, ...] = ()
    # None: not configured (the suite then only asks that no workload takes ingress from the internet).
    ingress_allowed: tuple[Endpoint, ...] | None = None
    source: str | None = None  # the file, when one was read
    configured: frozenset[str] = field(default_factory=frozenset)  # keys set by the file or options

    def is_system(self, namespace: str | None) -> bool:
        return namespace is not None and namespace in self.system_namespaces

    def with_overrides(self, **values: Any) -> Profile:
        """This profile with the values given (ini keys and command-line options win over the file)."""
        given = {key: value for key, value in values.items() if value is not None}
        if "pss_default_level" in given:
            given["pss_default_level"] = check_level(str(given["pss_default_level"]), "k8s_pss_default_level")
        for key in ("allowed_registries", "system_namespaces"):
            if key in given:
                given[key] = tuple(given[key])
        return replace(self, **given, configured=self.configured | frozenset(given))


def _endpoint_text(spec: Endpoint) -> str:
    if isinstance(spec, str):
        return spec
    return "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"


def check_level(level: str, where: str) -> str:
    if level not in PSS_LEVELS:
        raise ProfileError(f"{where}: pss_default_level must be one of {', '.join(PSS_LEVELS)}, not {level!r}")
    return level


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """Read a profile file; raises ProfileError naming the file and line of what is wrong."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{shown}: cannot read the profile: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{shown}: the profile is not UTF-8 text") from None
    return parse_profile(text, shown)


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    try:
        documents = list(compose_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ProfileError(f"{source}{line}: not valid YAML: {exc.problem or exc.context}") from None
    if not documents:
        return Profile(source=source)
    if len(documents) > 1:
        raise ProfileError(
            f"{_at(source, documents[1])}: a profile is one YAML document, this file holds {len(documents)}"
        )
    root = documents[0]
    if isinstance(root, ScalarNode) and root.tag.endswith("null"):
        return Profile(source=source)
    if not isinstance(root, MappingNode):
        raise ProfileError(f"{_at(source, root)}: a profile is a mapping of {', '.join(KEYS)}")
    values: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = _value(key_node, text, source)
        if key not in KEYS:
            raise ProfileError(f"{_at(source, key_node)}: unknown profile key {key!r}; known keys: {', '.join(KEYS)}")
        if key in values:
            raise ProfileError(f"{_at(source, key_node)}: profile key {key!r} is set twice")
        values[key] = _parse_key(key, value_node, text, source)
    allowed, denied = values.pop("expected_flows", ((), ()))
    return Profile(
        **values,
        allowed_flows=allowed,
        denied_flows=denied,
        source=source,
        configured=frozenset([*values, *(["expected_flows"] if allowed or denied else [])]),
    )


def _at(source: str, node: Node) -> str:
    return f"{source}:{node.start_mark.line + 1}"


def _value(node: Node, text: str, source: str) -> Any:
    try:
        return construct(node, text)
    except (yaml.MarkedYAMLError, K8sSecError) as exc:
        raise ProfileError(f"{_at(source, node)}: {getattr(exc, 'problem', None) or exc}") from None


def _strings(node: Node, text: str, source: str, key: str) -> tuple[str, ...]:
    if not isinstance(node, SequenceNode):
        raise ProfileError(f"{_at(source, node)}: {key} must be a list of strings")
    items = []
    for item in node.value:
        value = _value(item, text, source)
        if not isinstance(value, str) or not value:
            raise ProfileError(f"{_at(source, item)}: {key} must be a list of non-empty strings, not {value!r}")
        items.append(value)
    return tuple(items)


def _parse_key(key: str, node: Node, text: str, source: str) -> Any:
    if key in ("allowed_registries", "system_namespaces"):
        return _strings(node, text, source, key)
    if key == "pss_default_level":
        value = _value(node, text, source)
        return check_level(str(value) if isinstance(value, str) else repr(value), _at(source, node))
    if key == "ingress_allowed":
        if not isinstance(node, SequenceNode):
            raise ProfileError(f"{_at(source, node)}: ingress_allowed must be a list of endpoints")
        return tuple(_endpoint(item, text, source, "ingress_allowed") for item in node.value)
    return _flows(node, text, source)


def _endpoint(node: Node, text: str, source: str, what: str) -> Endpoint:
    value = _value(node, text, source)
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and value:
        return value
    raise ProfileError(
        f"{_at(source, node)}: {what}: an endpoint is 'Kind/namespace/name', a namespace, 'internet', a CIDR "
        f"or a selector mapping, not {value!r}"
    )


def _flows(node: Node, text: str, source: str) -> tuple[tuple[Flow, ...], tuple[Flow, ...]]:
    if not isinstance(node, MappingNode):
        raise ProfileError(f"{_at(source, node)}: expected_flows must be a mapping with 'allowed' and/or 'denied'")
    found: dict[str, tuple[Flow, ...]] = {}
    for key_node, value_node in node.value:
        kind = _value(key_node, text, source)
        if kind not in ("allowed", "denied"):
            raise ProfileError(
                f"{_at(source, key_node)}: unknown expected_flows key {kind!r}; known keys: allowed, denied"
            )
        if not isinstance(value_node, SequenceNode):
            raise ProfileError(f"{_at(source, value_node)}: expected_flows.{kind} must be a list of flows")
        found[kind] = tuple(_flow(item, text, source, kind) for item in value_node.value)
    return found.get("allowed", ()), found.get("denied", ())


def _flow(node: Node, text: str, source: str, kind: str) -> Flow:
    what = f"expected_flows.{kind}"
    if not isinstance(node, MappingNode):
        raise ProfileError(f"{_at(source, node)}: {what}: a flow is a mapping of {', '.join(FLOW_KEYS)}")
    fields: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key = _value(key_node, text, source)
        if key not in FLOW_KEYS:
            raise ProfileError(
                f"{_at(source, key_node)}: {what}: unknown flow key {key!r}; known keys: {', '.join(FLOW_KEYS)}"
            )
        fields[key] = value_node
    for required in ("src", "dst", *(("port",) if kind == "allowed" else ())):
        if required not in fields:
            why = " (an allowed flow names the port it needs)" if required == "port" else ""
            raise ProfileError(f"{_at(source, node)}: {what}: the flow has no {required!r}{why}")
    port: int | str | None = None
    if "port" in fields:
        value = _value(fields["port"], text, source)
        valid = (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535) or (
            isinstance(value, str) and value
        )
        if not valid:
            raise ProfileError(
                f"{_at(source, fields['port'])}: {what}: port must be 1-65535 or a port name, not {value!r}"
            )
        port = value
    protocol = "TCP"
    if "protocol" in fields:
        protocol = _value(fields["protocol"], text, source)
        if protocol not in PROTOCOLS:
            raise ProfileError(
                f"{_at(source, fields['protocol'])}: {what}: protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}"
            )
    return Flow(
        _endpoint(fields["src"], text, source, what),
        _endpoint(fields["dst"], text, source, what),
        port,
        protocol,
        _at(source, node),
    )
