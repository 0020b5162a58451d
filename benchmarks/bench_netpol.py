"""Cost of NetworkPolicy reachability: the full pod-by-pod matrix and single ``reachable`` queries.

A seeded generator writes a cluster shaped like a multi-tenant one (in memory, as ``K8sObject``s):
namespaces with team/env labels, Deployments' pods (replicas share labels, each pod has its own IP
and container ports, some named), and NetworkPolicies of the kinds real clusters carry: default
deny (ingress, egress, both), allow-from-same-app, allow-from-namespaces by label with
matchExpressions, named ports, endPort ranges, UDP DNS egress to kube-system, ipBlock egress with
``except`` (0.0.0.0/0 minus the pod CIDR and the metadata address), monitoring scrapes.

In a fresh interpreter per run: build the model (``NetworkModel.from_objects``), time the full
matrix over every pod both ways for TCP/8080 (cold: equivalence classes and per-policy masks built
inside the timed call; then warm) and ``reachable`` with its explanation on random pod pairs.
Medians of ``--repeat`` runs. Targets: full matrix <= 2 s, ``reachable`` <= 1 ms. Figures only.

    python benchmarks/bench_netpol.py [--pods 2000] [--policies 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from _common import median, run_worker

SCRIPT = Path(__file__).resolve()
TARGET_MATRIX_S = 2.0
TARGET_REACHABLE_MS = 1.0
GROUP = "networking.k8s.io/v1"
APPS = ["web", "api", "worker", "db", "cache", "auth", "search", "queue", "metrics", "admin"]


def generate(n_pods: int, n_policies: int, seed: int) -> list[dict[str, Any]]:
    """Raw Namespaces, Pods (with status IPs) and NetworkPolicies."""
    rng = random.Random(seed)
    n_namespaces = max(2, n_pods // 50)
    namespaces = [f"team-{i:03d}" for i in range(n_namespaces)] + ["kube-system", "monitoring"]
    objs: list[dict[str, Any]] = []
    for name in namespaces:
        labels = {"team": f"t{rng.randint(0, 9)}", "env": rng.choice(["prod", "staging", "dev"])}
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    pods = 0
    while pods < n_pods:
        ns = rng.choice(namespaces)
        app = rng.choice(APPS)
        version = rng.choice(["v1", "v2"])
        tier = rng.choice(["frontend", "backend", "data"])
        replicas = min(rng.randint(1, 8), n_pods - pods)
        port = rng.choice([8080, 8443, 5432, 6379, 9090])
        for _ in range(replicas):
            pods += 1
            objs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{app}-{version}-{pods:05d}",
                        "namespace": ns,
                        "labels": {
                            "app": app,
                            "version": version,
                            "tier": tier,
                            "pod-template-hash": f"{zlib.crc32(f'{ns}/{app}/{version}'.encode()) & 0xFFFF:x}",
                        },
                    },
                    "spec": {
                        "containers": [
                            {
                                "name": "main",
                                "image": "x",
                                "ports": [
                                    {"containerPort": port, "name": "http"},
                                    {"containerPort": 9102, "name": "metrics"},
                                ],
                            },
                            {"name": "proxy", "image": "y", "ports": [{"containerPort": 15001}]},
                        ]
                    },
                    "status": {"podIP": f"10.{pods // 65536 % 256}.{pods // 256 % 256}.{pods % 256}"},
                }
            )

    def selector() -> dict[str, Any]:
        roll = rng.random()
        if roll < 0.2:
            return {}
        if roll < 0.7:
            return {"matchLabels": {"app": rng.choice(APPS)}}
        if roll < 0.9:
            return {"matchLabels": {"app": rng.choice(APPS), "tier": rng.choice(["frontend", "backend", "data"])}}
        return {
            "matchExpressions": [{"key": "app", "operator": rng.choice(["In", "NotIn"]), "values": rng.sample(APPS, 3)}]
        }

    def peer() -> dict[str, Any]:
        roll = rng.random()
        if roll < 0.4:
            return {"podSelector": selector()}
        if roll < 0.6:
            return {"namespaceSelector": {"matchLabels": {"team": f"t{rng.randint(0, 9)}"}}}
        if roll < 0.8:
            return {
                "namespaceSelector": {
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}]
                },
                "podSelector": selector(),
            }
        if roll < 0.9:
            return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        return {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.169.254/32"]}}

    def ports() -> list[dict[str, Any]]:
        roll = rng.random()
        if roll < 0.3:
            return []
        if roll < 0.6:
            return [{"port": "http"}]
        if roll < 0.8:
            return [{"port": rng.choice([8080, 8443, 5432])}, {"port": 9102}]
        return [{"port": 8000, "endPort": 9000}]

    for i in range(n_policies):
        ns = rng.choice(namespaces)
        kind = rng.random()
        spec: dict[str, Any]
        if kind < 0.15:
            spec = {"podSelector": {}, "policyTypes": rng.choice([["Ingress"], ["Egress"], ["Ingress", "Egress"]])}
        elif kind < 0.3:
            spec = {
                "podSelector": selector(),
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53}],
                    },
                    {"to": [peer()], "ports": ports()},
                ],
            }
        else:
            rules = [
                {"from": [peer() for _ in range(rng.randint(1, 3))], "ports": ports()} for _ in range(rng.randint(1, 3))
            ]
            spec = {"podSelector": selector(), "ingress": rules}
        objs.append(
            {
                "apiVersion": GROUP,
                "kind": "NetworkPolicy",
                "metadata": {"name": f"np-{i:04d}", "namespace": ns},
                "spec": spec,
            }
        )
    return objs


def worker(n_pods: int, n_policies: int, seed: int, n_queries: int) -> dict[str, Any]:
    from pytest_k8ssec.model.netpol import NetworkModel
    from pytest_k8ssec.model.objects import K8sObject, Provenance

    raw = generate(n_pods, n_policies, seed)
    objs = [K8sObject(obj, Provenance("bench")) for obj in raw]
    start = time.perf_counter()
    model = NetworkModel.from_objects(objs)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    matrix = model.matrix(port=8080)
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    warm = model.matrix(port=8080)
    warm_s = time.perf_counter() - start
    assert warm.count_allowed() == matrix.count_allowed()
    rng = random.Random(seed + 1)
    pairs = [(rng.choice(model.pods), rng.choice(model.pods)) for _ in range(n_queries)]
    times = []
    allowed = 0
    for src, dst in pairs:
        t0 = time.perf_counter()
        verdict = model.reachable(src, dst, 8080)
        verdict.explain()
        times.append(time.perf_counter() - t0)
        allowed += bool(verdict)
        # The matrix and the single query must agree: a figure from a wrong answer is worthless.
        assert bool(verdict) == matrix.allowed(src, dst), (src, dst)
    return {
        "pods": len(model.pods),
        "policies": len(model.policies),
        "namespaces": len(model.namespaces),
        "classes": matrix.classes,
        "cells": len(model.pods) ** 2,
        "allowed_share": matrix.count_allowed() / len(model.pods) ** 2,
        "build_s": build_s,
        "matrix_cold_s": cold_s,
        "matrix_warm_s": warm_s,
        "reachable_ms": median(times) * 1000,
        "reachable_max_ms": max(times) * 1000,
        "queries": n_queries,
        "queries_allowed": allowed,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        print(json.dumps(worker(*(int(a) for a in argv[1:5]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=2_000)
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument("--queries", type=int, default=1_000, help="reachable() queries per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians are shown")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}", flush=True)
    runs = [
        run_worker(SCRIPT, [str(args.pods), str(args.policies), str(args.seed), str(args.queries)])
        for _ in range(args.repeat)
    ]
    first = runs[0]
    print(
        f"{first['pods']} pods in {first['namespaces']} namespaces, {first['policies']} NetworkPolicies; "
        f"{first['classes']} endpoint classes; {first['cells']:,} cells, {first['allowed_share']:.1%} allowed on TCP/8080; "
        f"medians of {args.repeat} runs"
    )
    header = f"{'measure':<32} {'median':>10} {'target':>9}"
    print(header)
    print("-" * len(header))

    def row(label: str, value: float, unit: str, target: float | None) -> None:
        flag = "" if target is None or value <= target else "  > target"
        print(f"{label:<32} {value:>8.3f} {unit:<2}{('<= ' + format(target, 'g')) if target else '':>8}{flag}")

    row("build model", median([r["build_s"] for r in runs]), "s", None)
    row("full matrix TCP/8080 (cold)", median([r["matrix_cold_s"] for r in runs]), "s", TARGET_MATRIX_S)
    row("full matrix TCP/8080 (warm)", median([r["matrix_warm_s"] for r in runs]), "s", TARGET_MATRIX_S)
    row("reachable + explain", median([r["reachable_ms"] for r in runs]), "ms", TARGET_REACHABLE_MS)
    row("reachable slowest call", median([r["reachable_max_ms"] for r in runs]), "ms", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
