"""A fault-injecting TLS proxy in front of the real local API server (test helper, loopback only).

The API server stays real: every request the proxy does not break is forwarded to it and its
answer relayed. The proxy terminates TLS with its own throwaway certificate and forwards the
client's ``Authorization`` header; it holds no credentials of its own. So the identity that
reaches the API server is the caller's bearer token (a ServiceAccount token the tests bind), and
401/403 answers are the server's own decisions, not the proxy's.

>>> with FaultProxy(upstream, upstream_ca) as proxy:
...     proxy.faults.append(Fault(r"/deployments$", "html"))
...     kubeconfig = proxy.kubeconfig(tmp_path / "kubeconfig", token)
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ACTIONS = ("status", "html", "truncate", "trickle", "trickle-body", "same-continue", "fresh-continue", "stop-after")


@dataclass
class Fault:
    """Break requests whose path matches ``path`` (a regex, searched; the query is not part of it).

    Actions: ``status`` (a Status body with ``status``; 429 carries ``Retry-After: 1``), ``html``
    (an HTML page, with 200 or ``status``), ``truncate`` (200 with the real JSON cut in half), ``trickle`` (the
    real answer, status line included, one byte a second), ``trickle-body`` (headers at once, then
    the body one byte a second), ``same-continue`` / ``fresh-continue`` (the real first page again
    and again, with the same or a new continue token each time), ``stop-after`` (forward this
    request, then answer nothing more: the API server is gone until ``proxy.down = False``).
    """

    path: str
    action: str
    status: int | None = None  # the status of a ``status`` or ``html`` answer (html: 200 unless given)
    method: str = "GET"
    times: int | None = None  # how many matching requests to break; None: all of them
    hits: int = 0

    def __post_init__(self) -> None:
        assert self.action in ACTIONS, self.action

    def take(self, method: str, path: str) -> bool:
        if method != self.method or not re.search(self.path, path):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class FaultProxy:
    upstream: str  # https://127.0.0.1:PORT of the real API server
    upstream_ca: bytes  # its CA (PEM)
    faults: list[Fault] = field(default_factory=list)
    down: bool = False
    seen: list[tuple[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _closing: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> FaultProxy:
        _ca_key, ca_cert, cert, key = _pki()
        self.ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="faultproxy-") as folder:  # ssl loads keys from files only
            (Path(folder) / "proxy.crt").write_bytes(cert)
            (Path(folder) / "proxy.key").write_bytes(key)
            context.load_cert_chain(Path(folder) / "proxy.crt", Path(folder) / "proxy.key")
        upstream_context = ssl.create_default_context(cadata=self.upstream_ca.decode())
        proxy = self

        class Handler(_Handler):
            pass

        Handler.proxy = proxy
        Handler.upstream_context = upstream_context
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # ends trickles
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path, token: str, context: str = "proxied") -> Path:
        """A kubeconfig whose context ``context`` reaches the API server through the proxy as ``token``."""
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "proxy",
                            "cluster": {"server": self.url, "certificate-authority-data": _b64(self.ca_pem)},
                        }
                    ],
                    "users": [{"name": "scanner", "user": {"token": token}}],
                    "contexts": [{"name": context, "context": {"cluster": "proxy", "user": "scanner"}}],
                    "current-context": context,
                }
            )
        )
        return path


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    upstream_context: ssl.SSLContext
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        proxy = self.proxy
        parsed = urllib.parse.urlsplit(self.path)
        proxy.seen.append((self.command, parsed.path))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if proxy.down:
            self.close_connection = True  # a stopped server answers nothing
            return
        fault = next((f for f in proxy.faults if f.take(self.command, parsed.path)), None)
        action = fault.action if fault else None
        if fault is not None and action == "status":
            assert fault.status is not None, "a status fault needs its status"
            status = fault.status
            payload = json.dumps(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "code": status,
                    "message": f"injected by the fault proxy: HTTP {status}",
                    "reason": http.client.responses[status],
                }
            ).encode()
            extra = {"Retry-After": "1"} if status == 429 else {}
            return self._answer(status, "application/json", payload, extra)
        if fault is not None and action == "html":
            return self._answer(
                fault.status or 200,
                "text/html",
                b"<html><head><title>Maintenance</title></head><body>back soon</body></html>",
            )
        path = self.path
        if action in ("same-continue", "fresh-continue"):
            # The real first page (the server would refuse a made-up continue token).
            query = [(k, v) for k, v in urllib.parse.parse_qsl(parsed.query) if k != "continue"]
            path = parsed.path + "?" + urllib.parse.urlencode(query)
        status, content_type, payload = self._forward(path, body)
        if action == "stop-after":
            proxy.down = True
        elif action == "truncate":
            payload = payload[: len(payload) // 2]
        elif action in ("same-continue", "fresh-continue"):
            data = json.loads(payload)
            token = "again" if action == "same-continue" else f"fresh-{fault.hits}"  # type: ignore[union-attr]
            data.setdefault("metadata", {})["continue"] = token
            payload = json.dumps(data).encode()
        if action in ("trickle", "trickle-body"):
            return self._trickle(status, content_type, payload, everything=action == "trickle")
        self._answer(status, content_type, payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def _forward(self, path: str, body: bytes) -> tuple[int, str, bytes]:
        url = urllib.parse.urlsplit(self.proxy.upstream)
        connection = http.client.HTTPSConnection(url.hostname, url.port, context=self.upstream_context, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept", "content-type")}
        try:
            connection.request(self.command, path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            connection.close()

    def _answer(self, status: int, content_type: str, payload: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _trickle(self, status: int, content_type: str, payload: bytes, everything: bool) -> None:
        head = (
            f"HTTP/1.1 {status} {http.client.responses[status]}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        slow = head + payload if everything else payload
        if not everything:
            self.wfile.write(head)
            self.wfile.flush()
        self.close_connection = True
        try:
            for index in range(len(slow)):
                if self.proxy._closing.wait(1.0):
                    return
                self.wfile.write(slow[index : index + 1])
                self.wfile.flush()
        except OSError:
            return  # the client gave up: what a bounded client does


def _pki() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, bytes, bytes]:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fault-proxy-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fault-proxy")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_key, ca_cert, cert.public_bytes(serialization.Encoding.PEM), key_pem


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
