"""Deterministic generator of a realistic manifest corpus for the benchmarks.

The corpus looks like ``helm template`` output of many small releases: each document is preceded
by a ``# Source:`` comment, objects carry the usual Helm labels and annotations, and a release
brings its workload with the objects around it (Service, ConfigMap, ServiceAccount, Role and
RoleBinding, NetworkPolicy). Workloads (Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod) are
about 55% of the objects; objects average about 2.9 KB of YAML, as real charts do.

About 30% of the workloads have problems. A problem workload always has a privileged container
(so ``assert_not_privileged`` fails on exactly the problem share) and usually more: root user,
hostPath volumes, added capabilities, host namespaces, host ports, missing resources, an
unconfined seccomp profile, a writable root filesystem, a mounted ServiceAccount token. Clean workloads
meet the Restricted Pod Security Standard and every built-in check.

Files hold about 20 objects each, in one directory per namespace::

    OUT_DIR/<namespace>/<release>.yaml

Usage::

    python benchmarks/corpus.py OUT_DIR --objects 10000 [--seed 0] [--workloads-only]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

PROBLEM_SHARE = 0.30
OBJECTS_PER_FILE = 20
OBJECTS_PER_NAMESPACE = 400

# Workload kinds and their weights among workloads.
WORKLOAD_KINDS: tuple[tuple[str, float], ...] = (
    ("Deployment", 0.55),
    ("StatefulSet", 0.12),
    ("DaemonSet", 0.06),
    ("CronJob", 0.10),
    ("Job", 0.07),
    ("Pod", 0.10),
)
LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "CronJob": "batch/v1",
    "Job": "batch/v1",
    "Pod": "v1",
}

TEAMS = ("shop", "payments", "search", "identity", "platform", "data", "ml", "web", "edge", "ops")
COMPONENTS = ("api", "worker", "frontend", "backend", "gateway", "cache", "indexer", "scheduler", "exporter", "sync")
CHARTS = ("app", "service", "worker", "cron", "agent", "database", "proxy")
HOST_PATHS = ("/var/run/docker.sock", "/var/log", "/", "/proc", "/var/lib/kubelet", "/data/scratch")
ADDED_CAPS = (["NET_ADMIN"], ["SYS_ADMIN"], ["NET_RAW", "SYS_PTRACE"], ["NET_BIND_SERVICE", "SYS_TIME"])
PROBLEMS = (
    "root-user",
    "host-path",
    "added-capabilities",
    "host-namespaces",
    "host-port",
    "missing-resources",
    "seccomp-unconfined",
    "writable-root-filesystem",
    "token-automount",
)


@dataclass
class Stats:
    """What a generated corpus holds."""

    objects: int = 0
    workloads: int = 0
    problem_workloads: int = 0
    files: int = 0
    namespaces: int = 0
    bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def bytes_per_object(self) -> float:
        return self.bytes / self.objects if self.objects else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["bytes_per_object"] = round(self.bytes_per_object)
        return data


def _digest(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def _labels(release: str, chart: str, component: str, version: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": chart,
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": release.split("-")[0],
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": f"{chart}-{version}",
    }


def _selector(release: str, chart: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": chart, "app.kubernetes.io/instance": release}


class _Release:
    """One Helm release: its names, labels and randomness."""

    def __init__(self, rng: random.Random, namespace: str, index: int) -> None:
        self.rng = rng
        self.namespace = namespace
        self.chart = rng.choice(CHARTS)
        self.component = rng.choice(COMPONENTS)
        self.name = f"{rng.choice(TEAMS)}-{self.component}-{index}"
        self.version = f"{rng.randint(0, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        self.labels = _labels(self.name, self.chart, self.component, self.version)
        self.selector = _selector(self.name, self.chart)
        self.port = rng.choice((8080, 8000, 3000, 9000, 5000))

    def metadata(self, name: str | None = None, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name or self.name, "namespace": self.namespace, "labels": dict(self.labels)}
        meta.update(extra)
        return meta

    def source(self, template: str) -> str:
        return f"{self.chart}/templates/{template}"


# --- containers and pod specs -------------------------------------------------------------------


def _resources(rng: random.Random) -> dict[str, Any]:
    cpu = rng.choice((50, 100, 250, 500, 1000))
    mem = rng.choice((64, 128, 256, 512, 1024, 2048))
    return {
        "requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"},
        "limits": {"cpu": f"{cpu * 2}m", "memory": f"{mem * 2}Mi"},
    }


def _hardened_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _env(rng: random.Random, rel: _Release) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "APP_NAME", "value": rel.name},
        {"name": "APP_ENV", "value": rng.choice(("production", "staging"))},
        {"name": "LOG_LEVEL", "value": rng.choice(("info", "debug", "warn"))},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability.svc:4317"},
        {
            "name": "DATABASE_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": f"{rel.name}-db", "key": "password"}},
        },
    ]
    for i in range(rng.randint(2, 10)):
        env.append({"name": f"FEATURE_FLAG_{i}", "value": rng.choice(("true", "false"))})
    return env


def _main_container(rng: random.Random, rel: _Release, long_running: bool) -> dict[str, Any]:
    image = f"registry.example.com/{rel.name.split('-')[0]}/{rel.component}:{rel.version}"
    if rng.random() < 0.5:
        image = f"{image}@sha256:{_digest(rng)}"
    container: dict[str, Any] = {
        "name": rel.component,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [f"--port={rel.port}", "--metrics-port=9090", f"--config=/etc/{rel.chart}/config.yaml"],
        "env": _env(rng, rel),
        "envFrom": [{"configMapRef": {"name": f"{rel.name}-env"}}],
        "ports": [
            {"name": "http", "containerPort": rel.port, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        ],
        "resources": _resources(rng),
        "securityContext": _hardened_security_context(),
        "volumeMounts": [
            {"name": "config", "mountPath": f"/etc/{rel.chart}", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if long_running:
        container["livenessProbe"] = {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        }
        container["readinessProbe"] = {
            "httpGet": {"path": "/ready", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
        }
        container["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 5"]}}}
    return container


def _sidecar(rng: random.Random) -> dict[str, Any]:
    return {
        "name": rng.choice(("log-shipper", "envoy", "config-reloader")),
        "image": f"registry.example.com/platform/sidecar:1.{rng.randint(0, 30)}.0",
        "args": ["--watch=/etc/config", "--log-format=json"],
        "resources": _resources(rng),
        "securityContext": _hardened_security_context(),
        "volumeMounts": [{"name": "config", "mountPath": "/etc/config", "readOnly": True}],
    }


def _init_container(rng: random.Random, rel: _Release) -> dict[str, Any]:
    return {
        "name": "migrate",
        "image": f"registry.example.com/{rel.name.split('-')[0]}/migrate:{rel.version}",
        "command": ["/bin/migrate", "--wait-for-db", "--timeout=120s"],
        "resources": _resources(rng),
        "securityContext": _hardened_security_context(),
    }


def _pod_spec(rng: random.Random, rel: _Release, kind: str) -> dict[str, Any]:
    long_running = kind in LONG_RUNNING
    containers = [_main_container(rng, rel, long_running)]
    if rng.random() < 0.25:
        containers.append(_sidecar(rng))
    spec: dict[str, Any] = {
        "serviceAccountName": rel.name,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if rng.random() < 0.15:
        spec["initContainers"] = [_init_container(rng, rel)]
    spec["containers"] = containers
    spec["volumes"] = [
        {"name": "config", "configMap": {"name": f"{rel.name}-config"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
    ]
    if kind in ("Job", "CronJob", "Pod"):
        spec["restartPolicy"] = "OnFailure" if kind != "Pod" else "Always"
    if long_running and kind != "DaemonSet":
        spec["affinity"] = {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": dict(rel.selector)},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            }
        }
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(rel.selector)},
            }
        ]
    if kind == "DaemonSet" or rng.random() < 0.2:
        spec["tolerations"] = [
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "dedicated", "operator": "Equal", "value": rel.component, "effect": "NoSchedule"},
        ]
    spec["terminationGracePeriodSeconds"] = rng.choice((30, 60))
    return spec


def _add_problems(rng: random.Random, spec: dict[str, Any]) -> None:
    """Make a hardened pod spec insecure: always a privileged container, usually more."""
    main = spec["containers"][0]
    sc = main["securityContext"]
    sc["privileged"] = True
    sc.pop("allowPrivilegeEscalation", None)  # privileged implies escalation; keep it coherent
    for problem in rng.sample(PROBLEMS, rng.randint(0, 3)):
        if problem == "root-user":
            spec["securityContext"].update({"runAsNonRoot": False, "runAsUser": 0})
            sc.pop("runAsNonRoot", None)
        elif problem == "host-path":
            path = rng.choice(HOST_PATHS)
            spec["volumes"].append({"name": "host", "hostPath": {"path": path, "type": ""}})
            main["volumeMounts"].append({"name": "host", "mountPath": f"/host{path.rstrip('/')}"})
        elif problem == "added-capabilities":
            sc["capabilities"] = {"add": list(rng.choice(ADDED_CAPS))}
        elif problem == "host-namespaces":
            spec["hostNetwork"] = True
            if rng.random() < 0.5:
                spec["hostPID"] = True
        elif problem == "host-port":
            main["ports"][0]["hostPort"] = main["ports"][0]["containerPort"]
        elif problem == "missing-resources":
            del main["resources"]
        elif problem == "seccomp-unconfined":
            spec["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
        elif problem == "writable-root-filesystem":
            sc["readOnlyRootFilesystem"] = False
        elif problem == "token-automount":
            del spec["automountServiceAccountToken"]


# --- objects ------------------------------------------------------------------------------------


def _workload(rng: random.Random, rel: _Release, kind: str, problem: bool) -> dict[str, Any]:
    spec = _pod_spec(rng, rel, kind)
    if problem:
        _add_problems(rng, spec)
    template = {
        "metadata": {
            "labels": dict(rel.labels),
            "annotations": {
                "checksum/config": _digest(rng),
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090",
            },
        },
        "spec": spec,
    }
    meta = rel.metadata(
        annotations={"meta.helm.sh/release-name": rel.name, "meta.helm.sh/release-namespace": rel.namespace}
    )
    head = {"apiVersion": API_VERSIONS[kind], "kind": kind, "metadata": meta}
    if kind == "Pod":
        meta["annotations"].update(template["metadata"]["annotations"])
        return {**head, "spec": spec}
    if kind == "Job":
        return {**head, "spec": {"backoffLimit": 3, "ttlSecondsAfterFinished": 3600, "template": template}}
    if kind == "CronJob":
        job = {"backoffLimit": 2, "activeDeadlineSeconds": 1800, "template": template}
        return {
            **head,
            "spec": {
                "schedule": f"{rng.randint(0, 59)} {rng.randint(0, 23)} * * *",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {"spec": job},
            },
        }
    body: dict[str, Any] = {"selector": {"matchLabels": dict(rel.selector)}, "template": template}
    if kind == "Deployment":
        body = {
            "replicas": rng.choice((1, 2, 3, 5)),
            "revisionHistoryLimit": 5,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            **body,
        }
    elif kind == "StatefulSet":
        body = {"replicas": 3, "serviceName": f"{rel.name}-headless", "podManagementPolicy": "Parallel", **body}
        body["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "fast-ssd",
                    "resources": {"requests": {"storage": f"{rng.choice((10, 50, 100))}Gi"}},
                },
            }
        ]
    elif kind == "DaemonSet":
        body["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    return {**head, "spec": body}


def _service(rel: _Release) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": rel.metadata(annotations={"prometheus.io/scrape": "true"}),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(rel.selector),
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"},
            ],
        },
    }


def _config_map(rng: random.Random, rel: _Release) -> dict[str, Any]:
    lines = [f"server:\n  port: {rel.port}\n  readTimeout: 30s\n  writeTimeout: 30s"]
    for i in range(rng.randint(2, 10)):
        lines.append(f"feature_{i}:\n  enabled: {rng.choice(('true', 'false'))}\n  rollout: {rng.randint(0, 100)}")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": rel.metadata(f"{rel.name}-config"),
        "data": {"config.yaml": "\n".join(lines) + "\n", "LOG_FORMAT": "json"},
    }


def _service_account(rel: _Release) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": rel.metadata(),
        "automountServiceAccountToken": False,
    }


def _role(rng: random.Random, rel: _Release) -> dict[str, Any]:
    rules = [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
    ]
    if rng.random() < 0.3:
        rules.append(
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": [f"{rel.name}-db"]}
        )
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": rel.metadata(), "rules": rules}


def _role_binding(rel: _Release) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": rel.metadata(),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": rel.name},
        "subjects": [{"kind": "ServiceAccount", "name": rel.name, "namespace": rel.namespace}],
    }


def _network_policy(rel: _Release) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": rel.metadata(),
        "spec": {
            "podSelector": {"matchLabels": dict(rel.selector)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
                        {
                            "podSelector": {
                                "matchLabels": {"app.kubernetes.io/part-of": rel.labels["app.kubernetes.io/part-of"]}
                            }
                        },
                    ],
                    "ports": [{"protocol": "TCP", "port": rel.port}],
                }
            ],
            "egress": [
                {
                    "to": [{"namespaceSelector": {}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
                {
                    "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                },
            ],
        },
    }


def _release_objects(
    rng: random.Random, namespace: str, index: int, workloads_only: bool
) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """Yield (template source, object, is a problem workload) for one release."""
    rel = _Release(rng, namespace, index)
    kind = rng.choices([k for k, _ in WORKLOAD_KINDS], [w for _, w in WORKLOAD_KINDS])[0]
    problem = rng.random() < PROBLEM_SHARE
    if workloads_only:
        yield rel.source(f"{kind.lower()}.yaml"), _workload(rng, rel, kind, problem), problem
        return
    # Helm renders in kind order: ServiceAccount, ConfigMap, Role, RoleBinding, Service, workload, ...
    if rng.random() < 0.12:
        yield rel.source("serviceaccount.yaml"), _service_account(rel), False
    if rng.random() < 0.25:
        yield rel.source("configmap.yaml"), _config_map(rng, rel), False
    if rng.random() < 0.05:
        yield rel.source("role.yaml"), _role(rng, rel), False
        yield rel.source("rolebinding.yaml"), _role_binding(rel), False
    if kind in LONG_RUNNING and rng.random() < 0.40:
        yield rel.source("service.yaml"), _service(rel), False
    yield rel.source(f"{kind.lower()}.yaml"), _workload(rng, rel, kind, problem), problem
    if rng.random() < 0.10:
        yield rel.source("networkpolicy.yaml"), _network_policy(rel), False


def _dump(source: str, obj: dict[str, Any]) -> str:
    body = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return f"---\n# Source: {source}\n{body}"


def generate(out_dir: str | os.PathLike[str], n_objects: int, seed: int = 0, *, workloads_only: bool = False) -> Stats:
    """Write a corpus of exactly ``n_objects`` objects under ``out_dir`` (emptied first); same seed, same bytes."""
    if n_objects < 1:
        raise ValueError("n_objects must be at least 1")
    out = os.fspath(out_dir)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    rng = random.Random(seed)
    stats = Stats()
    n_namespaces = max(1, n_objects // OBJECTS_PER_NAMESPACE)
    namespaces = [f"{rng.choice(TEAMS)}-{i:03d}" for i in range(n_namespaces)]
    release_index = 0
    while stats.objects < n_objects:
        namespace = namespaces[stats.files % n_namespaces]
        target = min(n_objects - stats.objects, rng.randint(OBJECTS_PER_FILE // 2, OBJECTS_PER_FILE * 3 // 2))
        docs: list[str] = []
        file_name = None
        while len(docs) < target:
            release_index += 1
            for source, obj, problem in _release_objects(rng, namespace, release_index, workloads_only):
                if len(docs) >= target:
                    break
                file_name = file_name or obj["metadata"]["name"]
                docs.append(_dump(source, obj))
                kind = obj["kind"]
                stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
                if kind in API_VERSIONS:
                    stats.workloads += 1
                    stats.problem_workloads += problem
        directory = os.path.join(out, namespace)
        os.makedirs(directory, exist_ok=True)
        data = "".join(docs).encode()
        with open(os.path.join(directory, f"{file_name}.yaml"), "wb") as handle:
            handle.write(data)
        stats.objects += len(docs)
        stats.bytes += len(data)
        stats.files += 1
    stats.namespaces = min(stats.files, n_namespaces)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="directory to write (emptied first)")
    parser.add_argument("--objects", type=int, default=10_000, help="number of objects (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workloads-only", action="store_true", help="only workload objects (one test per object)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    stats = generate(args.out_dir, args.objects, args.seed, workloads_only=args.workloads_only)
    elapsed = time.perf_counter() - start
    print(
        f"{stats.objects} objects ({stats.workloads} workloads, {stats.problem_workloads} with problems) "
        f"in {stats.files} files, {stats.namespaces} namespaces; {stats.bytes / 2**20:.1f} MiB, "
        f"{stats.bytes_per_object / 1024:.2f} KiB/object; {elapsed:.1f} s"
    )
    print(
        "kinds: " + ", ".join(f"{kind} {count}" for kind, count in sorted(stats.kinds.items(), key=lambda kv: -kv[1]))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
