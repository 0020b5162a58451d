"""Real connections from inside a container: probe_connection and its two assertions.

A stand-in testinfra host answers each command as k8ssec-probe or a netcat would, so every outcome,
fallback and error is covered without a cluster; one test runs the real probe (when built) through
testinfra's local backend against listeners on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import testinfra

from pytest_k8ssec import (
    Connection,
    K8sObject,
    K8sSecError,
    Provenance,
    SecurityAssertionError,
    assert_in_pod_cannot_connect,
    assert_in_pod_connects,
    probe_connection,
)

REPO = Path(__file__).resolve().parents[2]
PROBE_BIN = REPO / "controlplane" / ".cache" / "bin" / "k8ssec-probe"
ALLOWED_FIX = "fix: Add a NetworkPolicy selecting the destination (ingress) or the source (egress)"
SOURCE = 'shop/client container "app"'
# What Debian's busybox nc (no NC_110_COMPAT) says to "nc -z": an option error, then a usage text
# that itself mentions a timeout.
BUSYBOX_NO_Z = (
    "nc: invalid option -- 'z'\nBusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n\n"
    "Usage: nc [-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR PORT] [-e PROG]\n\t-w SEC\tConnect timeout\n"
)


@dataclass
class Result:
    rc: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class Backend:
    name: str = "client"
    namespace: str = "shop"
    container: str = "app"


@dataclass
class FakeHost:
    """A testinfra host inside ``shop/client``: ``tools`` are on its PATH, ``answer`` runs the probe or nc."""

    tools: tuple[str, ...] = ("k8ssec-probe",)
    answer: Callable[[str], Result] = lambda line: Result(127, stderr="not expected")
    backend: Backend = field(default_factory=Backend)
    calls: list[str] = field(default_factory=list)

    def run(self, command: str, *args: str) -> Result:
        # As testinfra does: the arguments are shell-quoted into the command.
        line = command % tuple(shlex.quote(a) for a in args) if args else command
        self.calls.append(line)
        if line.startswith("command -v "):
            name = line.split()[-1]
            return Result(0, f"/bin/{name}\n") if name in self.tools else Result(1)
        return self.answer(line)


def probe_says(outcome: str, detail: str, reply: str = "", rc: int | None = None) -> FakeHost:
    line = json.dumps({"outcome": outcome, "detail": detail, "reply": reply}) + "\n"
    return FakeHost(answer=lambda _: Result((0 if outcome == "connected" else 1) if rc is None else rc, line))


def prints(stdout: str, rc: int = 1, stderr: str = "") -> FakeHost:
    return FakeHost(answer=lambda _: Result(rc, stdout, stderr))


def nc_says(rc: int, stderr: str = "", stdout: str = "") -> FakeHost:
    return FakeHost(tools=("nc",), answer=lambda _: Result(rc, stdout, stderr))


def pod(ip: str | None = "10.244.0.7", kind: str = "Pod") -> K8sObject:
    raw: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "db", "namespace": "shop"}}
    if ip is not None:
        raw["status"] = {"phase": "Running", "podIP": ip}
    return K8sObject(raw, Provenance.of_cluster("local"))


# --- probe_connection: what each outcome gives --------------------------------------------------------


def test_a_connection_that_got_through_is_connected_with_the_servers_reply() -> None:
    host = probe_says("connected", "tcp connection established to 10.244.0.7:8080", "db-0")
    conn = probe_connection(host, pod(), 8080, timeout=1.5)
    assert conn == Connection(
        source=SOURCE,
        destination="shop/db",
        address="10.244.0.7",
        port=8080,
        protocol="TCP",
        outcome="connected",
        detail="tcp connection established to 10.244.0.7:8080",
        reply="db-0",
        tool="k8ssec-probe",
    )
    assert conn.connected and not conn.blocked
    assert host.calls == [
        "command -v k8ssec-probe",
        "k8ssec-probe connect --protocol tcp --timeout 1500ms 10.244.0.7:8080",
    ]


@pytest.mark.parametrize(
    ("outcome", "detail"),
    [
        ("refused", "dial tcp 10.244.0.7:5432: connect: connection refused"),
        ("timeout", "dial tcp 10.244.0.7:5432: i/o timeout"),
        ("unreachable", "dial tcp 10.244.0.7:5432: connect: no route to host"),
    ],
)
def test_refused_timeout_and_unreachable_are_blocked(outcome: str, detail: str) -> None:
    conn = probe_connection(probe_says(outcome, detail), "10.244.0.7", 5432)
    assert (conn.outcome, conn.detail, conn.blocked, conn.connected) == (outcome, detail, True, False)


def test_an_error_is_neither_connected_nor_blocked() -> None:
    conn = probe_connection(probe_says("error", "sctp unavailable: protocol not supported"), pod(), 9, protocol="sctp")
    assert (conn.outcome, conn.protocol, conn.connected, conn.blocked) == ("error", "SCTP", False, False)


def test_the_probe_gets_the_protocol_the_timeout_and_a_bracketed_ipv6_address() -> None:
    host = probe_says("refused", "read udp: connection refused")
    probe_connection(host, "fd00::7", 53, protocol="udp", timeout=0.25)
    probe_connection(host, "[fd00::7]", 53, protocol="UDP", timeout=3)
    probe_connection(host, "db.shop.svc", 53, protocol="Udp")
    runs = [call for call in host.calls if not call.startswith("command -v")]
    assert runs == [
        "k8ssec-probe connect --protocol udp --timeout 250ms '[fd00::7]:53'",
        "k8ssec-probe connect --protocol udp --timeout 3000ms '[fd00::7]:53'",
        "k8ssec-probe connect --protocol udp --timeout 2000ms db.shop.svc:53",
    ]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (prints("", rc=1, stderr="error: unable to upgrade connection: container not found"), "container not found"),
        (prints("sh: 1: k8ssec-probe: Permission denied\n", rc=126), "Permission denied"),
        (prints('{"outcome": "connected", "detail": "x", "reply": ""}\n{"outcome": "refused"}\n'), "without its one"),
        (prints('{"outcome": "open", "detail": "x", "reply": ""}\n'), '"open"'),
        (prints('{"outcome": "refused", "detail": "x"}\n'), "without its one JSON line"),
        (prints('{"outcome": "refused", "detail": 5, "reply": ""}\n'), "without its one JSON line"),
        (prints('{"outcome": "refused", "detail": "x", "reply": "", "extra": 1}\n'), "without its one"),
        (prints("usage: k8ssec-probe connect ...\n", rc=2), "exited 2 without its one JSON line"),
        (probe_says("refused", "x", rc=0), "exited 0 but said 'refused'"),
        (probe_says("connected", "x", rc=1), "exited 1 but said 'connected'"),
        (probe_says("connected", "x", rc=2), "exited 2 but said 'connected'"),
    ],
)
def test_output_that_is_not_the_probes_one_json_line_is_an_error_quoting_it(host: FakeHost, expected: str) -> None:
    conn = probe_connection(host, "10.244.0.7", 80)
    assert conn.outcome == "error" and not conn.blocked and not conn.connected
    assert expected in conn.detail


def test_raw_output_is_trimmed_in_the_detail() -> None:
    conn = probe_connection(prints("x" * 5000), "10.244.0.7", 80)
    assert conn.outcome == "error" and conn.detail.endswith("...") and len(conn.detail) < 400


# --- the nc fallback (TCP only) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rc", "stderr", "outcome"),
    [
        (0, "Connection to 10.244.0.7 5432 port [tcp/postgresql] succeeded!", "connected"),
        (0, "", "connected"),
        (1, "nc: connect to 10.244.0.7 port 5432 (tcp) failed: Connection refused", "refused"),
        (1, "nc: connect to 10.244.0.7 port 5432 (tcp) failed: Connection timed out", "timeout"),
        (1, "10.244.0.7 (10.244.0.7:5432) open: No route to host", "unreachable"),
        (1, "nc: can't connect to remote host (10.244.0.7): Host is unreachable", "unreachable"),
        (1, "Ncat: TIMEOUT.", "timeout"),
        (1, BUSYBOX_NO_Z, "error"),
        (1, "", "error"),
        (1, "nc: bad address 'db.nowhere'", "error"),
    ],
)
def test_without_the_probe_nc_answers_tcp(rc: int, stderr: str, outcome: str) -> None:
    host = nc_says(rc, stderr)
    conn = probe_connection(host, pod(), 5432, timeout=1.5)
    assert (conn.outcome, conn.tool, conn.protocol) == (outcome, "nc", "TCP")
    # -w takes whole seconds: 1.5 s is rounded up, never down to a shorter wait.
    assert host.calls[-1] == "nc -z -v -w 2 10.244.0.7 5432"


def test_an_nc_without_z_says_so() -> None:
    conn = probe_connection(nc_says(1, BUSYBOX_NO_Z), "10.244.0.7", 80)
    assert "this nc cannot scan (no -z or -v" in conn.detail


@pytest.mark.parametrize(
    ("tools", "protocol", "lacks"),
    [
        ((), "TCP", "k8ssec-probe or nc"),
        (("nc",), "UDP", "k8ssec-probe (nc can only probe TCP)"),
        (("nc",), "SCTP", "k8ssec-probe (nc can only probe TCP)"),
    ],
)
def test_a_container_without_a_tool_for_the_protocol_is_an_error_naming_what_it_lacks(
    tools: tuple[str, ...], protocol: str, lacks: str
) -> None:
    host = FakeHost(tools=tools)
    with pytest.raises(
        K8sSecError,
        match=re.escape(f"{SOURCE} has no {lacks} to make a {protocol} connection; nothing was sent"),
    ):
        probe_connection(host, "10.244.0.7", 80, protocol=protocol)
    assert all(call.startswith("command -v ") for call in host.calls)


# --- arguments ------------------------------------------------------------------------------------


def test_a_pod_without_an_ip_is_an_error_saying_so() -> None:
    with pytest.raises(K8sSecError, match=r"pod shop/db has no IP \(status.podIP is empty\)"):
        probe_connection(FakeHost(), pod(ip=None), 80)
    with pytest.raises(K8sSecError, match="has no IP"):
        probe_connection(FakeHost(), pod(ip=""), 80)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dst": pod(kind="Service")}, TypeError, "goes to a Pod or an address, got Service db"),
        ({"dst": ""}, TypeError, "goes to a Pod or an address"),
        ({"protocol": "icmp"}, ValueError, "protocol must be one of TCP, UDP, SCTP, got 'icmp'"),
        ({"port": 0}, ValueError, "port must be a number 1-65535, got 0"),
        ({"port": 65536}, ValueError, "port must be a number"),
        ({"port": True}, ValueError, "port must be a number"),
        ({"port": "80"}, ValueError, "port must be a number"),
        ({"timeout": 0}, ValueError, "timeout must be a positive number"),
        ({"timeout": float("inf")}, ValueError, "timeout must be a positive number"),
    ],
)
def test_bad_arguments_are_usage_errors_before_anything_runs(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    host = FakeHost()
    args: dict[str, Any] = {"dst": "10.244.0.7", "port": 80, **kwargs}
    with pytest.raises(error, match=match):
        probe_connection(host, args.pop("dst"), args.pop("port"), **args)
    with pytest.raises(error, match=match):
        assert_in_pod_cannot_connect(
            host,
            kwargs.get("dst", "10.244.0.7"),
            kwargs.get("port", 80),
            **{k: v for k, v in kwargs.items() if k not in ("dst", "port")},
        )
    assert host.calls == []


# --- the assertions ---------------------------------------------------------------------------------


def test_a_connection_that_got_through_fails_cannot_connect_naming_everything() -> None:
    host = probe_says("connected", "tcp connection established to 10.244.0.7:5432", "db-0")
    assert_in_pod_connects(host, pod(), 5432)
    with pytest.raises(SecurityAssertionError) as info:
        assert_in_pod_cannot_connect(host, pod(), 5432)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{SOURCE} -> shop/db on TCP/5432 connected; the test requires it blocked"
    assert lines[1:4] == [
        "  - outcome: connected (k8ssec-probe: tcp connection established to 10.244.0.7:5432)",
        "    address: 10.244.0.7",
        "    reply: 'db-0'",
    ]
    assert lines[4].startswith(f"  {ALLOWED_FIX} that does not allow this port")


@pytest.mark.parametrize("outcome", ["refused", "timeout", "unreachable"])
def test_a_blocked_connection_fails_connects_with_the_outcome_and_detail(outcome: str) -> None:
    host = probe_says(outcome, f"dial udp 10.244.0.7:53: {outcome}")
    assert_in_pod_cannot_connect(host, "10.244.0.7", 53, protocol="udp")
    with pytest.raises(SecurityAssertionError) as info:
        assert_in_pod_connects(host, "10.244.0.7", 53, protocol="udp")
    lines = str(info.value).splitlines()
    assert lines[0] == f"{SOURCE} -> 10.244.0.7 on UDP/53 was {outcome}; the test requires it to connect"
    assert lines[1] == f"  - outcome: {outcome} (k8ssec-probe: dial udp 10.244.0.7:53: {outcome})"
    assert lines[2].startswith("  fix: Allow this port in the NetworkPolicies selecting the destination")


@pytest.mark.parametrize("helper", [assert_in_pod_connects, assert_in_pod_cannot_connect])
def test_an_attempt_that_tells_nothing_fails_both_helpers_never_passes(helper: Callable[..., None]) -> None:
    sctp = probe_says("error", "sctp unavailable: socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): protocol not supported")
    with pytest.raises(SecurityAssertionError) as info:
        helper(sctp, pod(), 9999, protocol="SCTP")
    text = str(info.value)
    assert text.startswith(f"{SOURCE} -> shop/db on SCTP/9999: cannot tell whether it connects\n")
    assert "  - outcome: error (k8ssec-probe: sctp unavailable: socket(" in text
    assert "fix: SCTP needs kernel support on the node (CONFIG_IP_SCTP)" in text
    with pytest.raises(SecurityAssertionError, match=r"cannot tell whether it connects(.|\n)*nc: bad address"):
        helper(nc_says(1, "nc: bad address 'db.nowhere'"), "db.nowhere", 80)
    with pytest.raises(SecurityAssertionError, match=r"without its one JSON line: \(no output\)"):
        helper(prints(""), "10.244.0.7", 80)
    with pytest.raises(SecurityAssertionError) as info:
        helper(FakeHost(tools=()), pod(), 80)
    assert str(info.value).splitlines() == [
        f"{SOURCE} -> shop/db on TCP/80: cannot tell whether it connects",
        f"  {SOURCE} has no k8ssec-probe or nc to make a TCP connection; nothing was sent",
        "  fix: use an image with k8ssec-probe (or nc, for TCP) in the source container.",
    ]
    with pytest.raises(SecurityAssertionError, match=r"shop/db on TCP/80: cannot tell(.|\n)*pod shop/db has no IP"):
        helper(FakeHost(), pod(ip=None), 80)


def test_the_title_names_a_pod_not_its_ip_so_a_waiver_outlives_the_pod() -> None:
    one = probe_says("connected", "tcp connection established")
    with pytest.raises(SecurityAssertionError) as first:
        assert_in_pod_cannot_connect(one, pod("10.244.0.7"), 80)
    with pytest.raises(SecurityAssertionError) as second:
        assert_in_pod_cannot_connect(one, pod("10.244.1.9"), 80)
    assert str(first.value).splitlines()[0] == str(second.value).splitlines()[0]


# --- in a real run ----------------------------------------------------------------------------------


FAKE_HOST_MODULE = """
import json
import types

from pytest_k8ssec import assert_in_pod_cannot_connect, assert_in_pod_connects


class Host:
    backend = types.SimpleNamespace(name="client", namespace="shop", container="app")

    def __init__(self, outcome):
        self.outcome = outcome

    def run(self, command, *args):
        if command.startswith("command -v"):
            return types.SimpleNamespace(rc=0, stdout="/bin/k8ssec-probe", stderr="")
        line = json.dumps({"outcome": self.outcome, "detail": "said " + self.outcome, "reply": ""})
        return types.SimpleNamespace(rc=0 if self.outcome == "connected" else 1, stdout=line, stderr="")
"""


def test_results_reach_the_summary_and_junit_under_the_new_check_ids(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        FAKE_HOST_MODULE
        + """

def test_db_isolated():
    assert_in_pod_cannot_connect(Host("connected"), "10.244.0.7", 5432)

def test_web_reaches_api():
    assert_in_pod_connects(Host("connected"), "10.244.0.8", 8080)

def test_sctp():
    assert_in_pod_connects(Host("error"), "10.244.0.8", 9, protocol="SCTP")
"""
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(f"--junitxml={junit}", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*= k8ssec =*",
            "check*severity*judged*pass*fail*advisory*waived*baselined",
        ]
    )
    result.stdout.fnmatch_lines(["in-pod-connection-allowed*high*1*0*1*0*0*0"])
    result.stdout.fnmatch_lines(["in-pod-connection-blocked*low*2*1*1*0*0*0"])
    result.stdout.fnmatch_lines(
        ['*shop/client container "app" -> 10.244.0.7 on TCP/5432 connected; the test requires it blocked*']
    )
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert ("k8ssec.check", "in-pod-connection-allowed=fail") in _properties(cases["test_db_isolated"])
    assert ("k8ssec.check", "in-pod-connection-blocked=pass") in _properties(cases["test_web_reaches_api"])
    assert ("k8ssec.check", "in-pod-connection-blocked=fail") in _properties(cases["test_sctp"])


def test_a_waiver_covers_a_connection_that_got_through_but_never_an_attempt_that_told_nothing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        FAKE_HOST_MODULE
        + """

def test_waived():
    assert_in_pod_cannot_connect(Host("connected"), "10.244.0.7", 5432)

def test_error_is_not_waived():
    assert_in_pod_cannot_connect(Host("error"), "10.244.0.7", 5432)
"""
    )
    (pytester.path / "waivers.yaml").write_text(
        "waivers:\n  - check: in-pod-connection-allowed\n    reason: the migration job needs it until Q2\n"
        "    expires: 2099-01-01\n"
    )
    result = pytester.runpytest("--k8s-waivers=waivers.yaml", "-p", "no:randomly", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_waived PASSED*", "*test_error_is_not_waived FAILED*"], consecutive=False)


def _properties(case: ET.Element) -> list[tuple[str | None, str | None]]:
    return [(p.get("name"), p.get("value")) for p in case.iter("property")]


# --- the real probe -----------------------------------------------------------------------------------


@pytest.fixture
def real_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """k8ssec-probe on PATH for testinfra's local backend: the built one, or one already on PATH."""
    built = PROBE_BIN if PROBE_BIN.is_file() else None
    found = shutil.which("k8ssec-probe")
    if built is None and found is None:
        pytest.skip(f"needs the k8ssec-probe binary: {PROBE_BIN} (bash controlplane/probe/build.sh) or one on PATH")
    if built is not None:
        (tmp_path / "k8ssec-probe").symlink_to(built)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def listeners() -> Iterator[dict[str, int]]:
    """A TCP server saying "hello", a UDP echo, and a TCP port bound but not listening (refused), on 127.0.0.1."""
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    # Closing a socket does not wake a thread blocked in accept() on Linux: the servers poll.
    tcp.settimeout(0.05)
    udp.settimeout(0.05)
    stop = threading.Event()

    def serve_tcp() -> None:
        while not stop.is_set():
            try:
                conn, _ = tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.sendall(b"hello\n")

    def serve_udp() -> None:
        while not stop.is_set():
            try:
                data, peer = udp.recvfrom(1024)
            except TimeoutError:
                continue
            except OSError:
                return
            udp.sendto(b"pong " + data, peer)

    threads = [threading.Thread(target=serve_tcp, daemon=True), threading.Thread(target=serve_udp, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        yield {"tcp": tcp.getsockname()[1], "udp": udp.getsockname()[1], "closed": closed.getsockname()[1]}
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        for sock in (tcp, udp, closed):
            sock.close()


@pytest.mark.usefixtures("real_probe")
def test_the_real_probe_through_testinfra(listeners: dict[str, int]) -> None:
    host = testinfra.get_host("local://")
    conn = probe_connection(host, "127.0.0.1", listeners["tcp"], timeout=2)
    assert (conn.outcome, conn.reply, conn.tool) == ("connected", "hello", "k8ssec-probe")
    assert_in_pod_connects(host, "127.0.0.1", listeners["tcp"])
    udp = probe_connection(host, "127.0.0.1", listeners["udp"], protocol="UDP", timeout=2)
    assert (udp.outcome, udp.reply) == ("connected", "pong k8ssec-probe")
    refused = probe_connection(host, "127.0.0.1", listeners["closed"], timeout=2)
    assert (refused.outcome, refused.blocked) == ("refused", True)
    assert_in_pod_cannot_connect(host, "127.0.0.1", listeners["closed"])
    with pytest.raises(SecurityAssertionError, match="connected; the test requires it blocked"):
        assert_in_pod_cannot_connect(host, "127.0.0.1", listeners["tcp"])
    sctp = probe_connection(host, "127.0.0.1", listeners["tcp"], protocol="SCTP", timeout=2)
    # This kernel may or may not have SCTP: nothing listens on SCTP here, so it is never connected.
    assert sctp.outcome in ("error", "refused", "timeout") and not sctp.connected
    if not os.path.exists("/proc/sys/net/sctp"):
        assert sctp.outcome == "error" and sctp.detail.startswith("sctp unavailable: ")
