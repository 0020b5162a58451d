"""Our NetworkPolicy model agrees with cyclonus' truth tables (Go module github.com/mattfenwick/cyclonus).

cyclonus is the NetworkPolicy conformance tool upstream SIG Network uses; the files are read from
the Go module at the version ``tests/oracles/go-modules.txt`` pins (v0.5.6 holds the same
examples, byte for byte, as commit 12f646f these tests were written against; ``bash .ci/install``
downloads it). ``examples/run.sh`` wrote ``examples/cyclonus-output/*.txt``. Files and what is
compared:

* ``analyze-probe.txt``: ``--policy-path networkpolicies/simple-example/ --probe-path probe.json``.
  Per probe of probe.json (TCP 80, 81, 82) an Ingress, an Egress and a Combined 9x9 table, self
  pairs included. ``.``/``X`` are compared with ``verdict.ingress``/``verdict.egress``/``verdict``.
  ``N`` (invalid port/protocol) and ``?`` (egress not evaluated) mark a destination that does not
  serve the probed port: no policy verdict exists there, and we assert instead that our pod record
  does not serve it (and that every ``.``/``X`` cell's destination does).
* ``analyze-all-five.txt``: ``--use-example-policies`` (cyclonus' built-in Go examples, which are
  not among the oracle files) with probe-example.json and traffic-example.json. The policies are
  rebuilt from the ``explained policies`` table of the same file (one NetworkPolicy per target,
  one rule per peer row: cyclonus' own rendering of those policies), then its probe tables are
  compared as above and its ``query traffic`` verdicts as below.
* ``analyze-query-traffic.txt``: ``--policy-path networkpolicies/simple-example/ --traffic-path
  traffic.json``: the ``IS ALLOWED?`` verdict of each traffic is compared with ``reachable``.

Both probe files end with one more Ingress/Egress/Combined triple for the pods read from a cluster;
``run.sh`` read none, so those tables have no cells (asserted, nothing to compare). The files in
``NOT_TRUTH_TABLES`` hold no reachability verdicts and are therefore not compared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec.model.netpol import Cidr, ContainerPort, Endpoint, Namespace, NetworkModel, Pod
from pytest_k8ssec.sources.manifests import load_file

OUTPUT = Path("examples") / "cyclonus-output"

NOT_TRUTH_TABLES = {
    "analyze-explain.txt": "the explained policies (targets, peers, ports): a rendering of the policies, no verdict",
    "analyze-lint.txt": "linter warnings (DNS blocked, all egress blocked...): advice, no reachability verdict",
    "analyze-query-target.txt": "which policy targets select a given pod and their combined rules: no verdict",
}
COMPARED = ("analyze-probe.txt", "analyze-all-five.txt", "analyze-query-traffic.txt")

# At 12f646f (and v0.5.6): each probe file has 3 probes x 3 tables x 81 cells (1,458 cells in all,
# of which 972 are verdicts and 486 "port not served"); 4 + 3 traffic verdicts.
CELLS_PER_PROBE_FILE = 3 * 3 * 81


# ---------------------------------------------------------------------------------------------
# Text-table readers


def _boxes(lines: list[str]) -> list[list[str]]:
    """Consecutive runs of table lines (starting with '+' or '|')."""
    boxes: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.startswith(("+", "|")):
            current.append(line.rstrip("\n"))
        elif current:
            boxes.append(current)
            current = []
    if current:
        boxes.append(current)
    return boxes


def _grid(box: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """A probe truth table: destination headers and, per source, the cells ("." "X" "N" "?")."""
    content = [line for line in box if line.startswith("|")]
    if not content or not content[0].strip("| "):
        return [], {}
    header = [cell.strip().lower() for cell in content[0].strip("|").split("|")][1:]
    rows: dict[str, list[str]] = {}
    for line in content[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return header, rows


def _probe_tables(text: str) -> list[dict[str, tuple[list[str], dict[str, list[str]]]]]:
    """The Ingress/Egress/Combined triples after the ``probe:`` line, in order."""
    lines = text.splitlines()
    start = lines.index("probe:")
    triples: list[dict[str, tuple[list[str], dict[str, list[str]]]]] = []
    current: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
    i = start + 1
    while i < len(lines):
        name = lines[i].rstrip(":")
        if lines[i] in ("Ingress:", "Egress:", "Combined:"):
            j = i + 1
            box: list[str] = []
            while j < len(lines) and lines[j].startswith(("+", "|")):
                box.append(lines[j])
                j += 1
            current[name] = _grid(box)
            if name == "Combined":
                triples.append(current)
                current = {}
            i = j
        else:
            i += 1
    return triples


def _merged_rows(box: list[str]) -> list[list[str]]:
    """Rows of a tablewriter box with merged cells: each row gets the text of every cell covering it."""
    bounds = [i for i, ch in enumerate(box[0]) if ch == "+"]
    ncols = len(bounds) - 1
    # Skip the header (first content run).
    seps = [i for i, line in enumerate(box) if line.startswith("+")]
    body = box[seps[1] :]
    cells: list[list[list[str]]] = [[[]] for _ in range(ncols)]
    row_cells: list[list[int]] = []
    group: list[str] = []
    for line in body:
        if line.startswith("|"):
            group.append(line)
            continue
        if group:
            row_cells.append([len(cells[c]) - 1 for c in range(ncols)])
            for content in group:
                for c in range(ncols):
                    cells[c][-1].append(content[bounds[c] + 1 : bounds[c + 1]].rstrip())
            group = []
            for c in range(ncols):
                if line[bounds[c] + 1] == "-":
                    cells[c].append([])
    rows = []
    for ids in row_cells:
        texts = []
        for c, cell_id in enumerate(ids):
            texts.append("\n".join(part.strip() for part in cells[c][cell_id] if part.strip()))
        rows.append(texts)
    return rows


# ---------------------------------------------------------------------------------------------
# Rebuilding policies from cyclonus' explanation table


def _selector(lines: list[str]) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    mode = ""
    for line in lines:
        if line in ("all pods", "all"):
            continue
        if line == "Match labels:":
            mode = "labels"
        elif line == "Match expressions:":
            mode = "exprs"
        elif mode == "labels":
            key, _, value = line.partition(": ")
            selector.setdefault("matchLabels", {})[key] = value
        elif mode == "exprs":
            match = re.fullmatch(r"(\S+) (\S+) \[(.*)\]", line)
            assert match, f"unreadable expression {line!r}"
            expr: dict[str, Any] = {"key": match[1], "operator": match[2]}
            if match[3]:
                expr["values"] = match[3].split()
            selector.setdefault("matchExpressions", []).append(expr)
        else:
            raise AssertionError(f"unreadable selector line {line!r}")
    return selector


def _peer(text: str) -> dict[str, Any] | None:
    """A NetworkPolicyPeer from cyclonus' peer cell; None for "all pods, all ips"."""
    lines = text.splitlines()
    if text == "all pods, all ips":
        return None
    if lines[0].startswith("namespace: "):
        pods_at = next(i for i, line in enumerate(lines) if line.startswith("pods: "))
        ns_lines = [lines[0][len("namespace: ") :], *lines[1:pods_at]]
        pod_lines = [lines[pods_at][len("pods: ") :], *lines[pods_at + 1 :]]
        peer: dict[str, Any] = {"podSelector": _selector(pod_lines)}
        if ns_lines == ["all"]:
            peer["namespaceSelector"] = {}
        elif len(ns_lines) == 1 and not ns_lines[0].endswith(":"):
            # An exact namespace: the automatic name label selects exactly it.
            peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": ns_lines[0]}}
        else:
            peer["namespaceSelector"] = _selector(ns_lines)
        return peer
    match = re.fullmatch(r"except \[(.*)\]", lines[1]) if len(lines) == 2 else None
    assert match, f"unreadable peer {text!r}"
    return {"ipBlock": {"cidr": lines[0], "except": match[1].split()}}


def _ports(text: str) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line == "all ports, all protocols":
            return []
        if m := re.fullmatch(r"port (\S+) on protocol (\S+)", line):
            ports.append({"port": int(m[1]) if m[1].isdigit() else m[1], "protocol": m[2]})
        elif m := re.fullmatch(r"all ports on protocol (\S+)", line):
            ports.append({"protocol": m[1]})
        elif m := re.fullmatch(r"ports \[(\d+), (\d+)\] on protocol (\S+)", line):
            ports.append({"port": int(m[1]), "endPort": int(m[2]), "protocol": m[3]})
        else:
            raise AssertionError(f"unreadable port line {line!r}")
    return ports


def _policies_from_explanation(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    start = lines.index("explained policies:")
    box = _boxes(lines[start + 1 :])[0]
    targets: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for kind, target, sources, peer, ports in _merged_rows(box):
        if not kind:
            continue  # the spacer row between Ingress and Egress
        assert kind in ("Ingress", "Egress") and sources, (kind, target)
        targets.setdefault((kind, target, sources), []).append((peer, ports))
    policies = []
    for n, ((kind, target, _sources), rows) in enumerate(targets.items()):
        target_lines = target.splitlines()
        namespace = target_lines[0].removeprefix("namespace: ")
        rules = []
        for peer_text, port_text in rows:
            if peer_text == "no pods, no ips":
                assert port_text == "no ports, no protocols" and len(rows) == 1
                continue
            rule: dict[str, Any] = {}
            peer = _peer(peer_text)
            if peer is not None:
                rule["from" if kind == "Ingress" else "to"] = [peer]
            if ports := _ports(port_text):
                rule["ports"] = ports
            rules.append(rule)
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"target-{n}", "namespace": namespace},
                "spec": {"podSelector": _selector(target_lines[1:]), "policyTypes": [kind], kind.lower(): rules},
            }
        )
    return policies


def _simple_example_policies(cyclonus_module: Path) -> list[Any]:
    directory = cyclonus_module / "networkpolicies" / "simple-example"
    objs = [obj for path in sorted(directory.glob("*.yaml")) for obj in load_file(path)]
    assert len(objs) == 7
    return objs


# ---------------------------------------------------------------------------------------------
# Comparisons


def _probe_resources(config: dict[str, Any]) -> tuple[dict[str, Pod], list[Namespace]]:
    pods = {}
    for raw in config["Resources"]["Pods"]:
        ports = tuple(
            ContainerPort(c["Port"], c["Protocol"].upper(), c.get("PortName") or None) for c in raw["Containers"]
        )
        pods[f"{raw['Namespace']}/{raw['Name']}"] = Pod(
            raw["Namespace"], raw["Name"], raw["Labels"], (raw["IP"],), ports
        )
    namespaces = [Namespace(name, labels) for name, labels in config["Resources"]["Namespaces"].items()]
    return pods, namespaces


def _compare_probes(text: str, config: dict[str, Any], policies: list[Any]) -> tuple[int, list[str]]:
    pods, namespaces = _probe_resources(config)
    model = NetworkModel(pods.values(), policies, namespaces)
    triples = _probe_tables(text)
    assert len(triples) == len(config["Probes"]) + 1, "one triple per probe, plus the (empty) cluster-pods triple"
    assert all(not table[0] for table in triples[-1].values()), "run.sh read no cluster pods: the last triple is empty"
    compared, problems = 0, []
    for probe, triple in zip(config["Probes"], triples):
        port, protocol = probe["Port"], probe["Protocol"]
        for table_name, (header, rows) in triple.items():
            assert sorted(header) == sorted(pods) and sorted(rows) == sorted(pods), table_name
            for src, cells in rows.items():
                for dst, cell in zip(header, cells):
                    compared += 1
                    where = f"{protocol}/{port} {table_name} {src} -> {dst}"
                    serves = pods[dst].serves(port, protocol)
                    if cell in ("N", "?"):
                        if serves:
                            problems.append(f"{where}: cyclonus says {cell} (port not served) but {dst} serves it")
                        continue
                    assert cell in (".", "X"), f"{where}: unknown cell {cell!r}"
                    if not serves:
                        problems.append(f"{where}: cyclonus gives a verdict but {dst} does not serve the port")
                    verdict = model.reachable(pods[src], pods[dst], port, protocol)
                    ours = {
                        "Ingress": verdict.ingress.allowed,
                        "Egress": verdict.egress.allowed,
                        "Combined": verdict.allowed,
                    }[table_name]
                    if ours != (cell == "."):
                        problems.append(f"{where}: cyclonus {cell}, ours {ours}\n{verdict.explain()}")
        combined = model.matrix(port=port, protocol=protocol)
        header, rows = triple["Combined"]
        for src, cells in rows.items():
            for dst, cell in zip(header, cells):
                if cell in (".", "X") and combined.allowed(pods[src], pods[dst]) != (cell == "."):
                    problems.append(f"{protocol}/{port} matrix {src} -> {dst}: cyclonus {cell}")
    return compared, problems


def _traffic_endpoint(side: dict[str, Any], role: str, port: dict[str, Any]) -> tuple[Endpoint, Namespace | None]:
    internal = side.get("Internal")
    if internal is None:
        return Cidr(side["IP"]), None
    ports = ()
    if port.get("ResolvedPortName"):
        ports = (ContainerPort(port["ResolvedPort"], port["Protocol"], port["ResolvedPortName"]),)
    ips = (side["IP"],) if side.get("IP") else ()
    pod = Pod(internal["Namespace"], role, internal["PodLabels"], ips, ports)
    return pod, Namespace(internal["Namespace"], internal["NamespaceLabels"])


def _compare_traffic(text: str, traffic: list[dict[str, Any]], policies: list[Any]) -> tuple[int, list[str]]:
    answers = re.findall(r"^\| IS ALLOWED\? \|\s+(TRUE|FALSE)\s+\|", text, flags=re.M)
    assert len(answers) == len(traffic), (len(answers), len(traffic))
    problems = []
    for n, (item, answer) in enumerate(zip(traffic, answers)):
        src, src_ns = _traffic_endpoint(item["Source"], "source", item)
        dst, dst_ns = _traffic_endpoint(item["Destination"], "destination", item)
        labels: dict[str, dict[str, str]] = {}
        for ns in (src_ns, dst_ns):
            if ns is not None:
                labels.setdefault(ns.name, {}).update(ns.labels)
        namespaces = [Namespace(name, values) for name, values in labels.items()]
        pods = [ep for ep in (src, dst) if isinstance(ep, Pod)]
        model = NetworkModel(pods, policies, namespaces)
        verdict = model.reachable(src, dst, item["ResolvedPort"], item["Protocol"])
        if bool(verdict) != (answer == "TRUE"):
            problems.append(f"traffic #{n}: cyclonus {answer}\n{verdict.explain()}")
    return len(answers), problems


def test_every_output_file_is_classified(cyclonus_module: Path) -> None:
    found = {path.name for path in (cyclonus_module / OUTPUT).glob("*.txt")}
    assert found == set(NOT_TRUTH_TABLES) | set(COMPARED)
    for name in NOT_TRUTH_TABLES:
        text = (cyclonus_module / OUTPUT / name).read_text()
        assert "IS ALLOWED?" not in text and "probe:" not in text, f"{name} now holds verdicts: compare it"


def test_analyze_probe(cyclonus_module: Path) -> None:
    text = (cyclonus_module / OUTPUT / "analyze-probe.txt").read_text()
    config = json.loads((cyclonus_module / "examples" / "probe.json").read_text())
    compared, problems = _compare_probes(text, config, _simple_example_policies(cyclonus_module))
    assert not problems, "\n".join(problems)
    assert compared == CELLS_PER_PROBE_FILE


def test_analyze_all_five(cyclonus_module: Path) -> None:
    text = (cyclonus_module / OUTPUT / "analyze-all-five.txt").read_text()
    policies = _policies_from_explanation(text)
    assert len(policies) >= 10
    config = json.loads((cyclonus_module / "examples" / "probe-example.json").read_text())
    compared, problems = _compare_probes(text, config, policies)
    traffic = json.loads((cyclonus_module / "examples" / "traffic-example.json").read_text())
    checked, traffic_problems = _compare_traffic(text, traffic, policies)
    assert not problems + traffic_problems, "\n".join(problems + traffic_problems)
    assert compared == CELLS_PER_PROBE_FILE and checked == 3


def test_analyze_query_traffic(cyclonus_module: Path) -> None:
    text = (cyclonus_module / OUTPUT / "analyze-query-traffic.txt").read_text()
    traffic = json.loads((cyclonus_module / "examples" / "traffic.json").read_text())
    checked, problems = _compare_traffic(text, traffic, _simple_example_policies(cyclonus_module))
    assert not problems, "\n".join(problems)
    assert checked == 4


@pytest.mark.parametrize(
    "path", ["networkpolicies/features/portrange1.yaml", "networkpolicies/upstream_test_cases/allow-to-ns-y-pod-a.yaml"]
)
def test_other_policy_files_are_valid(cyclonus_module: Path, path: str) -> None:
    """The remaining example policies have no truth table; they must at least compile."""
    objs = load_file(cyclonus_module / path)
    model = NetworkModel.from_objects(objs)
    assert model.policies and all(p.policy_types == frozenset({"Egress"}) for p in model.policies)
