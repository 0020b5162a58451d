"""What every PSS control shares: its outcome record and upstream's message helpers.

Mirrors ``policy/helpers.go`` and ``policy/checks.go`` of k8s.io/pod-security-admission: the same
pluralisation, the same quoting (``joinQuote`` never escapes; annotation values are quoted the way
Go's ``%q`` quotes them), the same user-namespace test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one control says about one pod: allowed, or forbidden with upstream's reason and detail.

    ``paths`` are the field paths to change (in the order the control met them); ``containers``
    the names of the containers at fault.
    """

    allowed: bool
    reason: str = ""
    detail: str = ""
    paths: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()


ALLOWED: Final = Outcome(True)


def forbidden(reason: str, detail: str, paths: Iterable[str], containers: Iterable[str] = ()) -> Outcome:
    """A forbidding outcome (paths and container names de-duplicated, order kept)."""
    return Outcome(False, reason, detail, tuple(dict.fromkeys(paths)), tuple(dict.fromkeys(containers)))


def join_quote(items: Iterable[str]) -> str:
    """``"a", "b"``: upstream's joinQuote (no escaping)."""
    items = list(items)
    return '"' + '", "'.join(items) + '"' if items else ""


def pluralize(singular: str, plural: str, count: int) -> str:
    """``singular`` for a count of 1, else ``plural``."""
    return singular if count == 1 else plural


def setters(pod_bad: bool, containers: list[str]) -> list[str]:
    """``["pod", 'containers "a", "b"']``: who set a forbidden value, as upstream names them."""
    found = ["pod"] if pod_bad else []
    if containers:
        found.append(f"{pluralize('container', 'containers', len(containers))} {join_quote(containers)}")
    return found


_GO_ESCAPES: Final = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` / ``strconv.Quote`` quotes it."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def text(value: object) -> str:
    """A string field as Go sees it: unset is ``""``; a wrong type is shown, never dropped."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def in_user_namespace(pod: PodSpecRef) -> bool:
    """``spec.hostUsers: false``: upstream's relaxPolicyForUserNamespacePod."""
    return pod.spec.get("hostUsers") is False


def is_true(value: object) -> bool:
    """A ``*bool`` that is set and true."""
    return value is True


@dataclass
class ProfileScan:
    """Where a pod and its containers set a profile ``type`` outside the allowed set."""

    pod_bad: bool
    names: list[str]
    values: set[str]
    paths: list[str]


def scan_profile_types(pod: PodSpecRef, obj: K8sObject, field: str, allowed: frozenset[str]) -> ProfileScan:
    """Pod- then container-level ``securityContext.<field>.type`` values not in ``allowed``.

    Shared by the AppArmor and baseline seccomp controls, which upstream judges the same way: a set
    profile whose type (``""`` when missing) is not allowed, at either level, is forbidden.
    """
    scan = ProfileScan(False, [], set(), [])
    profile = pod_security_context(pod).get(field)
    if profile is not None:
        kind = text(as_mapping(profile).get("type"))
        if kind not in allowed:
            scan.pod_bad = True
            scan.values.add(kind)
            scan.paths.append(f"{pod.path}.securityContext.{field}.type")
    for ref in containers(obj):
        profile = ref.security_context.get(field)
        if profile is not None:
            kind = text(as_mapping(profile).get("type"))
            if kind not in allowed:
                scan.names.append(ref.name)
                scan.values.add(kind)
                scan.paths.append(f"{ref.path}.securityContext.{field}.type")
    return scan
