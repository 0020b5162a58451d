"""Our Pod Security evaluator against the real PodSecurity admission of the local control plane.

A seeded generator mutates compliant pods (a restricted base built here, and the pass fixtures of
the Go module ``k8s.io/pod-security-admission``, ``test/testdata``, read in place) field by field, with values from the allowed and the
forbidden sets of every PSS control, at pod and container level, across init, sidecar and regular
containers. Every pod is dry-run created in namespaces that enforce several level:version pairs;
the API server's verdict (201 allowed, 403 ``violates PodSecurity``) must equal
``evaluate_pod_security(pod, level, version).allowed`` for every pair. Pods the API rejects for
another reason (422 validation, e.g. ``procMount: Unmasked`` without ``hostUsers: false``) never
reach PodSecurity: they are counted and left out, and must stay a small minority.

Ephemeral containers cannot be set on create (the API forbids them there), so they are covered
through the one write that carries them: the ``pods/ephemeralcontainers`` subresource, which
PodSecurity also judges. A compliant pod is created in every namespace (no kubelet runs, so it
only sits in etcd) and each mutated ephemeral container is dry-run added to it.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytest_k8ssec.checks.pss import evaluate_pod_security
from pytest_k8ssec.checks.pss._registry import table
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.cluster import ClusterSource

SEED = 20260501
PODS = 2200
EPHEMERAL = 240
THREADS = 8
# level, version enforced per namespace: the version boundaries where controls change
# (v1.19 seccomp annotations -> fields, v1.22 capabilities_restricted, v1.25 windows exemptions).
POLICIES = (
    ("baseline", "v1.0"),
    ("baseline", "v1.30"),
    ("baseline", "latest"),
    ("restricted", "v1.0"),
    ("restricted", "v1.22"),
    ("restricted", "v1.24"),
    ("restricted", "v1.25"),
    ("restricted", "latest"),
)
MAX_EXCLUDED = 0.20

Pod = dict[str, Any]
Mutation = Callable[[Pod, random.Random], str]

RESTRICTED_BASE: Pod = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "base"},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [
            {
                "name": "init",
                "image": "registry.k8s.io/pause",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
        "containers": [
            {
                "name": "app",
                "image": "registry.k8s.io/pause",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    },
}

# --- value sets ------------------------------------------------------------------------------

BASELINE_CAPS = (
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
)  # fmt: skip
CAPS_ADD = (
    *BASELINE_CAPS,
    "NET_BIND_SERVICE",
    "NET_BIND_SERVICE",
    "SYS_ADMIN",
    "NET_RAW",
    "all",
    "ALL",
    "CAP_CHOWN",
    "BPF",
)
CAPS_DROP: tuple[list[str] | None, ...] = (["ALL"], ["all"], None, ["NET_RAW"], ["NET_RAW", "ALL"], [])
VOLUMES: tuple[dict[str, Any], ...] = (
    {"emptyDir": {}},
    {"configMap": {"name": "cm"}},
    {"secret": {"secretName": "s"}},
    {"projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
    {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
    {"persistentVolumeClaim": {"claimName": "claim"}},
    {
        "ephemeral": {
            "volumeClaimTemplate": {
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }
        }
    },
    {"csi": {"driver": "csi.example.com"}},
    {"image": {"reference": "registry.k8s.io/pause"}},  # GA in the served version: no feature gate needed
    {"nfs": {"server": "nfs.example.com", "path": "/export"}},
    {"hostPath": {"path": "/var/run"}},
    {"hostPath": {"path": "/", "type": "Directory"}},
    {"iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.2001-04.com.example:storage", "lun": 0}},
    {"fc": {"targetWWNs": ["500a0982991b8dc5"], "lun": 0}},
    {"azureFile": {"secretName": "s", "shareName": "share"}},
    {"cephfs": {"monitors": ["10.0.0.1:6789"]}},
    {"rbd": {"monitors": ["10.0.0.1:6789"], "image": "img"}},
)
PROBE_HOSTS = ("", "", "127.0.0.1", "localhost", "example.com", "10.0.0.1")
SELINUX_TYPES = (
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
    "spc_t",
    "unconfined_t",
)
SYSCTLS = (
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat",
    "kernel.msgmax", "net.core.somaxconn", "vm.swappiness", "net.ipv4.ip_forward", "kernel.sem",
)  # fmt: skip
SYSCTL_VALUES = {"net.ipv4.ip_local_port_range": "1024 65535", "net.ipv4.ping_group_range": "0 2147483647",
                 "net.ipv4.tcp_rmem": "4096 87380 6291456", "net.ipv4.tcp_wmem": "4096 16384 4194304",
                 "kernel.sem": "250 32000 100 128"}  # fmt: skip

# --- where a mutation lands ------------------------------------------------------------------


def _spec(pod: Pod) -> dict[str, Any]:
    spec: dict[str, Any] = pod["spec"]
    return spec


def _containers(
    pod: Pod, lists: tuple[str, ...] = ("initContainers", "containers")
) -> Iterator[tuple[str, dict[str, Any]]]:
    for key in lists:
        for index, container in enumerate(_spec(pod).get(key) or []):
            yield f"{key}[{index}]", container


def _container(
    pod: Pod, rng: random.Random, lists: tuple[str, ...] = ("initContainers", "containers")
) -> tuple[str, dict[str, Any]]:
    return rng.choice(list(_containers(pod, lists)))


def _sc(target: dict[str, Any]) -> dict[str, Any]:
    sc: dict[str, Any] = target.setdefault("securityContext", {})
    return sc


def _target(pod: Pod, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """The pod-level security context (``spec``) or one container's, at random."""
    if rng.random() < 0.4:
        return "spec", _spec(pod)
    return _container(pod, rng)


def _set(mapping: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


# --- mutations, one per PSS control (several values, pod and container level) ---------------


def host_namespaces(pod: Pod, rng: random.Random) -> str:
    field, value = rng.choice(("hostNetwork", "hostPID", "hostIPC")), rng.choice((True, True, False))
    _spec(pod)[field] = value
    return f"spec.{field}={value}"


def privileged(pod: Pod, rng: random.Random) -> str:
    where, container = _container(pod, rng)
    value = rng.choice((True, False, None))
    _set(_sc(container), "privileged", value)
    if value and _sc(container).get("allowPrivilegeEscalation") is False:
        del _sc(container)["allowPrivilegeEscalation"]  # validation: privileged implies escalation
    return f"{where}.privileged={value}"


def capabilities_add(pod: Pod, rng: random.Random) -> str:
    where, container = _container(pod, rng)
    added = rng.sample(CAPS_ADD, rng.choice((1, 1, 2)))
    _sc(container).setdefault("capabilities", {})["add"] = added
    return f"{where}.capabilities.add={added}"


def capabilities_drop(pod: Pod, rng: random.Random) -> str:
    where, container = _container(pod, rng)
    dropped = rng.choice(CAPS_DROP)
    caps = _sc(container).setdefault("capabilities", {})
    _set(caps, "drop", None if dropped is None else list(dropped))
    return f"{where}.capabilities.drop={dropped}"


def volumes(pod: Pod, rng: random.Random) -> str:
    source = copy.deepcopy(rng.choice(VOLUMES))
    spec = _spec(pod)
    name = f"v{len(spec.get('volumes') or [])}"
    spec.setdefault("volumes", []).append({"name": name, **source})
    return f"volume {next(iter(source))}"


def host_ports(pod: Pod, rng: random.Random) -> str:
    where, container = _container(pod, rng, ("containers",))
    port = rng.choice((80, 8080))
    host = rng.choice((None, 0, port, port))
    entry: dict[str, Any] = {"containerPort": port}
    if host is not None:
        entry["hostPort"] = host
    container.setdefault("ports", []).append(entry)
    return f"{where}.ports+={entry}"


def probes_and_lifecycle(pod: Pod, rng: random.Random) -> str:
    # Probes and lifecycle hooks are valid on regular and sidecar containers only.
    where, container = _container(pod, rng, ("containers",))
    host = rng.choice(PROBE_HOSTS)
    field = rng.choice(("livenessProbe", "readinessProbe", "startupProbe", "postStart", "preStop"))
    handler: dict[str, Any]
    if field in ("postStart", "preStop") or rng.random() < 0.6:
        handler = {"httpGet": {"port": 8080, "path": "/"}}
        kind = "httpGet"
    else:
        handler = {"tcpSocket": {"port": 8080}}
        kind = "tcpSocket"
    if host:
        handler[kind]["host"] = host
    if field in ("postStart", "preStop"):
        container.setdefault("lifecycle", {})[field] = handler
    else:
        if field == "startupProbe" or field == "livenessProbe":
            handler["successThreshold"] = 1
        container[field] = handler
    return f"{where}.{field}.{kind}.host={host!r}"


def apparmor(pod: Pod, rng: random.Random) -> str:
    where, target = _target(pod, rng)
    kind = rng.choice(("RuntimeDefault", "Localhost", "Unconfined", None))
    profile: dict[str, Any] | None = None if kind is None else {"type": kind}
    if kind == "Localhost":
        assert profile is not None
        profile["localhostProfile"] = "k8s-apparmor-example"
    _set(_sc(target), "appArmorProfile", profile)
    return f"{where}.appArmorProfile={kind}"


def apparmor_annotation(pod: Pod, rng: random.Random) -> str:
    where, container = _container(pod, rng)
    value = rng.choice(("runtime/default", "localhost/k8s-apparmor-example", "unconfined"))
    pod["metadata"].setdefault("annotations", {})[
        f"container.apparmor.security.beta.kubernetes.io/{container['name']}"
    ] = value
    return f"apparmor annotation {where}={value}"


def selinux(pod: Pod, rng: random.Random) -> str:
    where, target = _target(pod, rng)
    options: dict[str, str] = {}
    kind = rng.choice(SELINUX_TYPES)
    if kind:
        options["type"] = kind
    if rng.random() < 0.25:
        options["user"] = rng.choice(("", "system_u", "unconfined_u"))
    if rng.random() < 0.25:
        options["role"] = rng.choice(("", "object_r", "sysadm_r"))
    if rng.random() < 0.2:
        options["level"] = "s0:c123,c456"
    _sc(target)["seLinuxOptions"] = options
    return f"{where}.seLinuxOptions={options}"


def proc_mount(pod: Pod, rng: random.Random) -> str:
    where, container = _container(pod, rng)
    value = rng.choice(("Default", "Unmasked", "Unmasked"))
    _sc(container)["procMount"] = value
    # The API accepts Unmasked only in a user namespace; sometimes leave that out (a 422, excluded).
    if value == "Unmasked" and rng.random() < 0.85:
        _spec(pod)["hostUsers"] = False
        return f"{where}.procMount={value} + hostUsers=false"
    return f"{where}.procMount={value}"


def seccomp(pod: Pod, rng: random.Random) -> str:
    where, target = _target(pod, rng)
    kind = rng.choice(("RuntimeDefault", "Localhost", "Unconfined", None))
    profile: dict[str, Any] | None = None if kind is None else {"type": kind}
    if kind == "Localhost":
        assert profile is not None
        profile["localhostProfile"] = "profiles/audit.json"
    _set(_sc(target), "seccompProfile", profile)
    return f"{where}.seccompProfile={kind}"


def seccomp_annotation(pod: Pod, rng: random.Random) -> str:
    value = rng.choice(("runtime/default", "docker/default", "unconfined", "localhost/profile.json"))
    if rng.random() < 0.5:
        key = "seccomp.security.alpha.kubernetes.io/pod"
    else:
        _, container = _container(pod, rng)
        key = f"container.seccomp.security.alpha.kubernetes.io/{container['name']}"
    pod["metadata"].setdefault("annotations", {})[key] = value
    return f"annotation {key}={value}"


def sysctls(pod: Pod, rng: random.Random) -> str:
    names = rng.sample(SYSCTLS, rng.choice((1, 1, 2)))
    entries = [{"name": name, "value": SYSCTL_VALUES.get(name, "1")} for name in names]
    _sc(_spec(pod))["sysctls"] = entries
    return f"sysctls={names}"


def windows(pod: Pod, rng: random.Random) -> str:
    """A Windows pod: Linux-only fields go (the API forbids them), hostProcess at pod or container level."""
    spec = _spec(pod)
    spec["os"] = {"name": "windows"}
    linux_only = ("seccompProfile", "seLinuxOptions", "appArmorProfile", "sysctls", "runAsUser", "runAsGroup",
                  "fsGroup", "fsGroupChangePolicy", "supplementalGroups", "supplementalGroupsPolicy",
                  "capabilities", "privileged", "allowPrivilegeEscalation", "procMount", "readOnlyRootFilesystem")  # fmt: skip
    for target in (spec, *(c for _, c in _containers(pod))):
        sc = target.get("securityContext") or {}
        for key in linux_only:
            sc.pop(key, None)
    spec.pop("hostUsers", None)
    annotations = pod["metadata"].get("annotations") or {}
    for key in [k for k in annotations if "apparmor" in k or "seccomp" in k]:
        del annotations[key]
    choice = rng.choice(("none", "pod", "containers", "both"))
    if choice == "none":
        return "os=windows"
    spec["hostNetwork"] = True  # validation: hostProcess pods must use the host network
    if choice in ("pod", "both"):
        _sc(spec)["windowsOptions"] = {"hostProcess": True}
    if choice in ("containers", "both"):
        # Validation: a pod cannot mix hostProcess and non-hostProcess containers.
        for _, container in _containers(pod):
            _sc(container)["windowsOptions"] = {"hostProcess": True}
    return f"os=windows hostProcess@{choice}"


def linux_os(pod: Pod, rng: random.Random) -> str:
    _spec(pod)["os"] = {"name": "linux"}
    return "os=linux"


def user_namespace(pod: Pod, rng: random.Random) -> str:
    spec = _spec(pod)
    spec["hostUsers"] = rng.choice((False, False, True))
    where, target = _target(pod, rng)
    change = rng.choice(("runAsUser=0", "runAsNonRoot=false", "both", "none"))
    sc = _sc(target)
    if change in ("runAsUser=0", "both"):
        sc["runAsUser"] = 0
    if change in ("runAsNonRoot=false", "both"):
        sc["runAsNonRoot"] = False
    return f"hostUsers={spec['hostUsers']} {where} {change}"


def run_as_non_root(pod: Pod, rng: random.Random) -> str:
    where, target = _target(pod, rng)
    value = rng.choice((True, False, None))
    _set(_sc(target), "runAsNonRoot", value)
    return f"{where}.runAsNonRoot={value}"


def run_as_user(pod: Pod, rng: random.Random) -> str:
    where, target = _target(pod, rng)
    value = rng.choice((0, 1000, 65534, None))
    _set(_sc(target), "runAsUser", value)
    return f"{where}.runAsUser={value}"


def allow_privilege_escalation(pod: Pod, rng: random.Random) -> str:
    where, container = _container(pod, rng)
    value = rng.choice((True, False, None))
    _set(_sc(container), "allowPrivilegeEscalation", value)
    return f"{where}.allowPrivilegeEscalation={value}"


def sidecar(pod: Pod, rng: random.Random) -> str:
    """Turn an init container into a sidecar (restartPolicy: Always): a third container kind."""
    found = list(_containers(pod, ("initContainers",)))
    if not found:
        return "no init container"
    where, container = rng.choice(found)
    container["restartPolicy"] = "Always"
    return f"{where} is a sidecar"


def extra_container(pod: Pod, rng: random.Random) -> str:
    key = rng.choice(("initContainers", "containers"))
    spec = _spec(pod)
    source = copy.deepcopy(rng.choice([c for _, c in _containers(pod)]))
    source.pop("restartPolicy", None)
    if key == "initContainers":
        for field in ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "ports"):
            source.pop(field, None)
    existing = {c["name"] for _, c in _containers(pod)}
    source["name"] = next(f"extra{n}" for n in range(100) if f"extra{n}" not in existing)
    spec.setdefault(key, []).append(source)
    return f"{key}+={source['name']}"


MUTATIONS: tuple[Mutation, ...] = (
    host_namespaces, privileged, capabilities_add, capabilities_add, capabilities_drop, volumes, volumes,
    host_ports, probes_and_lifecycle, apparmor, apparmor_annotation, selinux, selinux, proc_mount, seccomp, seccomp,
    seccomp_annotation, sysctls, sysctls, windows, linux_os, user_namespace, run_as_non_root, run_as_non_root,
    run_as_user, allow_privilege_escalation, allow_privilege_escalation, sidecar, extra_container,
)  # fmt: skip

# Ephemeral containers take only what the ephemeralcontainers subresource accepts (no ports, probes, lifecycle).
EPHEMERAL_MUTATIONS: tuple[Mutation, ...] = (
    privileged, capabilities_add, capabilities_drop, apparmor, selinux, seccomp,
    run_as_non_root, run_as_user, allow_privilege_escalation, allow_privilege_escalation,
)  # fmt: skip


@dataclass
class Generated:
    pod: Pod
    base: str
    mutations: list[str]


def _bases(root: Path) -> list[tuple[str, Pod]]:
    bases = [("restricted-base", copy.deepcopy(RESTRICTED_BASE))]
    for level in ("restricted", "baseline"):
        for path in sorted((root / level / "v1.37" / "pass").glob("*.yaml")):
            pod = yaml.safe_load(path.read_text())
            if pod.get("kind") == "Pod":
                bases.append((f"{level}/{path.stem}", pod))
    return bases


def generate(psa_testdata: Path, count: int = PODS, seed: int = SEED) -> list[Generated]:
    rng = random.Random(seed)
    bases = _bases(psa_testdata)
    pods = []
    for index in range(count):
        # A third from the restricted base, the rest spread over the oracle's pass fixtures.
        name, base = bases[0] if rng.random() < 0.33 else rng.choice(bases[1:])
        pod = copy.deepcopy(base)
        pod["metadata"] = {
            **{k: v for k, v in pod.get("metadata", {}).items() if k == "annotations"},
            "name": f"gen-{index}",
        }
        applied = [rng.choice(MUTATIONS)(pod, rng) for _ in range(rng.choice((1, 2, 2, 3)))]
        pods.append(Generated(pod, name, applied))
    return pods


def generate_ephemeral(count: int = EPHEMERAL, seed: int = SEED + 1) -> list[Generated]:
    """Pods whose only change from the restricted base is one added, mutated ephemeral container."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        pod = copy.deepcopy(RESTRICTED_BASE)
        pod["metadata"]["name"] = "eph-target"
        ephemeral: dict[str, Any] = {
            "name": f"debug{index}",
            "image": "registry.k8s.io/pause",
            "targetContainerName": "app",
        }
        if rng.random() < 0.7:
            ephemeral["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
        # Mutate a scratch pod whose only container is the ephemeral one, then move it back.
        scratch: Pod = {"metadata": {}, "spec": {"containers": [ephemeral]}}
        applied: list[str] = []
        wanted = rng.choice((1, 2))
        while len(applied) < wanted:
            trial = copy.deepcopy(scratch)
            label = rng.choice(EPHEMERAL_MUTATIONS)(trial, rng)
            if label.startswith("containers[0]"):  # pod-level changes cannot go through the subresource
                scratch = trial
                applied.append(label.replace("containers[0]", "ephemeralContainers[0]"))
        ephemeral = scratch["spec"]["containers"][0]
        # Only the container's own fields can change through the subresource; pod-level ones stay.
        pod["spec"]["ephemeralContainers"] = [ephemeral]
        out.append(Generated(pod, "restricted-base", applied))
    return out


# --- the comparison --------------------------------------------------------------------------


def _namespace(level: str, version: str) -> str:
    return f"psa-diff-{level}-{version.replace('.', '-')}"


def _verdict(status: int, body: Any) -> bool | None:
    """True allowed, False denied by PodSecurity, None not admissible for another reason."""
    if status == 201 or status == 200:
        return True
    message = body.get("message", "") if isinstance(body, dict) else str(body)
    if status == 403 and "violates PodSecurity" in message:
        return False
    return None


@dataclass
class Tally:
    compared: Counter[str]
    allowed: Counter[str]
    denied: Counter[str]
    excluded: Counter[str]
    excluded_pods: set[int]
    reasons: Counter[str]
    controls: Counter[str]
    disagreements: list[str]


def _compare(generated: list[Generated], results: list[tuple[int, str, int, Any]]) -> Tally:
    tally = Tally(Counter(), Counter(), Counter(), Counter(), set(), Counter(), Counter(), [])
    cache: dict[int, K8sObject] = {}
    for index, namespace, status, body in results:
        level, version = next(p for p in POLICIES if _namespace(*p) == namespace)
        item = generated[index]
        server = _verdict(status, body)
        message = body.get("message", "") if isinstance(body, dict) else str(body)
        if server is None:
            tally.excluded[namespace] += 1
            tally.excluded_pods.add(index)
            tally.reasons[f"{status} {str(body.get('reason', '')) if isinstance(body, dict) else ''}"] += 1
            continue
        obj = cache.setdefault(index, K8sObject(item.pod, Provenance("generated")))
        ours = evaluate_pod_security(obj, level, version)
        tally.compared[namespace] += 1
        (tally.allowed if server else tally.denied)[namespace] += 1
        tally.controls.update(result.control for result in ours.violations)
        if ours.allowed != server:
            tally.disagreements.append(
                f"pod {index} ({item.base}; {'; '.join(item.mutations)}) in {level}:{version}: "
                f"server {'allowed' if server else 'denied: ' + message}; ours {'allowed' if ours.allowed else 'denied: ' + ours.message}"
            )
    return tally


def _report(title: str, generated: list[Generated], tally: Tally) -> str:
    lines = [
        f"\n{title}: {len(generated)} pods generated, {sum(tally.compared.values())} (pod, namespace) pairs compared, "
        f"{sum(tally.excluded.values())} pairs excluded ({len(tally.excluded_pods)} pods not admissible: "
        f"{dict(tally.reasons)}), {len(tally.disagreements)} disagreements"
    ]
    lines.append(f"  controls forbidding (ours, over compared pairs): {dict(sorted(tally.controls.items()))}")
    for level, version in POLICIES:
        ns = _namespace(level, version)
        lines.append(
            f"  {level + ':' + version:<18} compared {tally.compared[ns]:>5}  allowed {tally.allowed[ns]:>5}  "
            f"denied {tally.denied[ns]:>5}  excluded {tally.excluded[ns]:>4}"
        )
    return "\n".join(lines)


def _setup_namespaces(admin: ClusterSource) -> None:
    for level, version in POLICIES:
        admin.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": _namespace(level, version),
                    "labels": {
                        "pod-security.kubernetes.io/enforce": level,
                        "pod-security.kubernetes.io/enforce-version": version,
                    },
                },
            }
        )


def test_pod_security_admission_agrees_with_our_evaluator(admin: ClusterSource, psa_testdata: Path) -> None:
    generated = generate(psa_testdata)
    assert len(generated) >= 2000
    _setup_namespaces(admin)
    jobs = [(index, _namespace(*policy)) for index in range(len(generated)) for policy in POLICIES]

    def create(job: tuple[int, str]) -> tuple[int, str, int, Any]:
        index, namespace = job
        status, body = admin.request(
            "POST", f"/api/v1/namespaces/{namespace}/pods", [("dryRun", "All")], body=generated[index].pod
        )
        return index, namespace, status, body

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(create, jobs))
    tally = _compare(generated, results)
    print(_report("PodSecurity admission differential", generated, tally))
    # Every control was exercised both ways somewhere, or the comparison proves little.
    assert all(tally.allowed[_namespace(*p)] and tally.denied[_namespace(*p)] for p in POLICIES)
    assert {control.id for control in table().controls} <= set(tally.controls), tally.controls
    assert len(tally.excluded_pods) < MAX_EXCLUDED * len(generated), dict(tally.reasons)
    assert tally.disagreements == [], "\n".join(tally.disagreements[:20])


def test_ephemeral_containers_through_the_subresource(admin: ClusterSource) -> None:
    generated = generate_ephemeral()
    _setup_namespaces(admin)
    for level, version in POLICIES:
        namespace = _namespace(level, version)
        status, body = admin.request("GET", f"/api/v1/namespaces/{namespace}/pods/eph-target")
        if status == 404:
            # Really created (no kubelet runs, so it only sits in etcd): the subresource needs a pod.
            target = RESTRICTED_BASE | {"metadata": {"name": "eph-target"}}
            status, body = admin.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=target)
            assert status == 201, body

    def update(job: tuple[int, str]) -> tuple[int, str, int, Any]:
        index, namespace = job
        status, live = admin.request("GET", f"/api/v1/namespaces/{namespace}/pods/eph-target")
        assert status == 200, live
        pod = generated[index].pod
        live["spec"]["ephemeralContainers"] = pod["spec"]["ephemeralContainers"]
        status, body = admin.request(
            "PUT", f"/api/v1/namespaces/{namespace}/pods/eph-target/ephemeralcontainers", [("dryRun", "All")], body=live
        )
        return index, namespace, status, body

    jobs = [(index, _namespace(*policy)) for index in range(len(generated)) for policy in POLICIES]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(update, jobs))
    tally = _compare(generated, results)
    print(_report("PodSecurity admission differential, ephemeral containers", generated, tally))
    assert sum(tally.denied.values()) and sum(tally.allowed.values())
    assert len(tally.excluded_pods) < MAX_EXCLUDED * len(generated), dict(tally.reasons)
    assert tally.disagreements == [], "\n".join(tally.disagreements[:20])
