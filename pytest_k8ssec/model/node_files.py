"""CIS Kubernetes Benchmark v1.12 sections 1.1 and 4.1: permissions and owners of node files.

Pure: no pytest, no I/O. The files are read through a ``FileReader`` (the assertion helpers adapt
a testinfra host to it, with a root prefix so a temporary directory can stand for ``/``). Paths are
kubeadm's (as kube-bench's ``cfg/cis-1.12/config.yaml`` has them), each replaceable by name
(``paths={"etcd-data-dir": "/data/etcd"}``); the helpers fill the ones a running component names
(etcd's ``--data-dir``, the kubelet's ``--config`` and ``--kubeconfig``).

"600 or more restrictive" means no permission bit outside 0600 (setuid, setgid and sticky bits
count as outside). A file that is absent is not a finding: the item does not apply on that node
(kube-bench's "if the file exists"); the result lists it, so a caller can fail closed when nothing
at all was found.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the rules read of one path on the node."""

    path: str
    is_directory: bool
    mode: int
    user: str
    group: str


class FileReader(Protocol):
    """Reads a node's files by their path on the node (``/etc/kubernetes/admin.conf``)."""

    def facts(self, path: str) -> FileFacts | None:
        """The file's facts, or None when it does not exist."""
        ...

    def listdir(self, path: str) -> list[str]:
        """The names in a directory (empty when it is not one)."""
        ...


#: Named node paths the rules use, kubeadm's defaults.
DEFAULT_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "apiserver-manifest": ("/etc/kubernetes/manifests/kube-apiserver.yaml",),
    "controller-manager-manifest": ("/etc/kubernetes/manifests/kube-controller-manager.yaml",),
    "scheduler-manifest": ("/etc/kubernetes/manifests/kube-scheduler.yaml",),
    "etcd-manifest": ("/etc/kubernetes/manifests/etcd.yaml",),
    "cni-conf-dir": ("/etc/cni/net.d",),
    "etcd-data-dir": ("/var/lib/etcd",),
    "admin-kubeconfig": ("/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"),
    "scheduler-kubeconfig": ("/etc/kubernetes/scheduler.conf",),
    "controller-manager-kubeconfig": ("/etc/kubernetes/controller-manager.conf",),
    "pki-dir": ("/etc/kubernetes/pki",),
    "kubelet-service": (
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "/etc/systemd/system/kubelet.service",
        "/lib/systemd/system/kubelet.service",
        "/usr/lib/systemd/system/kubelet.service",
    ),
    "proxy-kubeconfig": ("/etc/kubernetes/proxy.conf", "/var/lib/kube-proxy/kubeconfig.conf"),
    "kubelet-kubeconfig": ("/etc/kubernetes/kubelet.conf",),
    "kubelet-client-ca": ("/etc/kubernetes/pki/ca.crt",),
    "kubelet-config": ("/var/lib/kubelet/config.yaml",),
}


@dataclass(frozen=True)
class FileRule:
    """One CIS item: the files (by path name), the widest mode allowed or the owner required.

    ``scope`` is ``"path"`` (the path itself), ``"children"`` (the entries of a directory) or
    ``"tree"`` (a directory and everything under it); ``pattern`` narrows the files judged
    (``*.key``).
    """

    control: str
    what: str
    paths: str
    max_mode: int | None = None
    owner: tuple[str, str] | None = None
    scope: str = "path"
    pattern: str = "*"


def _pair(
    mode_item: str, owner_item: str, what: str, paths: str, mode: int, scope: str = "path"
) -> tuple[FileRule, FileRule]:
    # Most items come in twos: the widest mode, then root:root ownership, of the same files.
    return (
        FileRule(f"CIS-{mode_item}", what, paths, max_mode=mode, scope=scope),
        FileRule(f"CIS-{owner_item}", what, paths, owner=("root", "root"), scope=scope),
    )


FILE_RULES: Final[tuple[FileRule, ...]] = (
    *_pair("1.1.1", "1.1.2", "API server pod specification file", "apiserver-manifest", 0o600),
    *_pair("1.1.3", "1.1.4", "controller manager pod specification file", "controller-manager-manifest", 0o600),
    *_pair("1.1.5", "1.1.6", "scheduler pod specification file", "scheduler-manifest", 0o600),
    *_pair("1.1.7", "1.1.8", "etcd pod specification file", "etcd-manifest", 0o600),
    *_pair("1.1.9", "1.1.10", "Container Network Interface file", "cni-conf-dir", 0o600, scope="children"),
    FileRule("CIS-1.1.11", "etcd data directory", "etcd-data-dir", max_mode=0o700),
    FileRule("CIS-1.1.12", "etcd data directory", "etcd-data-dir", owner=("etcd", "etcd")),
    *_pair("1.1.13", "1.1.14", "default administrative credential file", "admin-kubeconfig", 0o600),
    *_pair("1.1.15", "1.1.16", "scheduler.conf file", "scheduler-kubeconfig", 0o600),
    *_pair("1.1.17", "1.1.18", "controller-manager.conf file", "controller-manager-kubeconfig", 0o600),
    FileRule("CIS-1.1.19", "Kubernetes PKI directory and file", "pki-dir", owner=("root", "root"), scope="tree"),
    FileRule("CIS-1.1.20", "Kubernetes PKI certificate file", "pki-dir", max_mode=0o644, scope="tree", pattern="*.crt"),
    FileRule("CIS-1.1.21", "Kubernetes PKI key file", "pki-dir", max_mode=0o600, scope="tree", pattern="*.key"),
    *_pair("4.1.1", "4.1.2", "kubelet service file", "kubelet-service", 0o600),
    *_pair("4.1.3", "4.1.4", "proxy kubeconfig file", "proxy-kubeconfig", 0o600),
    *_pair("4.1.5", "4.1.6", "kubelet kubeconfig file", "kubelet-kubeconfig", 0o600),
    *_pair("4.1.7", "4.1.8", "certificate authorities file", "kubelet-client-ca", 0o644),
    *_pair("4.1.9", "4.1.10", "kubelet config.yaml configuration file", "kubelet-config", 0o600),
)


@dataclass(frozen=True, slots=True)
class FileFinding:
    """One file that misses an item: the control, the node path, what is wrong and the fix."""

    control: str
    path: str
    message: str
    fix: str


@dataclass(frozen=True)
class FileResult:
    """The verdict of the rules: findings, the files judged, the paths looked for and absent."""

    findings: list[FileFinding] = field(default_factory=list)
    judged: dict[str, list[str]] = field(default_factory=dict)
    absent: dict[str, list[str]] = field(default_factory=dict)


def _targets(reader: FileReader, rule: FileRule, path: str) -> list[FileFacts]:
    top = reader.facts(path)
    if top is None:
        return []
    if rule.scope == "path":
        return [top]
    found: list[FileFacts] = [top] if rule.scope == "tree" and rule.pattern == "*" else []
    pending = [path] if top.is_directory else []
    while pending:
        folder = pending.pop()
        for name in sorted(reader.listdir(folder)):
            child = reader.facts(f"{folder.rstrip('/')}/{name}")
            if child is None:
                continue
            if fnmatch.fnmatchcase(name, rule.pattern):
                found.append(child)
            if rule.scope == "tree" and child.is_directory:
                pending.append(child.path)
    return found


def judge_files(
    reader: FileReader,
    *,
    paths: Mapping[str, str | Sequence[str]] | None = None,
    controls: Iterable[str] | None = None,
    rules: Sequence[FileRule] = FILE_RULES,
) -> FileResult:
    """Judge the node's files against ``rules`` (those of ``controls`` when given)."""
    wanted = None if controls is None else set(controls)
    chosen = {**DEFAULT_PATHS}
    for name, value in (paths or {}).items():
        chosen[name] = (value,) if isinstance(value, str) else tuple(value)
    result = FileResult()
    for rule in rules:
        if wanted is not None and rule.control not in wanted:
            continue
        judged = result.judged.setdefault(rule.control, [])
        for path in chosen[rule.paths]:
            targets = _targets(reader, rule, path)
            if not targets:
                result.absent.setdefault(rule.control, []).append(path)
            for facts in targets:
                judged.append(facts.path)
                finding = _judge(rule, facts)
                if finding is not None:
                    result.findings.append(finding)
    return result


def _judge(rule: FileRule, facts: FileFacts) -> FileFinding | None:
    item = rule.control.replace("CIS-", "CIS ")
    if rule.max_mode is not None:
        extra = facts.mode & 0o7777 & ~rule.max_mode
        if extra:
            return FileFinding(
                rule.control,
                facts.path,
                f"{item}: {rule.what} {facts.path} has mode {facts.mode & 0o7777:04o}, "
                f"wider than {rule.max_mode:04o} (extra bits {extra:04o})",
                f"chmod {'-R ' if facts.is_directory and rule.scope == 'tree' else ''}{rule.max_mode:o} {facts.path}",
            )
    if rule.owner is not None and (facts.user, facts.group) != rule.owner:
        owner = ":".join(rule.owner)
        return FileFinding(
            rule.control,
            facts.path,
            f"{item}: {rule.what} {facts.path} is owned by {facts.user}:{facts.group}, not {owner}",
            f"chown {owner} {facts.path}",
        )
    return None


def file_controls() -> tuple[str, ...]:
    """The CIS ids the file rules implement, in benchmark order."""
    return tuple(rule.control for rule in FILE_RULES)


__all__ = (
    "DEFAULT_PATHS",
    "FILE_RULES",
    "FileFacts",
    "FileFinding",
    "FileReader",
    "FileResult",
    "FileRule",
    "file_controls",
    "judge_files",
)
