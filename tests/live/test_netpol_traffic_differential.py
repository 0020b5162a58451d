"""NetworkPolicy verdicts proved by real traffic: the model against a real enforcer, case by case.

The upstream e2e NetworkPolicy cases (``../shared/oracles/netpol/k8s-e2e-netpol-transcribed.yaml``,
48 cases from ``test/e2e/network/netpol/network_policy.go``) run on the local node: namespaces
x, y, z with pods a, b, c (``k8ssec.local/probe`` serving ports 80 and 81 over TCP and UDP, ports
named ``serve-<port>-<protocol>``), each case's policies and relabelings applied step by step, and
after each step every ordered pair of the case's pods probed for real from inside the source pod
(``k8ssec-probe connect``). kube-router's firewall enforces the policies.

For every probe, the model's verdict (``NetworkModel`` built from the live objects, as the
``k8s_network`` fixture builds it) must equal what the packets did. A disagreement is printed with
the policies, the packet and both verdicts. Where kube-router itself deviates from the API (the
traffic differs from both the model and upstream's expectation), the case must be named in
``ENFORCER_GAPS`` with the upstream issue; our model is never bent to match an enforcer.

SCTP: this machine kind's kernel has no SCTP (``CONFIG_IP_SCTP`` is not set), so SCTP probes are
not sent; a case with only SCTP probes is skipped, naming that.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_k8ssec.model.netpol import NetworkModel
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.local_control_plane import LocalControlPlane
from pytest_k8ssec.sources.local_node import LocalNode
from tests.live.waits import wait_for

ORACLE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "oracles" / "netpol" / "k8s-e2e-netpol-transcribed.yaml"
)
NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
PROTOCOLS_SENT = ("TCP", "UDP")
NO_SCTP = "the kernel of this machine has no SCTP (CONFIG_IP_SCTP is not set): SCTP probes cannot be sent"
# Cases where kube-router's enforcement differs from the NetworkPolicy API (traffic differs from
# both the model and upstream's expectation): case name -> the upstream issue. Empty: none seen.
ENFORCER_GAPS: dict[str, str] = {}


def _case_names() -> list[str]:
    if not ORACLE.is_file():
        return ["<oracle missing>"]
    return [case["name"] for case in yaml.safe_load(ORACLE.read_text())["cases"]]


def _pod_manifest(namespace: str, name: str) -> dict[str, Any]:
    ports = [
        {"name": f"serve-{port}-{protocol.lower()}", "containerPort": port, "protocol": protocol}
        for port in (80, 81)
        for protocol in ("TCP", "UDP", "SCTP")
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"pod": name}},
        "spec": {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            # Ports 80 and 81 without root or capabilities: a safe sysctl the kubelet allows.
            "securityContext": {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
            "containers": [
                {
                    "name": "serve",
                    "image": "k8ssec.local/probe:1",
                    "imagePullPolicy": "Never",
                    "args": ["serve", "--port", "80", "--port", "81", "--protocols", "tcp,udp"],
                    "ports": ports,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


class E2eCluster:
    """The e2e topology on the local node, reset between cases."""

    def __init__(self, plane: LocalControlPlane, admin: ClusterSource) -> None:
        assert plane.node is not None
        self.plane = plane
        self.node: LocalNode = plane.node
        self.admin = admin
        self.ips: dict[str, str] = {}

    def start(self) -> None:
        for namespace in NAMESPACES:
            self.admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for namespace in NAMESPACES:
            wait_for(
                lambda ns=namespace: (
                    self.admin.request("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/default")[0] == 200
                ),
                f"ServiceAccount {namespace}/default",
            )
            for name in PODS:
                self.admin.apply(_pod_manifest(namespace, name))

        def running() -> dict[str, str] | None:
            ips = {}
            for namespace in NAMESPACES:
                for name in PODS:
                    status = self.admin.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")[1].get(
                        "status", {}
                    )
                    if status.get("phase") != "Running" or not status.get("podIP"):
                        return None
                    ips[f"{namespace}/{name}"] = status["podIP"]
            return ips

        self.ips = wait_for(running, "the 9 e2e pods Running with IPs", timeout=180)

    # --- changes --------------------------------------------------------------------------------

    def reset(self) -> None:
        since = self.node.firewall_syncs()[1]
        changed = False
        for namespace in NAMESPACES:
            for policy in self._list(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"):
                self._delete_policy(namespace, policy["metadata"]["name"])
                changed = True
            labels = self._get(f"/api/v1/namespaces/{namespace}")["metadata"].get("labels", {})
            extra = {k: None for k in labels if k != "kubernetes.io/metadata.name"}
            if extra:
                self._merge(f"/api/v1/namespaces/{namespace}", extra)
                changed = True
            for name in PODS:
                changed |= self._set_pod_labels(f"{namespace}/{name}", {"pod": name})
        if changed:
            self.node.wait_firewall(since)

    def step(self, ops: list[dict[str, Any]]) -> None:
        since = self.node.firewall_syncs()[1]
        for op in ops:
            if "create" in op or "update" in op:
                policy = self._real_ips(op.get("create") or op["update"])
                self.admin.apply(policy)
            elif "label_pod" in op:
                self._set_pod_labels(op["label_pod"]["pod"], dict(op["label_pod"]["labels"]))
            elif "label_namespace" in op:
                self._merge(
                    f"/api/v1/namespaces/{op['label_namespace']['namespace']}", dict(op["label_namespace"]["labels"])
                )
            elif op.get("delete_all_policies"):
                for namespace in NAMESPACES:
                    for policy in self._list(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"):
                        self._delete_policy(namespace, policy["metadata"]["name"])
            else:
                raise AssertionError(f"unknown step operation {op}")
        self.node.wait_firewall(since)

    def _real_ips(self, policy: dict[str, Any]) -> dict[str, Any]:
        """The oracle's symbolic pod IPs (in ipBlocks) replaced by the real ones, /32 for /32."""
        symbolic = yaml.safe_load(ORACLE.read_text())["pod_ips"]
        real = {ip: self.ips[ref] for ref, ip in symbolic.items()}
        text = json.dumps(copy.deepcopy(policy))
        for fake, actual in real.items():
            text = text.replace(f'"{fake}/32"', f'"{actual}/32"')
        return dict(json.loads(text))

    def _set_pod_labels(self, ref: str, labels: dict[str, str]) -> bool:
        namespace, name = ref.split("/")
        current = self._get(f"/api/v1/namespaces/{namespace}/pods/{name}")["metadata"].get("labels", {})
        if current == labels:
            return False
        patch: dict[str, Any] = {k: None for k in current if k not in labels}
        patch.update(labels)
        self._merge(f"/api/v1/namespaces/{namespace}/pods/{name}", patch)
        return True

    def _merge(self, path: str, labels: dict[str, Any]) -> None:
        status, body = self.admin.request(
            "PATCH", path, body={"metadata": {"labels": labels}}, content_type="application/merge-patch+json"
        )
        assert status == 200, body

    def _delete_policy(self, namespace: str, name: str) -> None:
        status, body = self.admin.request(
            "DELETE", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies/{name}"
        )
        assert status in (200, 202), body

    def _get(self, path: str) -> dict[str, Any]:
        status, body = self.admin.request("GET", path)
        assert status == 200, body
        return dict(body)

    def _list(self, path: str) -> list[dict[str, Any]]:
        return list(self._get(path).get("items", []))

    # --- verdicts -------------------------------------------------------------------------------

    def model(self) -> NetworkModel:
        """The model as the k8s_network fixture builds it for a live target: from listed objects."""
        objects = []
        where = Provenance.of_cluster("admin")
        for kind, path in (
            ("Namespace", "/api/v1/namespaces"),
            ("Pod", "/api/v1/pods"),
            ("NetworkPolicy", "/apis/networking.k8s.io/v1/networkpolicies"),
        ):
            version = "networking.k8s.io/v1" if kind == "NetworkPolicy" else "v1"
            for item in self._list(path):
                objects.append(K8sObject({**item, "apiVersion": version, "kind": kind}, where))
        return NetworkModel.from_objects(objects, endpoints="pods")

    def traffic(self, pods: list[str], protocol: str, port: int) -> dict[tuple[str, str], dict[str, Any]]:
        """Every ordered pair of ``pods`` probed for real: one exec per source, sources in parallel."""

        def from_source(src: str) -> list[tuple[tuple[str, str], dict[str, Any]]]:
            targets = [dst for dst in pods if dst != src]
            script = "; ".join(
                f"/bin/k8ssec-probe connect --protocol {protocol.lower()} --timeout 1s {self.ips[dst]}:{port}"
                for dst in targets
            )
            namespace, name = src.split("/")
            done = subprocess.run(
                [
                    "kubectl",
                    f"--kubeconfig={self.plane.kubeconfig}",
                    "--context=admin",
                    "-n",
                    namespace,
                    "exec",
                    name,
                    "--",
                    "/bin/sh",
                    "-c",
                    script,
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            assert len(lines) == len(targets), f"probing from {src}: {done.stdout}\n{done.stderr}"
            results = [json.loads(line) for line in lines]
            assert all(r["outcome"] != "error" for r in results), results
            return [((src, dst), result) for dst, result in zip(targets, results)]

        with ThreadPoolExecutor(max_workers=len(pods)) as pool:
            return {pair: result for batch in pool.map(from_source, pods) for pair, result in batch}


@pytest.fixture(scope="module")
def e2e(node_plane: LocalControlPlane, node_admin: ClusterSource) -> Iterator[E2eCluster]:
    cluster = E2eCluster(node_plane, node_admin)
    cluster.start()
    yield cluster


def _pair(text: str) -> tuple[str, str]:
    src, _, dst = text.partition(" -> ")
    return src.strip(), dst.strip()


@pytest.mark.parametrize("name", _case_names())
def test_e2e_case_on_real_traffic(oracles: Path, e2e: E2eCluster, name: str) -> None:
    data = yaml.safe_load((oracles / "netpol" / "k8s-e2e-netpol-transcribed.yaml").read_text())
    case = next(c for c in data["cases"] if c["name"] == name)
    probes = [p for step in case["steps"] for p in step["probes"]]
    if all(p["protocol"] not in PROTOCOLS_SENT for p in probes):
        pytest.skip(NO_SCTP)
    e2e.reset()
    disagreements: list[str] = []
    gaps: list[str] = []
    compared = blocked = 0
    for step_no, step in enumerate(case["steps"], 1):
        e2e.step(step["apply"])
        model = e2e.model()
        for probe in step["probes"]:
            if probe["protocol"] not in PROTOCOLS_SENT:
                continue
            expected = {_pair(t): True for t in probe["allowed"]} | {_pair(t): False for t in probe["denied"]}
            traffic = e2e.traffic(case["pods"], probe["protocol"], probe["port"])
            for (src, dst), result in sorted(traffic.items()):
                verdict = model.reachable(f"Pod/{src}", f"Pod/{dst}", probe["port"], probe["protocol"])
                connected = result["outcome"] == "connected"
                compared += 1
                blocked += not connected
                if connected == bool(verdict):
                    continue
                where = (
                    f"step {step_no} ({step['description']}): {probe['protocol']} {src} -> {dst}:{probe['port']} "
                    f"({e2e.ips[src]} -> {e2e.ips[dst]})"
                )
                text = (
                    f"{where}: traffic {result['outcome']} ({result['detail']}), model says "
                    f"{'allowed' if verdict else 'denied'}, upstream expects {'allowed' if expected[(src, dst)] else 'denied'}\n"
                    f"{verdict.explain()}"
                )
                if bool(verdict) == expected[(src, dst)]:
                    gaps.append(text)  # the enforcer differs from the API, not the model
                else:
                    disagreements.append(text)
    policies = yaml.safe_dump(
        [
            op.get("create") or op.get("update")
            for step in case["steps"]
            for op in step["apply"]
            if "create" in op or "update" in op
        ]
    )
    assert not disagreements, (
        f"model and real traffic disagree ({len(disagreements)} of {compared}):\n"
        + "\n".join(disagreements)
        + f"\npolicies:\n{policies}"
    )
    if name in ENFORCER_GAPS:
        assert gaps, (
            f"{name} is listed as a kube-router gap ({ENFORCER_GAPS[name]}) but kube-router now agrees: remove it"
        )
    else:
        assert not gaps, (
            "kube-router deviates from the NetworkPolicy API (name the case and the upstream issue):\n"
            + "\n".join(gaps)
        )
    assert compared >= 2, "nothing was compared"
    # Not a run where nothing was enforced (or everything was): the packets saw what the case denies.
    denied = sum(len(p["denied"]) for p in probes if p["protocol"] in PROTOCOLS_SENT)
    assert blocked == denied or name in ENFORCER_GAPS, (blocked, denied)


def test_every_pod_address_is_a_pod_network_address(e2e: E2eCluster) -> None:
    network = ipaddress.ip_network("10.244.0.0/24")
    assert len(e2e.ips) == 9
    assert all(ipaddress.ip_address(ip) in network for ip in e2e.ips.values())
