"""A real local Kubernetes control plane: etcd, kube-apiserver and kube-controller-manager.

A product feature (``--k8s-local-control-plane``) and the project's own test infrastructure:
live behaviour is tested against the real API server, never a fake. The components are the
official ones (built from the Go modules by ``controlplane/build.sh``, or an envtest asset folder),
run as child processes on free loopback ports with generated certificates (``cryptography``).

What a security suite needs from it and gets: RBAC and Node authorization with a
``system:masters`` admin and users who hold no rights until RBAC grants them; the default
admission plugins, PodSecurity included; the controllers that make RBAC and namespaces real
(clusterrole aggregation fills ``admin``/``edit``/``view``; namespaces get their ``default``
ServiceAccount and really disappear when deleted). Pods stay Pending: there is no scheduler and
no kubelet, which admission and authorization tests do not need; ``start(node=True)`` adds
kube-scheduler, the controllers that turn workloads into pods, and one real node
(``local_node``), so pods run.

>>> with LocalControlPlane.start() as plane:
...     print(plane.kubeconfig, plane.contexts)
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import http.client
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pytest_k8ssec._processes import alive as _alive
from pytest_k8ssec._processes import owner as _owner
from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.sources._local_common import PENDING_SIGNALS, check_interrupted
from pytest_k8ssec.sources._local_common import die_with_parent as _die_with_parent
from pytest_k8ssec.sources._local_common import kubeconfig as _kubeconfig

if TYPE_CHECKING:
    from pytest_k8ssec.sources.local_node import LocalNode, NodeBinaries

MULTICALL: Final = "k8s-controlplane"
COMPONENTS: Final = ("etcd", "kube-apiserver", "kube-controller-manager")
ASSETS_ENV: Final = "KUBEBUILDER_ASSETS"
BIN_ENV: Final = "K8SSEC_CONTROL_PLANE_BIN"
# The project's build cache (controlplane/build.sh), when running from a checkout: this module is
# pytest_k8ssec/sources/local_control_plane.py, so the checkout is three levels up.
BUILD_CACHE: Final = Path(__file__).resolve().parents[2] / "controlplane" / ".cache" / "bin"
SERVICE_CIDR: Final = "10.0.0.0/24"
CLUSTER_CIDR: Final = "10.244.0.0/16"
SERVICE_IP: Final = "10.0.0.1"
CONTROLLERS: Final = (
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "clusterrole-aggregation-controller",
    "garbage-collector-controller",
    "root-ca-certificate-publisher-controller",
)
# With a node, the controllers that turn workloads into pods and pods into endpoints, and the
# node lifecycle controller that lifts the not-ready taint (the scheduler waits for that).
NODE_CONTROLLERS: Final = (
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
    "cronjob-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "node-ipam-controller",
    "node-lifecycle-controller",
    "pod-garbage-collector-controller",
    "ttl-controller",
    # Binds the claims of applied workloads to the local node's stand-in volumes.
    "persistentvolume-binder-controller",
)
# Users with a client certificate and no rights until RBAC grants them (CN = user, O = groups).
NON_ADMIN_USERS: Final[dict[str, tuple[str, ...]]] = {"alice": (), "bob": ("dev-team",)}
BUILD_HINT: Final = (
    "build them with `bash controlplane/build.sh` in a pytest-k8ssec checkout (Go 1.26 and the Go module "
    f"proxy; about 20 minutes cold), or point --k8s-control-plane-bin (ini k8s_control_plane_bin, env "
    f"{BIN_ENV}) at the {MULTICALL} binary or at a folder holding etcd, kube-apiserver and "
    f"kube-controller-manager ({ASSETS_ENV}, the envtest layout, works too when it also holds "
    "kube-controller-manager)"
)


# Metadata for every request (user, verb, object, URI with dryRun/fieldManager, status): enough to
# prove what a run wrote, and no body, so Secret values never reach the log. Namespace creation
# also logs its body: the run-id label in it is what makes a namespace the run's own.
AUDIT_POLICY: Final = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Request
    verbs: [create]
    resources: [{group: "", resources: [namespaces]}]
  - level: Metadata
"""


class LocalClusterError(K8sSecError):
    """The local control plane could not be found or started; the message says why and what to do."""


@dataclass(frozen=True)
class Binaries:
    """argv prefixes that start each component (``[multicall, "etcd"]`` or ``[".../etcd"]``)."""

    etcd: tuple[str, ...]
    apiserver: tuple[str, ...]
    controller_manager: tuple[str, ...]

    @classmethod
    def find(cls, explicit: str | None = None) -> Binaries:
        """From ``explicit`` (file or folder), ``$K8SSEC_CONTROL_PLANE_BIN``, ``$KUBEBUILDER_ASSETS``, or the build cache."""
        candidates: list[tuple[str, str]] = []
        if explicit:
            candidates.append(("--k8s-control-plane-bin", explicit))
        elif os.environ.get(BIN_ENV):
            candidates.append((BIN_ENV, os.environ[BIN_ENV]))
        else:
            if os.environ.get(ASSETS_ENV):
                candidates.append((ASSETS_ENV, os.environ[ASSETS_ENV]))
            candidates.append(("the build cache", str(BUILD_CACHE)))
        problems = []
        for origin, location in candidates:
            found = cls._from(location)
            if isinstance(found, Binaries):
                return found
            problems.append(f"{origin} ({location}): {found}")
        raise LocalClusterError(f"no control plane binaries: {'; '.join(problems)}. To get them, {BUILD_HINT}.")

    @classmethod
    def _from(cls, location: str) -> Binaries | str:
        path = Path(location)
        if path.is_file():
            return cls((str(path), "etcd"), (str(path), "kube-apiserver"), (str(path), "kube-controller-manager"))
        if not path.is_dir():
            return "does not exist"
        multicall = path / MULTICALL
        if _executable(multicall):
            return cls._from(str(multicall))
        missing = [name for name in COMPONENTS if not _executable(path / name)]
        if missing:
            return f"missing {', '.join(missing)}"
        return cls((str(path / "etcd"),), (str(path / "kube-apiserver"),), (str(path / "kube-controller-manager"),))


def _node_binaries(binaries: Binaries, node_bin: str | None) -> NodeBinaries:
    from pytest_k8ssec.sources.local_node import MissingKernelFeature, NodeBinaries, NodeUnavailable, missing_features

    if len(binaries.apiserver) != 2:
        raise NodeUnavailable(
            f"the local node runs the kubelet and kube-scheduler of the {MULTICALL} multi-call binary, "
            f"and the control plane binaries are separate files ({binaries.apiserver[0]}); {BUILD_HINT}"
        )
    found = NodeBinaries.find(binaries.apiserver[0], node_bin)
    missing = missing_features()
    if missing:
        raise MissingKernelFeature(f"this machine cannot run the local node: it lacks {'; '.join(missing)}")
    return found


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PKI ----------------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    # P-256: accepted by every component for serving, client and service-account keys, and
    # generated in microseconds where RSA takes tens of milliseconds per key.
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    return x509.Name(attributes)


@dataclass
class _Pki:
    """A throwaway CA and the certificates signed by it, as PEM bytes."""

    ca_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    ca_cert: x509.Certificate | None = None

    def __post_init__(self) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        subject = _name("pytest-k8ssec-local-ca")
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )

    def issue(
        self,
        common_name: str,
        organizations: Sequence[str] = (),
        *,
        server: bool = False,
        addresses: Sequence[str] = (),
    ) -> tuple[bytes, bytes]:
        """A certificate and key (PEM) for a client (CN = user, O = groups) or a server.

        A server certificate names loopback and the API server's names, plus ``addresses`` (the
        local node's kubelet serves on its InternalIP).
        """
        assert self.ca_cert is not None
        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organizations))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if server:
            names: list[x509.GeneralName] = [
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address(SERVICE_IP)),
                x509.DNSName("localhost"),
                x509.DNSName("kubernetes"),
                x509.DNSName("kubernetes.default"),
                x509.DNSName("kubernetes.default.svc"),
                x509.DNSName("kubernetes.default.svc.cluster.local"),
                *(x509.IPAddress(ipaddress.ip_address(address)) for address in addresses),
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
            usage = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH])
        else:
            usage = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
        cert = builder.add_extension(usage, critical=False).sign(self.ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem(key)

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM)."""
        assert self.ca_cert is not None
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# --- processes ----------------------------------------------------------------------------------


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


@dataclass
class LocalControlPlane:
    """A running local control plane. Use ``LocalControlPlane.start()`` as a context manager.

    Attributes:
        kubeconfig: path of a kubeconfig with contexts ``admin`` (system:masters) and one per
            non-admin user (``alice``, ``bob`` in group ``dev-team``), rights-less until RBAC.
        server: the API server URL (``https://127.0.0.1:<port>``).
    """

    workdir: Path
    server: str = ""
    kubeconfig: Path = Path()
    processes: list[_Process] = field(default_factory=list)
    keep_workdir: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    #: Where the API server writes its audit log (JSON lines), or None (the default: no audit log).
    audit_log: Path | None = None
    #: The node started with ``node=True`` (kubelet, containerd, kube-router), else None.
    node: LocalNode | None = None
    _ssl: ssl.SSLContext | None = None
    _signals: dict[int, Any] = field(default_factory=dict)

    ADMIN: ClassVar[str] = "admin"

    @property
    def contexts(self) -> list[str]:
        """Context names in the kubeconfig: ``admin`` first, then the non-admin users."""
        return [self.ADMIN, *NON_ADMIN_USERS]

    @property
    def pids(self) -> list[int]:
        """Process ids of the running components."""
        return [p.popen.pid for p in self.processes]

    @classmethod
    def start(
        cls,
        binaries: Binaries | None = None,
        *,
        timeout: float = 120.0,
        workdir: str | None = None,
        audit_log: str | os.PathLike[str] | None = None,
        node: bool = False,
        node_bin: str | None = None,
    ) -> LocalControlPlane:
        """Start etcd, kube-apiserver and kube-controller-manager and wait until they are ready.

        ``node``: also start kube-scheduler and one node (``local_node``: kubelet, containerd,
        runc, CNI, kube-router's firewall) and wait until the Node is Ready, so pods run.
        ``node_bin`` is the folder of the node's programs (default ``$K8SSEC_NODE_BIN`` or the
        checkout's build cache). A machine that cannot run it raises ``NodeUnavailable`` naming
        the missing feature, before anything starts.

        ``audit_log``: a file for the API server's audit log (``AUDIT_POLICY``: who did what to
        which object, never a request or response body except for namespace creation), so a run
        can prove what it wrote. Off by default.

        Raises:
            LocalClusterError: no binaries (the message says how to get them), or a component
                did not become ready in ``timeout`` seconds (with the tail of its log).
        """
        binaries = binaries or Binaries.find()
        node_binaries = _node_binaries(binaries, node_bin) if node else None
        # Before anything exists on disk: a SIGTERM or SIGHUP from here on unwinds through stop()
        # (the working folder holds etcd's data, applied Secrets included, and private keys).
        signals = _interrupt_on_signals()
        plane: LocalControlPlane | None = None
        try:
            if workdir is None:
                sweep_dead_workdirs()
            plane = cls(Path(workdir or tempfile.mkdtemp(prefix=WORKDIR_PREFIX)), _signals=signals)
            plane.audit_log = Path(audit_log).resolve() if audit_log is not None else None
            atexit.register(plane.stop)
            (plane.workdir / OWNER_FILE).write_text(_owner(os.getpid()))
            plane._boot(binaries, timeout, node_binaries)
        except BaseException:
            if plane is not None:
                plane.stop()
            else:
                _restore_signals(signals)
            raise
        return plane

    def __enter__(self) -> LocalControlPlane:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- boot -----------------------------------------------------------------------------------

    def _boot(self, binaries: Binaries, timeout: float, node: NodeBinaries | None = None) -> None:
        began = time.monotonic()
        deadline = began + timeout
        etcd_port, peer_port, api_port = _free_port(), _free_port(), _free_port()
        self.server = f"https://127.0.0.1:{api_port}"
        pki = _Pki()
        files = self._write_pki(pki)
        etcd = self._spawn(
            "etcd",
            [
                *binaries.etcd,
                "--name=k8ssec",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=k8ssec=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync=true",  # a throwaway test store; fsync dominates its latency
                "--log-level=warn",
            ],
        )
        self._wait(lambda: _http_ok(f"http://127.0.0.1:{etcd_port}/health"), deadline, etcd, "etcd /health")
        self.timings["etcd"] = time.monotonic() - began
        apiserver = self._spawn(
            "kube-apiserver",
            [
                *binaries.apiserver,
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                # Loopback endpoints for the kubernetes Service are rejected by newer servers.
                "--endpoint-reconciler-type=none",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={files['sa.pub']}",
                f"--service-account-signing-key-file={files['sa.key']}",
                f"--client-ca-file={files['ca.crt']}",
                f"--tls-cert-file={files['apiserver.crt']}",
                f"--tls-private-key-file={files['apiserver.key']}",
                f"--cert-dir={self.workdir / 'certs'}",
                "--profiling=false",
                *self._audit_args(),
                *(self._kubelet_client_args(pki) if node else []),
                "--v=0",
            ],
        )
        self._wait(lambda: self._get("/readyz")[0] == 200, deadline, apiserver, "kube-apiserver /readyz")
        self.timings["kube-apiserver"] = time.monotonic() - began
        manager = self._spawn(
            "kube-controller-manager",
            [
                *binaries.controller_manager,
                f"--kubeconfig={files['kcm.kubeconfig']}",
                "--leader-elect=false",
                f"--controllers={','.join(CONTROLLERS + (NODE_CONTROLLERS if node else ()))}",
                *(
                    ["--allocate-node-cidrs=true", f"--cluster-cidr={CLUSTER_CIDR}", "--node-cidr-mask-size=24"]
                    if node
                    else []
                ),
                f"--service-account-private-key-file={files['sa.key']}",
                f"--root-ca-file={files['ca.crt']}",
                "--use-service-account-credentials=true",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--v=0",
            ],
        )
        self._wait(self._aggregated, deadline, manager, "aggregated ClusterRole view to get rules")
        self._wait(
            lambda: self._get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
            deadline,
            manager,
            "ServiceAccount default/default",
        )
        self.timings["ready"] = time.monotonic() - began
        if node is not None:
            self._boot_node(pki, files, node, deadline)
            self.timings["node ready"] = time.monotonic() - began

    def _kubelet_client_args(self, pki: _Pki) -> list[str]:
        # The API server's own client identity towards the kubelet (exec, logs, port-forward),
        # and the CA that must have signed the kubelet's serving certificate.
        cert, key = pki.issue("kube-apiserver-kubelet-client", ("system:masters",))
        folder = self.workdir / "pki"
        (folder / "kubelet-client.crt").write_bytes(cert)
        (folder / "kubelet-client.key").write_bytes(key)
        (folder / "kubelet-client.key").chmod(0o600)
        return [
            f"--kubelet-client-certificate={folder / 'kubelet-client.crt'}",
            f"--kubelet-client-key={folder / 'kubelet-client.key'}",
            f"--kubelet-certificate-authority={folder / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP",
        ]

    def _boot_node(self, pki: _Pki, files: dict[str, Path], binaries: NodeBinaries, deadline: float) -> None:
        from pytest_k8ssec.sources.local_node import LocalNode

        scheduler_cert = pki.issue("system:kube-scheduler")
        scheduler_config = self.workdir / "pki" / "scheduler.kubeconfig"
        scheduler_config.write_text(yaml.safe_dump(_kubeconfig(self.server, pki.ca_pem, {"scheduler": scheduler_cert})))
        scheduler_config.chmod(0o600)
        self._spawn(
            "kube-scheduler",
            [
                binaries.multicall,
                "kube-scheduler",
                f"--kubeconfig={scheduler_config}",
                f"--authentication-kubeconfig={scheduler_config}",
                f"--authorization-kubeconfig={scheduler_config}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={_free_port()}",
                "--v=0",
            ],
        )
        self.node = LocalNode.start(self, pki, binaries, deadline)

    def _audit_args(self) -> list[str]:
        if self.audit_log is None:
            return []
        policy = self.workdir / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY)
        self.audit_log.parent.mkdir(parents=True, exist_ok=True)
        # Blocking mode (the log backend's default, spelled out): an event is on disk before the
        # response leaves, so a run that ends has its whole record.
        return [
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--audit-log-mode=blocking",
            "--audit-log-maxbackup=0",
        ]

    def _write_pki(self, pki: _Pki) -> dict[str, Path]:
        certs = self.workdir / "pki"
        certs.mkdir(parents=True, exist_ok=True)
        files: dict[str, Path] = {}

        def write(name: str, data: bytes) -> Path:
            path = certs / name
            path.write_bytes(data)
            path.chmod(0o600)
            files[name] = path
            return path

        write("ca.crt", pki.ca_pem)
        cert, key = pki.issue("kube-apiserver", server=True)
        write("apiserver.crt", cert)
        write("apiserver.key", key)
        sa_key = _key()
        write("sa.key", _pem(sa_key))
        write(
            "sa.pub",
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
        users = {self.ADMIN: pki.issue("admin", ("system:masters",))}
        users.update({user: pki.issue(user, groups) for user, groups in NON_ADMIN_USERS.items()})
        admin_cert, admin_key = users[self.ADMIN]
        write("admin.crt", admin_cert)
        write("admin.key", admin_key)
        self._ssl = ssl.create_default_context(cafile=str(files["ca.crt"]))
        self._ssl.load_cert_chain(str(files["admin.crt"]), str(files["admin.key"]))
        self.kubeconfig = self.workdir / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(_kubeconfig(self.server, pki.ca_pem, users)))
        self.kubeconfig.chmod(0o600)
        kcm = pki.issue("system:kube-controller-manager")
        write("kcm.kubeconfig", yaml.safe_dump(_kubeconfig(self.server, pki.ca_pem, {"kcm": kcm})).encode())
        return files

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> _Process:
        log = self.workdir / f"{name}.log"
        handle = log.open("wb")
        try:
            popen = subprocess.Popen(
                argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                start_new_session=True,  # its own process group: teardown kills the whole group
                preexec_fn=_die_with_parent,
                env=env,
            )
        except OSError as exc:
            raise LocalClusterError(f"cannot start {name} ({argv[0]}): {exc.strerror or exc}") from None
        finally:
            handle.close()
        process = _Process(name, popen, log)
        self.processes.append(process)
        return process

    def _wait(self, ready: Any, deadline: float, process: _Process, what: str) -> None:
        while True:
            check_interrupted()
            if process.popen.poll() is not None:
                raise LocalClusterError(
                    f"{process.name} exited with code {process.popen.returncode} before {what}; log {process.log}:\n{process.tail()}"
                )
            try:
                if ready():
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if time.monotonic() > deadline:
                raise LocalClusterError(
                    f"timed out waiting for {what}; log of {process.name} ({process.log}):\n{process.tail()}"
                )
            time.sleep(0.1)

    def _aggregated(self) -> bool:
        status, body = self._get("/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
        return status == 200 and bool(body.get("rules"))

    def _get(self, path: str) -> tuple[int, Any]:
        """GET as the admin user (used for readiness; tests talk to the server through kubeconfig)."""
        port = int(self.server.rsplit(":", 1)[1])
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=self._ssl, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        try:
            body = json.loads(data) if data[:1] == b"{" else {}
        except ValueError:
            body = {}
        return response.status, body

    # --- stop -----------------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every process this plane started (reverse order), then remove its files. Idempotent."""
        # Two waves: the API server shuts down in about a second while etcd answers, and hangs
        # on its storage until killed when etcd goes first.
        for wave in (
            [process.popen for process in self.processes if process.name != "etcd"],
            [process.popen for process in self.processes if process.name == "etcd"],
        ):
            _terminate_all(wave, timeout)
        self.processes.clear()
        if self.node is not None:
            # After the kubelet is gone (it would restart what is killed): containers, shims,
            # cgroups, mounts and the node's network namespace.
            self.node.stop()
            self.node = None
        else:
            from pytest_k8ssec.sources.local_node import teardown

            teardown(self.workdir / "node")  # a node that failed half-way through its start
        atexit.unregister(self.stop)
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        _restore_signals(self._signals)
        self._signals = {}


WORKDIR_PREFIX: Final = "k8ssec-cp-"
OWNER_FILE: Final = "owner"
# A folder without an owner file is left alone until it is this old (its owner may be writing it).
_ORPHAN_AGE_S: Final = 24 * 3600.0


def _interrupt(signum: int, frame: Any) -> None:
    PENDING_SIGNALS.append(signum)  # kept: the raise below can be swallowed (check_interrupted)
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_on_signals() -> dict[int, Any]:
    """Make SIGTERM and SIGHUP raise KeyboardInterrupt while a plane runs (cleanup as on Ctrl-C).

    Only handlers still at their default are replaced (a caller's own stay), and only from the
    main thread (the only one that may set them). Returns what to restore.
    """
    installed: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return installed
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _interrupt)
            installed[signum] = signal.SIG_DFL
    return installed


def _restore_signals(installed: dict[int, Any]) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in installed.items():
        if signal.getsignal(signum) is _interrupt:
            signal.signal(signum, previous)
    PENDING_SIGNALS.clear()


def sweep_dead_workdirs(folder: str | None = None) -> list[Path]:
    """Remove working folders of control planes whose process is gone (SIGKILL leaves them behind).

    Returns the folders removed. Only ``k8ssec-cp-*`` folders in ``folder`` (default: the temp
    folder) whose owner file names a dead process are touched.
    """
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = (path / OWNER_FILE).read_text()
        except FileNotFoundError:
            try:
                orphan = time.time() - path.stat().st_mtime > _ORPHAN_AGE_S
            except OSError:
                continue
            if not orphan:
                continue
        except OSError:
            continue  # not ours to read
        else:
            if _alive(owner):
                continue
        from pytest_k8ssec.sources.local_node import teardown

        # A killed run's node: its containers, cgroups and network namespace outlive it.
        teardown(path / "node")
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _terminate_all(popens: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM every process group at once, SIGKILL what has not exited ``timeout`` s later.

    At once, not one after the other: on a loaded machine each component's graceful shutdown can
    take seconds, and a stop that adds them up outlasts the patience of whoever asked for it.
    """
    running = [popen for popen in popens if popen.poll() is None]
    for popen in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for popen in running:
        try:
            popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
    for popen in running:
        popen.wait(timeout)


def _http_ok(url: str) -> bool:
    host, _, port = url.removeprefix("http://").partition("/")[0].partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        connection.request("GET", "/" + url.split("/", 3)[3])
        return connection.getresponse().status == 200
    finally:
        connection.close()


@contextlib.contextmanager
def running(binaries: Binaries | None = None, timeout: float = 120.0) -> Iterator[LocalControlPlane]:
    """``with running() as plane:`` start a plane and always stop it."""
    plane = LocalControlPlane.start(binaries, timeout=timeout)
    try:
        yield plane
    finally:
        plane.stop()
