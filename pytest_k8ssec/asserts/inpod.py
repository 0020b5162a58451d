"""Assertions about a running container, seen from inside it through any testinfra ``Host``.

They complement the manifest checks with what only the running process shows (the user the image
really runs as, whether the root filesystem really is read-only, what tools the image ships).
``k8s_pod_host`` gives a Host inside a pod; the same helpers work on any testinfra backend.

Every helper here is named ``assert_in_pod_...``: the object helpers judge manifests
(``assert_runs_as_non_root(objs)``), these judge a running container (``assert_in_pod_runs_as_non_root(host)``),
and the two must not be mistaken for each other.

``probe_connection`` and its two assertions send one real connection from inside the container
and report what the network did with it: the enforcer's verdict, where the model helpers
(``assert_reachable``) give the policies' verdict.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from pytest_k8ssec._deprecation import keyword_only, renamed
from pytest_k8ssec.asserts._failure import _check, _fail, _record_pass
from pytest_k8ssec.checks._check import Check
from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.objects import K8sObject, as_mapping

PACKAGE_MANAGERS: Final = ("apt", "apt-get", "dpkg", "apk", "yum", "dnf", "microdnf", "rpm", "zypper", "pip", "pip3")
SHELLS: Final = ("bash", "zsh", "ash", "dash", "ksh", "csh", "tcsh", "fish")

ROOT_PROCESS_CHECK: Final = _check("in-pod-process-root")
WRITABLE_ROOT_CHECK: Final = _check("in-pod-root-filesystem-writable")
PACKAGE_MANAGER_CHECK: Final = _check("in-pod-package-manager-present")
SHELL_CHECK: Final = _check("in-pod-shell-present")
CONNECTION_ALLOWED_CHECK: Final = _check("in-pod-connection-allowed")
CONNECTION_BLOCKED_CHECK: Final = _check("in-pod-connection-blocked")

#: The program of the local images (controlplane/probe) that makes one attempt and prints its outcome.
PROBE: Final = "k8ssec-probe"
PROTOCOLS: Final = ("TCP", "UDP", "SCTP")
#: What ``k8ssec-probe connect`` prints; "error" means no verdict (bad address, no SCTP, a broken tool).
OUTCOMES: Final = ("connected", "refused", "timeout", "unreachable", "error")
BLOCKED_OUTCOMES: Final = frozenset({"refused", "timeout", "unreachable"})
# Raw tool output quoted in a detail: enough to see what went wrong, short enough for a report row.
_RAW_SHOWN = 300


def _where(host: Any) -> str:
    backend = getattr(host, "backend", None)
    name = getattr(backend, "name", None) or getattr(backend, "NAME", "host")
    container = getattr(backend, "container", None)
    namespace = getattr(backend, "namespace", None)
    parts = [f"{namespace}/{name}" if namespace else str(name)]
    if container:
        parts.append(f'container "{container}"')
    return " ".join(parts)


@keyword_only("pid")
def assert_in_pod_runs_as_non_root(host: Any, *, pid: int = 1) -> None:
    """Assert the container's main process (PID 1, or ``pid``) runs with a non-zero real and effective UID."""
    __tracebackhide__ = True
    status = host.file(f"/proc/{pid}/status")
    if not status.exists:
        return _fail(
            f"{_where(host)}: /proc/{pid}/status is not readable; cannot tell the user", ROOT_PROCESS_CHECK, error=True
        )
    uids = next((line.split()[1:3] for line in status.content_string.splitlines() if line.startswith("Uid:")), None)
    if not uids:
        return _fail(f"{_where(host)}: /proc/{pid}/status has no Uid line", ROOT_PROCESS_CHECK, error=True)
    if "0" in uids:
        return _fail(
            f"{_where(host)}: process {pid} runs as root (real/effective UID {uids[0]}/{uids[1]})",
            ROOT_PROCESS_CHECK,
            [
                "  fix: set securityContext.runAsNonRoot: true and a non-zero runAsUser, or a non-root USER in the image."
            ],
        )
    _record_pass(f"{_where(host)}: process {pid} not root", ROOT_PROCESS_CHECK)


def assert_in_pod_read_only_root_filesystem(host: Any) -> None:
    """Assert ``/`` is mounted read-only inside the container."""
    __tracebackhide__ = True
    options = host.mount_point("/").options
    if "ro" not in options:
        return _fail(
            f"{_where(host)}: / is mounted {','.join(options)} (not ro)",
            WRITABLE_ROOT_CHECK,
            [
                "  fix: set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the app writes."
            ],
        )
    _record_pass(f"{_where(host)}: / read-only", WRITABLE_ROOT_CHECK)


@keyword_only("tools")
def assert_in_pod_no_package_manager(host: Any, *, tools: Iterable[str] = PACKAGE_MANAGERS) -> None:
    """Assert the image ships none of the package managers ``tools`` (an attacker's way to install tools)."""
    __tracebackhide__ = True
    _assert_absent(
        host,
        tools,
        PACKAGE_MANAGER_CHECK,
        "package manager",
        "build from a minimal or distroless base image, or remove the package manager in the last stage.",
    )


@keyword_only("shells")
def assert_in_pod_no_shell(host: Any, *, shells: Iterable[str] = SHELLS) -> None:
    """Assert the image ships none of the interactive ``shells`` (beyond the ``/bin/sh`` the exec backend needs)."""
    __tracebackhide__ = True
    _assert_absent(
        host, shells, SHELL_CHECK, "shell", "build from a distroless base image (then test from outside the container)."
    )


def _assert_absent(host: Any, names: Iterable[str], check: Check, what: str, fix: str) -> None:
    __tracebackhide__ = True
    found = [f"{name} ({path})" for name in names if (path := _which(host, name))]
    if found:
        return _fail(f"{_where(host)}: {what}s present: {', '.join(found)}", check, [f"  fix: {fix}"])
    _record_pass(f"{_where(host)}: no {what}", check)


def _which(host: Any, name: str) -> str | None:
    result = host.run("command -v %s", name)
    return str(result.stdout).strip() or None if result.rc == 0 else None


# --- real connections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    """What one connection attempt from inside a container did (``probe_connection`` gives it).

    ``outcome`` is ``connected``, ``refused``, ``timeout``, ``unreachable`` or ``error``;
    ``detail`` is the tool's own words, ``reply`` the first line the server sent (k8ssec-probe's
    server answers with its hostname). ``source`` names the container, ``destination`` what the
    test named (``namespace/name`` for a Pod), ``address`` what was dialled, ``tool`` the program
    that made the attempt (``k8ssec-probe`` or ``nc``).
    """

    source: str
    destination: str
    address: str
    port: int
    protocol: str
    outcome: str
    detail: str
    reply: str = ""
    tool: str = PROBE

    @property
    def connected(self) -> bool:
        """The connection (TCP handshake, SCTP association, UDP reply) got through."""
        return self.outcome == "connected"

    @property
    def blocked(self) -> bool:
        """Refused, timed out or unreachable; ``error`` is neither (the attempt told nothing)."""
        return self.outcome in BLOCKED_OUTCOMES


def probe_connection(
    host: Any, dst: K8sObject | str, port: int, *, protocol: str = "TCP", timeout: float = 2.0
) -> Connection:
    """Make one real connection attempt from inside ``host``'s container to ``dst`` on ``port``/``protocol``.

    ``dst`` is an IP address or host name, or a Pod object (its ``status.podIP``). The attempt
    runs ``k8ssec-probe connect`` when the container has it, else, for TCP only, ``nc -z -v``;
    ``timeout`` (seconds) bounds it. One attempt, no retry: a dropped packet shows as a timeout.

    Raises:
        K8sSecError: the container has no tool for the protocol, or the Pod has no IP.
        ValueError: an unknown protocol, a port outside 1-65535 or a timeout that is not positive.
    """
    proto = _protocol(protocol)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"probe_connection: port must be a number 1-65535, got {port!r}")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"probe_connection: timeout must be a positive number of seconds, got {timeout!r}")
    destination, address = _destination(dst)
    source = _where(host)
    if _which(host, PROBE):
        # Milliseconds: Go's duration parser takes "1500ms" but not Python's "1.5e-05s".
        result = host.run(
            f"{PROBE} connect --protocol %s --timeout %s %s",
            proto.lower(),
            f"{max(1, round(timeout * 1000))}ms",
            f"[{address}]:{port}" if ":" in address else f"{address}:{port}",
        )
        outcome, detail, reply = _read_probe(result)
        return Connection(source, destination, address, port, proto, outcome, detail, reply, PROBE)
    if proto == "TCP" and _which(host, "nc"):
        # -w takes whole seconds in every nc; -v makes the traditional and OpenBSD ones say why.
        result = host.run("nc -z -v -w %s %s %s", str(math.ceil(timeout)), address, str(port))
        outcome, detail = _read_nc(result)
        return Connection(source, destination, address, port, proto, outcome, detail, "", "nc")
    needs = f"{PROBE} or nc" if proto == "TCP" else f"{PROBE} (nc can only probe TCP)"
    raise K8sSecError(f"{source} has no {needs} to make a {proto} connection; nothing was sent")


def assert_in_pod_connects(
    host: Any, dst: K8sObject | str, port: int, *, protocol: str = "TCP", timeout: float = 2.0
) -> None:
    """Assert a real connection from inside ``host``'s container to ``dst`` on ``port``/``protocol`` connects.

    One attempt as ``probe_connection`` makes it. Refused, timed out or unreachable fails; an
    attempt that tells nothing (no tool in the container, no SCTP in the kernel, a name that does
    not resolve) fails as an error, never as a pass.
    """
    __tracebackhide__ = True
    _assert_connection(host, dst, port, protocol, timeout, blocked=False)


def assert_in_pod_cannot_connect(
    host: Any, dst: K8sObject | str, port: int, *, protocol: str = "TCP", timeout: float = 2.0
) -> None:
    """Assert a real connection from inside ``host``'s container to ``dst`` on ``port``/``protocol`` is blocked.

    Blocked is refused, timed out or unreachable (enforcers that REJECT show "refused", those that
    DROP "timeout"). "refused" is also what a port nobody listens on gives: pair the test with an
    ``assert_in_pod_connects`` from an allowed client to show the server listens. An attempt that
    tells nothing fails as an error, never as a pass.
    """
    __tracebackhide__ = True
    _assert_connection(host, dst, port, protocol, timeout, blocked=True)


def _assert_connection(
    host: Any, dst: K8sObject | str, port: int, protocol: str, timeout: float, *, blocked: bool
) -> None:
    """The two assertions: the attempt must be ``blocked``, or connect."""
    __tracebackhide__ = True
    check = CONNECTION_ALLOWED_CHECK if blocked else CONNECTION_BLOCKED_CHECK
    conn = _attempt(host, dst, port, protocol, timeout, check)
    if conn is None:
        return None
    # _attempt has failed every "error": the outcome is connected or one of the blocked ones.
    seen = f"blocked ({conn.outcome})" if conn.blocked else "connected"
    if conn.blocked != blocked:
        wanted = "the test requires it blocked" if blocked else "the test requires it to connect"
        said = "connected" if blocked else f"was {conn.outcome}"
        return _fail(f"{_path(conn)} {said}; {wanted}", check, [*_outcome_lines(conn), f"  fix: {check.remediation}"])
    _record_pass(f"{_path(conn)} {seen}", check)


def _attempt(
    host: Any, dst: K8sObject | str, port: int, protocol: str, timeout: float, check: Check
) -> Connection | None:
    """The attempt, or ``None`` once an attempt that reached no verdict has failed as an error."""
    __tracebackhide__ = True
    try:
        conn = probe_connection(host, dst, port, protocol=protocol, timeout=timeout)
    except K8sSecError as exc:
        name = f"{dst.namespace}/{dst.name}" if isinstance(dst, K8sObject) else dst
        _fail(
            f"{_where(host)} -> {name} on {protocol.upper()}/{port}: cannot tell whether it connects",
            check,
            [f"  {exc}", "  fix: use an image with k8ssec-probe (or nc, for TCP) in the source container."],
            error=True,
        )
        return None
    if conn.outcome == "error":
        fix = (
            "SCTP needs kernel support on the node (CONFIG_IP_SCTP); test TCP or UDP there, or use a node that has it."
            if "sctp unavailable" in conn.detail
            else "the attempt reached no verdict; the detail says why (an address that does not resolve, a tool that does not work here)."
        )
        _fail(
            f"{_path(conn)}: cannot tell whether it connects",
            check,
            [*_outcome_lines(conn), f"  fix: {fix}"],
            error=True,
        )
        return None
    return conn


def _path(conn: Connection) -> str:
    # The failure's title is the waiver's key: the destination as the test named it (a Pod by
    # name, not by an IP that changes with every run), never the tool's detail.
    return f"{conn.source} -> {conn.destination} on {conn.protocol}/{conn.port}"


def _outcome_lines(conn: Connection) -> list[str]:
    lines = [f"  - outcome: {conn.outcome} ({conn.tool}: {conn.detail})"]
    if conn.address != conn.destination:
        lines.append(f"    address: {conn.address}")
    if conn.reply:
        lines.append(f"    reply: {conn.reply!r}")
    return lines


def _protocol(protocol: str) -> str:
    proto = protocol.upper() if isinstance(protocol, str) else ""
    if proto not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return proto


def _destination(dst: K8sObject | str) -> tuple[str, str]:
    """What the test named, and the address to dial."""
    if isinstance(dst, K8sObject):
        if dst.kind != "Pod":
            raise TypeError(f"a connection goes to a Pod or an address, got {dst.kind} {dst.name}")
        name = f"{dst.namespace}/{dst.name}"
        ip = as_mapping(dst.raw.get("status")).get("podIP")
        if not isinstance(ip, str) or not ip:
            raise K8sSecError(
                f"pod {name} has no IP (status.podIP is empty): it is not running, or was read from a manifest"
            )
        return name, ip
    if not isinstance(dst, str) or not dst.strip():
        raise TypeError(f"a connection goes to a Pod or an address, got {dst!r}")
    address = dst.strip()
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    return dst, address


def _read_probe(result: Any) -> tuple[str, str, str]:
    """Outcome, detail and reply from ``k8ssec-probe connect``: one JSON line, exit 0 exactly when
    connected; anything else is an ``error`` quoting what came back."""
    out = str(result.stdout).strip()
    lines = out.splitlines()
    try:
        parsed = json.loads(lines[0]) if len(lines) == 1 else None
    except ValueError:
        parsed = None
    if (
        not isinstance(parsed, dict)
        or set(parsed) != {"outcome", "detail", "reply"}
        or parsed["outcome"] not in OUTCOMES
        or not isinstance(parsed["detail"], str)
        or not isinstance(parsed["reply"], str)
    ):
        said = _trim(" ".join(f"{out} {result.stderr}".split()))
        return "error", f"{PROBE} exited {result.rc} without its one JSON line: {said or '(no output)'}", ""
    outcome, detail, reply = parsed["outcome"], parsed["detail"], parsed["reply"]
    if (result.rc == 0) != (outcome == "connected") or result.rc not in (0, 1):
        return "error", f"{PROBE} exited {result.rc} but said {outcome!r}: {_trim(out)}", ""
    return outcome, detail, reply


def _read_nc(result: Any) -> tuple[str, str]:
    said = _trim(" ".join(f"{result.stderr} {result.stdout}".split()))
    text = said.lower()
    if result.rc == 0:
        return "connected", f"nc -z: port open{'; ' + said if said else ''}"
    # A usage text mentions "timeout" too: a nc that rejected the options says so first.
    if any(word in text for word in ("invalid option", "illegal option", "unrecognized option", "usage:")):
        return "error", f"this nc cannot scan (no -z or -v, e.g. Debian's busybox): {said}"
    if "refused" in text:
        return "refused", said
    if "timed out" in text or "timeout" in text:
        return "timeout", said
    if "unreachable" in text or "no route" in text:
        return "unreachable", said
    return "error", f"nc exited {result.rc} without saying why: {said or '(no output)'}"


def _trim(text: str) -> str:
    return text if len(text) <= _RAW_SHOWN else text[:_RAW_SHOWN] + "..."


# The names before 0.2.0 read like object helpers (assert_root_filesystem_read_only(host) beside
# assert_read_only_root_filesystem(objs)); they work until 0.3.0 with a warning.
assert_main_process_not_root = renamed("assert_main_process_not_root", assert_in_pod_runs_as_non_root)
assert_root_filesystem_read_only = renamed("assert_root_filesystem_read_only", assert_in_pod_read_only_root_filesystem)
assert_no_package_manager = renamed("assert_no_package_manager", assert_in_pod_no_package_manager)
assert_no_shell = renamed("assert_no_shell", assert_in_pod_no_shell)
