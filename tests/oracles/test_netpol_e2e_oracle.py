"""Our NetworkPolicy model agrees with the Kubernetes conformance suite's expectations.

``../shared/oracles/netpol/k8s-e2e-netpol-transcribed.yaml`` restates all 48 cases of upstream
``test/e2e/network/netpol/network_policy.go`` as data: the e2e topology (namespaces x, y, z with
their automatic ``kubernetes.io/metadata.name`` label; pods a, b, c labelled ``pod=<name>``, each
serving 80 and 81 with ports named ``serve-<port>-<protocol>``), ordered steps (create/update a
policy, relabel a pod or namespace, delete every policy) and, after each step, probes with the
resolved allowed/denied pairs. Every pair of every probe is compared, once through
``NetworkModel.reachable`` (with explanation) and once through ``NetworkModel.matrix``. A pod to
itself is not compared: upstream ignores loopback, and the oracle lists no such pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_k8ssec.model.netpol import ContainerPort, Namespace, NetworkModel, Pod

# At the oracle's upstream commit 008b365: 48 cases, 58 steps, 65 probes, 506 resolved pairs (every
# ordered pair of each case's pods, per probe); each pair is compared twice (reachable and matrix).
FLOOR_CASES = 48
FLOOR_PROBES = 65
FLOOR_PAIRS = 506

_ORACLE: dict[str, Any] | None = None


def _load(oracles: Path) -> dict[str, Any]:
    global _ORACLE
    if _ORACLE is None:
        data = yaml.safe_load((oracles / "netpol" / "k8s-e2e-netpol-transcribed.yaml").read_text())
        assert isinstance(data, dict)
        _ORACLE = data
    return _ORACLE


def _case_names() -> list[str]:
    path = (
        Path(__file__).resolve().parents[2].parent / "shared" / "oracles" / "netpol" / "k8s-e2e-netpol-transcribed.yaml"
    )
    if not path.is_file():
        return ["<oracle missing>"]
    return [case["name"] for case in yaml.safe_load(path.read_text())["cases"]]


def _ports() -> tuple[ContainerPort, ...]:
    return tuple(
        ContainerPort(port, protocol, f"serve-{port}-{protocol.lower()}")
        for port in (80, 81)
        for protocol in ("TCP", "UDP", "SCTP")
    )


def _pair(text: str) -> tuple[str, str]:
    src, arrow, dst = text.partition(" -> ")
    assert arrow, f"malformed pair {text!r}"
    return src.strip(), dst.strip()


class _Cluster:
    """The e2e topology of one case, changed step by step."""

    def __init__(self, pods: list[str], pod_ips: dict[str, str], namespaces: list[str]) -> None:
        self.pod_names = pods
        self.labels = {ref: {"pod": ref.split("/")[1]} for ref in pods}
        self.pod_ips = pod_ips
        self.ns_labels: dict[str, dict[str, str]] = {ns: {} for ns in namespaces}
        self.policies: dict[tuple[str, str], dict[str, Any]] = {}

    def apply(self, op: dict[str, Any]) -> None:
        if "create" in op or "update" in op:
            policy = op.get("create") or op["update"]
            key = (policy["metadata"].get("namespace", "default"), policy["metadata"]["name"])
            if "create" in op:
                assert key not in self.policies, f"create of an existing policy {key}"
            else:
                assert key in self.policies, f"update of a missing policy {key}"
            self.policies[key] = policy
        elif "label_pod" in op:
            self.labels[op["label_pod"]["pod"]] = dict(op["label_pod"]["labels"])
        elif "label_namespace" in op:
            self.ns_labels.setdefault(op["label_namespace"]["namespace"], {}).update(op["label_namespace"]["labels"])
        elif op.get("delete_all_policies"):
            self.policies.clear()
        else:
            raise AssertionError(f"unknown step operation {op}")

    def model(self) -> tuple[NetworkModel, dict[str, Pod]]:
        pods = {
            ref: Pod(ref.split("/")[0], ref.split("/")[1], self.labels[ref], (self.pod_ips[ref],), _ports())
            for ref in self.pod_names
        }
        namespaces = [Namespace(name, labels) for name, labels in self.ns_labels.items()]
        return NetworkModel(pods.values(), self.policies.values(), namespaces), pods


@pytest.mark.parametrize("name", _case_names())
def test_e2e_case(oracles: Path, name: str) -> None:
    data = _load(oracles)
    case = next(c for c in data["cases"] if c["name"] == name)
    assert data["conventions"]["loopback"] == "ignored"
    cluster = _Cluster(case["pods"], data["pod_ips"], data["conventions"]["namespaces"])
    disagreements: list[str] = []
    compared = 0
    for step_no, step in enumerate(case["steps"], 1):
        for op in step["apply"]:
            cluster.apply(op)
        model, pods = cluster.model()
        for probe in step["probes"]:
            expected: dict[tuple[str, str], bool] = {}
            for text in probe["allowed"]:
                expected[_pair(text)] = True
            for text in probe["denied"]:
                assert _pair(text) not in expected, f"{text} is both allowed and denied"
                expected[_pair(text)] = False
            every_pair = {(s, d) for s in case["pods"] for d in case["pods"] if s != d}
            assert set(expected) == every_pair, "the oracle must resolve every ordered pair of the case's pods"
            matrix = model.matrix(port=probe["port"], protocol=probe["protocol"])
            for (src, dst), want in sorted(expected.items()):
                verdict = model.reachable(pods[src], pods[dst], probe["port"], probe["protocol"])
                compared += 1
                where = f"step {step_no} ({step['description']}) {probe['protocol']}/{probe['port']}"
                if bool(verdict) != want:
                    disagreements.append(f"{where}: expected {'allowed' if want else 'denied'}\n{verdict.explain()}")
                if matrix.allowed(pods[src], pods[dst]) != want:
                    disagreements.append(f"{where}: matrix says {src} -> {dst} is {not want}")
    assert not disagreements, "\n".join(disagreements)
    assert compared >= len(case["pods"]) * (len(case["pods"]) - 1)


def test_e2e_oracle_floor(oracles: Path) -> None:
    """The oracle still holds what the per-case test was written against."""
    data = _load(oracles)
    cases = data["cases"]
    assert len(cases) >= FLOOR_CASES
    assert len({c["name"] for c in cases}) == len(cases), "case names must be unique (they are the test ids)"
    pairs = sum(len(p["allowed"]) + len(p["denied"]) for c in cases for s in c["steps"] for p in s["probes"])
    assert pairs >= FLOOR_PAIRS, pairs
    assert sum(len(s["probes"]) for c in cases for s in c["steps"]) >= FLOOR_PROBES
    protocols = {p["protocol"] for c in cases for s in c["steps"] for p in s["probes"]}
    assert protocols == {"TCP", "UDP", "SCTP"}
