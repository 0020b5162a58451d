"""sensitive-host-path.

No Pod Security Standard names host paths; the Baseline forbids every hostPath volume ("HostPath
volumes must be forbidden."). This check singles out the hostPath volumes that hand a container
the node itself, the way kubeaudit's ``mounts``, kube-linter's ``sensitive-host-mounts`` and
``docker-sock``, checkov's CKV_K8S_27 and Trivy's KSV006/KSV121 do, so a team that must allow some
hostPath volumes still gets a critical finding for these.

A volume matches when its host path, normalized (``.``, ``..``, repeated and trailing slashes), is
a sensitive path, lies under one, or is a directory that contains one (mounting ``/var`` exposes
``/var/run/docker.sock``). ``/`` itself matches only exactly, or everything would.

Deliberately not listed: ``/var/log``. Log shippers mount it by design, and what it gives is the
logs of the node's pods; the known escape through it (a symlink planted in ``/var/log/pods`` that
the kubelet follows when serving ``kubectl logs``) needs a writable mount plus log-reading RBAC.
host-path-volume still reports it at high severity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Evaluate, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.checks.host_path_volume import (
    allowed_directories,
    host_path_volumes,
    is_allowed,
    is_within,
    normalize_host_path,
    shown_path,
)
from pytest_k8ssec.model.objects import K8sObject

_RUNTIME_STATE = "runtime state and sockets (containerd, CRI-O, Docker, systemd, D-Bus): whoever drives one of them is root on the node"
_CONTAINERD = "the containerd socket and state: start or enter any container, so root on the node"
_CRIO = "the CRI-O socket and state: start or enter any container, so root on the node"
_DOCKER = "the Docker daemon socket: start a privileged container, so root on the node"
_CRI_DOCKERD = "the cri-dockerd socket: start or enter any container, so root on the node"
_BINARIES = "host programs and libraries: replacing one runs the attacker's code as root on the node"
_RUNTIME_STORAGE = (
    "every container's image layers and writable filesystem on the node: read their data or plant code in them"
)

# Sensitive host path -> what an attacker who mounts it gains. Entries under another entry are
# there for a more precise reason in the message; the most specific entry that matches wins.
SENSITIVE_HOST_PATHS: Final[dict[str, str]] = {
    "/": "the whole host filesystem: every credential, socket and program of the node",
    "/bin": _BINARIES,
    "/boot": "the kernel and boot loader: tampering survives reboots and controls the host kernel",
    "/dev": "the host's device nodes: raw disks and memory, past every file permission",
    "/etc": "host configuration (shadow, sudoers, cron, systemd units): writing it is root on the node",
    "/etc/kubernetes": "kubelet and control-plane kubeconfigs, PKI and static pod manifests: cluster-admin credentials or a pod of the attacker's choice on the node",
    "/home": "users' home directories: SSH keys and cloud or cluster credentials",
    "/lib": _BINARIES,
    "/lib64": _BINARIES,
    "/opt/cni": "CNI plugin binaries, run as root for every pod on the node: replacing one is root on the node",
    "/proc": "host procfs: other processes' memory, environment and root filesystems, and kernel knobs such as core_pattern (code execution on the host)",
    "/root": "root's home directory: the node administrator's SSH keys, kubeconfig and cloud credentials",
    "/run": _RUNTIME_STATE,
    "/run/containerd": _CONTAINERD,
    "/run/crio": _CRIO,
    "/run/cri-dockerd.sock": _CRI_DOCKERD,
    "/run/docker.sock": _DOCKER,
    "/sbin": _BINARIES,
    "/sys": "host sysfs: kernel, cgroup (the release_agent escape) and device controls",
    "/usr": _BINARIES,
    "/var/lib/containerd": _RUNTIME_STORAGE,
    "/var/lib/containers": _RUNTIME_STORAGE,
    "/var/lib/docker": _RUNTIME_STORAGE,
    "/var/lib/etcd": "etcd's data on a control-plane node: every Secret of the cluster",
    "/var/lib/kubelet": "every pod's volumes on the node, including Secrets and ServiceAccount tokens, and the kubelet's credentials",
    # /var/run is a symlink to /run on current distributions; a hostPath names whichever spelling.
    "/var/run": _RUNTIME_STATE,
    "/var/run/containerd": _CONTAINERD,
    "/var/run/crio": _CRIO,
    "/var/run/cri-dockerd.sock": _CRI_DOCKERD,
    "/var/run/docker.sock": _DOCKER,
}


def _enclosing(path: str) -> str | None:
    """The most specific sensitive path that ``path`` is, or lies under."""
    best: str | None = None
    for sensitive in SENSITIVE_HOST_PATHS:
        # "/" encloses every path; it counts only when mounted itself.
        matched = path == "/" if sensitive == "/" else is_within(path, sensitive)
        if matched and (best is None or len(sensitive) > len(best)):
            best = sensitive
    return best


def _contained(path: str) -> list[str]:
    """The outermost sensitive paths below directory ``path`` (``/var`` holds ``/var/run``, ...)."""
    below = [s for s in SENSITIVE_HOST_PATHS if s != path and is_within(s, path)]
    return sorted(s for s in below if not any(o != s and is_within(s, o) for o in below))


def _why(path: str) -> str | None:
    enclosing = _enclosing(path)
    if enclosing == path:
        return SENSITIVE_HOST_PATHS[path]
    if enclosing is not None:
        return f"under {enclosing} ({SENSITIVE_HOST_PATHS[enclosing]})"
    contained = _contained(path)
    if contained:
        return "contains " + ", ".join(contained)
    return None


def _make_evaluate(allowed: tuple[str, ...]) -> Evaluate:
    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        for field_path, name, path in host_path_volumes(obj):
            if path is None:
                continue  # no usable path: host-path-volume and malformed-object report it
            if is_allowed(path, allowed):
                continue  # the caller allowed it explicitly
            # Where a relative path lands depends on the runtime; reading it from / errs on the
            # side of reporting.
            normalized = normalize_host_path(path if path.startswith("/") else "/" + path)
            why = _why(normalized)
            if why is None:
                continue
            yield Violation(field_path, f'volume "{name}" mounts sensitive host path {shown_path(path, True)}: {why}')

    return evaluate


CHECK = Check(
    id="sensitive-host-path",
    title="Sensitive host path mounted",
    summary="Pods must not mount the node's root, system directories, kubelet or runtime state, or container runtime sockets.",
    remediation="Remove the hostPath volume; if a node agent truly needs it, run that agent as a reviewed exception with a waiver.",
    category=Category.HOST,
    severity=Severity.CRITICAL,
    evaluate=_make_evaluate(()),
    controls=(
        "PSS-baseline-hostpath-volumes",
        "CIS-5.2.11",
        "NSA-pod-security-enforcement",
        "MITRE-T1611",
        "MITRE-T1612",
    ),
    references=(
        "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    ),
)


def configure(allowed: Iterable[str]) -> Check:
    """``sensitive-host-path`` that does not report volumes on (or under) the ``allowed`` host paths.

    Allowing a sensitive path is an explicit decision (a log shipper's ``/var/log``, a node
    agent's ``/proc``); the same normalization as host-path-volume's ``configure`` applies, so
    ``/var/log/../../etc`` is still ``/etc``. Allowing ``/var/lib/kubelet/pods`` does not allow
    mounting ``/var/lib/kubelet``: only the allowed directory and what lies under it.
    """
    return _configured(allowed_directories(allowed))


@one_variant_per_argument
def _configured(directories: tuple[str, ...]) -> Check:
    return dataclasses.replace(CHECK, evaluate=_make_evaluate(directories))
