"""Latency of the offline RBAC authorizer: ``can`` and ``who_can`` on 10k bindings and 2k roles.

A seeded generator writes an RBAC configuration shaped like a multi-tenant cluster (in memory, as
``K8sObject``s): namespaces with their service accounts, Roles and RoleBindings; ClusterRoles with
wildcards (``*`` verbs, ``*/scale``, ``pods/*``-style subresources), resourceNames and
nonResourceURLs; aggregated ClusterRoles (matchLabels and matchExpressions selectors); bindings to
users, groups (team groups, ``system:serviceaccounts:<ns>``, ``system:authenticated``) and service
accounts; a few bindings to missing roles. The shipped default ClusterRoles are added when present.

In a fresh interpreter per run: build the model (``RbacModel.from_objects``), then time, call by
call, ``can`` on requests known to be allowed and known to be denied (each for a subject not asked
before, so its rule list is resolved inside the timed call: "cold"; then the same calls again:
"warm") and ``who_can`` on random requests in random namespaces. Medians of ``--repeat`` runs.
Targets: ``can`` <= 1 ms, ``who_can`` <= 50 ms. The figures are printed, never asserted.

    python benchmarks/bench_rbac.py [--bindings 10000] [--roles 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import median, run_worker

SCRIPT = Path(__file__).resolve()
TARGET_CAN_MS = 1.0
TARGET_WHO_CAN_MS = 50.0
GROUP = "rbac.authorization.k8s.io"

RESOURCES = [
    ("", "pods"),
    ("", "services"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "persistentvolumeclaims"),
    ("", "events"),
    ("", "endpoints"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("networking.k8s.io", "networkpolicies"),
    ("networking.k8s.io", "ingresses"),
    ("policy", "poddisruptionbudgets"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("example.com", "widgets"),
    ("example.com", "gadgets"),
]
SUBRESOURCES = ["pods/log", "pods/exec", "pods/portforward", "deployments/scale", "pods/status", "*/scale"]
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]


def _ask(model: Any, query: tuple[Any, ...]) -> bool:
    who, verb, resource, namespace, name, subresource, group, path = query
    return bool(
        model.can(who, verb, resource, namespace=namespace, name=name, subresource=subresource, group=group, path=path)
    )


def generate(n_bindings: int, n_roles: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Raw RBAC objects and the population they use (namespaces, service accounts, users, groups)."""
    rng = random.Random(seed)
    n_namespaces = max(1, n_bindings // 50)
    namespaces = [f"tenant-{i:03d}" for i in range(n_namespaces)]
    sas = {ns: [f"sa-{j}" for j in range(rng.randint(3, 12))] for ns in namespaces}
    users = [f"user-{i}@example.com" for i in range(max(10, n_bindings // 20))]
    teams = [f"team-{i}" for i in range(max(5, n_bindings // 200))]

    def resource_rule() -> dict[str, Any]:
        group, resource = rng.choice(RESOURCES)
        roll = rng.random()
        rule: dict[str, Any] = {"apiGroups": [group], "resources": [resource]}
        if roll < 0.05:
            rule["apiGroups"], rule["resources"] = ["*"], ["*"]
        elif roll < 0.15:
            rule["resources"] = [rng.choice(SUBRESOURCES)]
            rule["apiGroups"] = ["*"] if rule["resources"][0].startswith("*") else ["", "apps"]
        elif roll < 0.25:
            rule["resources"] = [resource, rng.choice(RESOURCES)[1]]
        verbs = rng.choice([READ, WRITE, READ + WRITE, ["*"], ["get"], ["list", "watch"]])
        rule["verbs"] = list(verbs)
        if rng.random() < 0.1 and len(rule["resources"]) == 1 and "*" not in rule["resources"][0]:
            rule["resourceNames"] = [f"obj-{rng.randint(0, 20)}" for _ in range(rng.randint(1, 3))]
        return rule

    def rules(n: int) -> list[dict[str, Any]]:
        return [resource_rule() for _ in range(n)]

    objs: list[dict[str, Any]] = []
    n_cluster = n_roles // 4
    n_aggregated = max(1, n_cluster // 25)
    cluster_names: list[str] = []
    for i in range(n_cluster):
        name = f"cr-{i:04d}"
        meta: dict[str, Any] = {
            "name": name,
            "labels": {"aggregate-to": f"agg-{i % n_aggregated}", "tier": rng.choice("abc")},
        }
        role_rules = rules(rng.randint(1, 8))
        if rng.random() < 0.05:
            role_rules.append(
                {"verbs": ["get"], "nonResourceURLs": [rng.choice(["/healthz", "/metrics", "/logs/*", "/api*"])]}
            )
        objs.append({"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": meta, "rules": role_rules})
        cluster_names.append(name)
    for i in range(n_aggregated):
        selectors: list[dict[str, Any]] = [{"matchLabels": {"aggregate-to": f"agg-{i}"}}]
        if i % 3 == 0:
            selectors.append(
                {
                    "matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["c"]},
                        {"key": "aggregate-to", "operator": "NotIn", "values": [f"agg-{i}"]},
                    ]
                }
            )
        name = f"aggregated-{i:03d}"
        objs.append(
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "ClusterRole",
                "metadata": {"name": name},
                "aggregationRule": {"clusterRoleSelectors": selectors},
                "rules": [],
            }
        )
        cluster_names.append(name)
    role_names: dict[str, list[str]] = {ns: [] for ns in namespaces}
    for i in range(n_roles - n_cluster - n_aggregated):
        ns = namespaces[i % n_namespaces]
        name = f"role-{i:04d}"
        objs.append(
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": ns},
                "rules": rules(rng.randint(1, 6)),
            }
        )
        role_names[ns].append(name)

    def subject(ns: str | None) -> dict[str, Any]:
        roll = rng.random()
        if roll < 0.55:
            sa_ns = ns if ns is not None and rng.random() < 0.9 else rng.choice(namespaces)
            return {"kind": "ServiceAccount", "name": rng.choice(sas[sa_ns]), "namespace": sa_ns}
        if roll < 0.80:
            return {"kind": "User", "apiGroup": GROUP, "name": rng.choice(users)}
        if roll < 0.97:
            return {"kind": "Group", "apiGroup": GROUP, "name": rng.choice(teams)}
        # Everyone-groups only in RoleBindings: a cluster-wide grant to every user is not a realistic tenant setup.
        group = rng.choice(
            [f"system:serviceaccounts:{ns or rng.choice(namespaces)}"] + (["system:authenticated"] if ns else [])
        )
        return {"kind": "Group", "apiGroup": GROUP, "name": group}

    n_crb = n_bindings // 10
    for i in range(n_bindings):
        subjects = [
            subject(None if i < n_crb else namespaces[i % n_namespaces]) for _ in range(rng.choice([1, 1, 1, 2, 3]))
        ]
        if i < n_crb:
            ref = rng.choice(cluster_names) if rng.random() < 0.99 else "missing-role"
            objs.append(
                {
                    "apiVersion": f"{GROUP}/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": f"crb-{i:05d}"},
                    "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": ref},
                    "subjects": subjects,
                }
            )
            continue
        ns = namespaces[i % n_namespaces]
        if role_names[ns] and rng.random() < 0.7:
            ref_kind, ref = "Role", rng.choice(role_names[ns])
        else:
            ref_kind, ref = "ClusterRole", rng.choice(cluster_names)
        objs.append(
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": f"rb-{i:05d}", "namespace": ns},
                "roleRef": {"apiGroup": GROUP, "kind": ref_kind, "name": ref},
                "subjects": subjects,
            }
        )
    population = {"namespaces": namespaces, "sas": sas, "users": users, "teams": teams}
    return objs, population


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000.0


def worker(n_bindings: int, n_roles: int, seed: int, n_queries: int) -> dict[str, Any]:
    from pytest_k8ssec.model.objects import K8sObject, Provenance
    from pytest_k8ssec.model.rbac import RbacModel
    from pytest_k8ssec.sources.default_roles import default_roles, default_versions

    raw, population = generate(n_bindings, n_roles, seed)
    objs = [K8sObject(r, Provenance("bench")) for r in raw]
    shipped = bool(default_versions())
    start = time.perf_counter()
    # Reading the shipped defaults is part of building, as it was when the model read them itself.
    model = RbacModel.from_objects(objs, defaults=default_roles("latest") if shipped else None)
    built = time.perf_counter() - start

    rng = random.Random(seed + 1)
    # Allowed queries: a concrete request drawn from a rule a binding grants, asked by that subject.
    allowed: list[tuple[Any, ...]] = []
    bindings = [b for b in model.bindings if model.role(b.role_ref) is not None and model.role(b.role_ref).rules]  # type: ignore[union-attr]
    rng.shuffle(bindings)
    asked: set[str] = set()
    for binding in bindings:
        if len(allowed) >= n_queries:
            break
        subj = binding.subjects[0] if binding.subjects else None
        if subj is None:
            continue
        who = f"group:{subj.name}" if subj.kind == "Group" else subj.username
        assert who is not None
        if who in asked:
            continue
        rule = rng.choice(model.role(binding.role_ref).rules)  # type: ignore[union-attr]
        verb = rng.choice([v for v in rule.verbs if v != "*"] or ["delete"])
        ns = binding.namespace or rng.choice(population["namespaces"])
        if rule.non_resource_urls:
            path = rule.non_resource_urls[0].rstrip("*") + ("x" if rule.non_resource_urls[0].endswith("*") else "")
            if binding.namespace:
                continue
            query: tuple[Any, ...] = (who, verb, "", None, None, None, "", path)
        else:
            resource = rng.choice(rule.resources).replace("*/", "deployments/")
            resource = "pods" if resource == "*" else resource
            group = "apps" if rule.api_groups[0] == "*" else rule.api_groups[0]
            name = rule.resource_names[0] if rule.resource_names else None
            query = (who, verb, resource, ns, name, None, group, None)
        if _ask(model, query):
            asked.add(who)
            allowed.append(query)
    # Denied queries: service accounts and users not asked before, requests nobody granted them.
    denied: list[tuple[Any, ...]] = []
    asked_denied: set[str] = set()
    for _ in range(50 * n_queries):
        if len(denied) >= n_queries:
            break
        ns = rng.choice(population["namespaces"])
        who = rng.choice(
            [f"system:serviceaccount:{ns}:{rng.choice(population['sas'][ns])}", rng.choice(population["users"])]
        )
        if who in asked_denied:
            continue
        asked_denied.add(who)
        group, resource = rng.choice(RESOURCES)
        query = (who, rng.choice(READ + WRITE), resource, ns, None, None, group, None)
        if not _ask(model, query):
            denied.append(query)
    model = RbacModel.from_objects(
        objs, defaults=default_roles("latest") if shipped else None
    )  # fresh caches: choosing the queries warmed them

    def timed(queries: list[tuple[Any, ...]], expect: bool) -> list[float]:
        out = []
        for q in queries:
            t0 = time.perf_counter()
            result = _ask(model, q)
            out.append(time.perf_counter() - t0)
            if result is not expect:
                raise AssertionError(f"{q}: expected {expect}")
        return out

    cold_allowed = timed(allowed, True)
    cold_denied = timed(denied, False)
    warm_allowed = timed(allowed, True)
    warm_denied = timed(denied, False)

    who_can_times: list[float] = []
    grants = 0
    for _ in range(max(50, n_queries // 10)):
        group, resource = rng.choice(RESOURCES)
        verb = rng.choice(READ + WRITE)
        ns = rng.choice(population["namespaces"])
        t0 = time.perf_counter()
        found = model.who_can(verb, resource, namespace=ns, group=group)
        who_can_times.append(time.perf_counter() - t0)
        grants += len(found)
    return {
        "objects": len(objs),
        "roles": len(model.roles),
        "bindings": len(model.bindings),
        "problems": len(model.problems),
        "defaults": "latest" if shipped else "none",
        "build_s": built,
        "can_allowed_cold_ms": _ms(cold_allowed),
        "can_denied_cold_ms": _ms(cold_denied),
        "can_allowed_warm_ms": _ms(warm_allowed),
        "can_denied_warm_ms": _ms(warm_denied),
        "can_max_ms": max(cold_allowed + cold_denied) * 1000.0,
        "who_can_ms": _ms(who_can_times),
        "who_can_max_ms": max(who_can_times) * 1000.0,
        "who_can_grants": grants / len(who_can_times),
        "allowed_queries": len(allowed),
        "denied_queries": len(denied),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        print(json.dumps(worker(*(int(a) for a in argv[1:5]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bindings", type=int, default=10_000)
    parser.add_argument("--roles", type=int, default=2_000)
    parser.add_argument(
        "--queries",
        type=int,
        default=1_000,
        help="can() queries of each kind per run (each by a subject not asked before)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians are shown")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}", flush=True)
    runs = [
        run_worker(SCRIPT, [str(args.bindings), str(args.roles), str(args.seed), str(args.queries)])
        for _ in range(args.repeat)
    ]
    first = runs[0]
    print(
        f"{first['objects']} RBAC objects: {first['roles']} roles, {first['bindings']} bindings "
        f"(defaults: {first['defaults']}; {first['problems']} problems, e.g. bindings to missing roles); "
        f"{first['allowed_queries']} allowed and {first['denied_queries']} denied can() queries, medians of {args.repeat} runs"
    )
    header = f"{'measure':<28} {'median ms':>10} {'target':>8}"
    print(header)
    print("-" * len(header))

    def row(label: str, key: str, target: float | None) -> None:
        value = median([r[key] for r in runs])
        flag = "" if target is None or value <= target else "  > target"
        print(f"{label:<28} {value:>10.4f} {('<= ' + format(target, 'g')) if target else '':>8}{flag}")

    print(f"{'build model':<28} {median([r['build_s'] for r in runs]) * 1000:>10.1f}")
    row("can allowed (cold subject)", "can_allowed_cold_ms", TARGET_CAN_MS)
    row("can denied (cold subject)", "can_denied_cold_ms", TARGET_CAN_MS)
    row("can allowed (warm)", "can_allowed_warm_ms", TARGET_CAN_MS)
    row("can denied (warm)", "can_denied_warm_ms", TARGET_CAN_MS)
    row("can slowest call", "can_max_ms", None)
    row("who_can", "who_can_ms", TARGET_WHO_CAN_MS)
    row("who_can slowest call", "who_can_max_ms", None)
    print(f"who_can grants per query (mean): {median([r['who_can_grants'] for r in runs]):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
