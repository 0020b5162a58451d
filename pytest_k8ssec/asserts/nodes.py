"""Assertions about control-plane and node machines (CIS sections 1-4), through a testinfra host.

``k8s_node_host`` gives the hosts of ``--k8s-hosts`` (``local://``, ``ssh://``, ``docker://``,
``kubectl://`` of a privileged debug pod); these helpers take one of those, or any testinfra
``Host`` with ``root=`` the folder that stands for ``/`` (a mounted node image, a test's
temporary directory). Processes are read from ``/proc/<pid>/cmdline`` (NUL-separated, so an
argument with spaces stays one argument); files through ``host.file(path)``.

The verdicts are the registry's: ``assert_component_flags`` runs the rules of the
``*-flag-insecure`` checks (``checks/_components.py``) on the running processes, the kubelet's
with its ``--config`` file read from the host; ``assert_node_files`` runs the file rules
(``model/node_files.py``). Both fail closed: no process of the component, or none of the files,
is an error, never a pass.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from pytest_k8ssec.asserts._failure import _check, _fail, _record_pass
from pytest_k8ssec.checks._components import Settings, judge
from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.components import APISERVER, CONTROLLER_MANAGER, ETCD, KUBELET, SCHEDULER, parse
from pytest_k8ssec.model.node_files import FileFacts, FileResult, judge_files

#: The registry check whose rules judge each component.
COMPONENT_CHECKS: Final[Mapping[str, str]] = {
    APISERVER: "apiserver-flag-insecure",
    CONTROLLER_MANAGER: "controller-manager-flag-insecure",
    SCHEDULER: "scheduler-flag-insecure",
    ETCD: "etcd-flag-insecure",
    KUBELET: "kubelet-config-insecure",
}
FILE_CHECK: Final = "node-file-insecure"

# One command lists every process's argv: pid, a tab, then the NUL-separated cmdline with NULs as
# \x1f (unit separator), which no flag holds.
_LIST_PROCESSES: Final = (
    "cd /proc && for p in [0-9]*; do "
    '[ -r "$p/cmdline" ] || continue; '
    "printf '%s\\t' \"$p\"; tr '\\000' '\\037' < \"$p/cmdline\" 2>/dev/null; echo; done"
)


@dataclass(frozen=True)
class NodeHost:
    """A node or control-plane machine: its testinfra ``host``, the spec it came from and the
    folder that stands for ``/`` (``"/"`` on a real machine)."""

    spec: str
    host: Any
    root: str = "/"

    def path(self, node_path: str) -> str:
        """Where ``node_path`` (``/etc/kubernetes/admin.conf``) is read on the host."""
        return _rooted(self.root, node_path)


@dataclass(frozen=True)
class ComponentProcess:
    """A running control-plane or node component: pid, component name, argv, environment (when readable)."""

    pid: int
    component: str
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None


def _rooted(root: str, node_path: str) -> str:
    return posixpath.join(root, node_path.lstrip("/")) if root not in ("", "/") else node_path


def _unwrap(host: Any, root: str | None) -> tuple[Any, str, str]:
    if isinstance(host, NodeHost):
        return host.host, root if root is not None else host.root, host.spec
    backend = getattr(host, "backend", None)
    name = getattr(backend, "hostname", None) or getattr(backend, "NAME", "host")
    return host, root if root is not None else "/", str(name)


def component_processes(node: Any, component: str | None = None) -> list[ComponentProcess]:
    """The host's running components (only ``component``'s when given), by ``/proc/<pid>/cmdline``.

    Raises ``K8sSecError`` when the host cannot list its processes (never an empty list).

    etcd's environment is read too (``/proc/<pid>/environ``, readable as root or as its user): etcd
    reads unset flags from ``ETCD_*`` variables. Processes are the host's own whatever ``root``.
    """
    machine, _, where = _unwrap(node, None)
    result = machine.run(_LIST_PROCESSES)
    if result.rc != 0 and not result.stdout:
        raise K8sSecError(f"{where}: cannot list processes: {str(result.stderr).strip()}")
    found = []
    for line in str(result.stdout).splitlines():
        pid_text, _, cmdline = line.partition("\t")
        argv = tuple(arg for arg in cmdline.rstrip("\x1f").split("\x1f")) if cmdline else ()
        parsed = parse(argv)
        if not pid_text.isdigit() or parsed is None:
            continue
        if component is not None and parsed.component != component:
            continue
        env = _environ(machine, int(pid_text)) if parsed.component == ETCD else None
        found.append(ComponentProcess(int(pid_text), parsed.component, argv, env))
    return found


def _environ(machine: Any, pid: int) -> Mapping[str, str] | None:
    result = machine.run("tr '\\000' '\\n' < /proc/%s/environ", str(pid))
    if result.rc != 0:
        return None
    pairs = (line.partition("=") for line in str(result.stdout).splitlines())
    return {key: value for key, sep, value in pairs if sep}


def process_settings(node: Any, process: ComponentProcess, *, root: str | None = None) -> Settings:
    """The settings a process runs with: its flags and, for the kubelet, its ``--config`` file read from the host."""
    machine, root, where = _unwrap(node, root)
    command = parse(process.argv, process.env)
    if process.component != KUBELET or command is None:
        return Settings(process.component, command)
    config_flag = command.get("config")
    if config_flag is None or not config_flag.value:
        return Settings(KUBELET, command)
    node_path = config_flag.value
    file = machine.file(_rooted(root, node_path))
    if not file.exists:
        return Settings(KUBELET, command, problems=(f"{where}: kubelet --config {node_path} does not exist",))
    try:
        config = yaml.safe_load(file.content_string)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return Settings(KUBELET, command, problems=(f"{where}: kubelet --config {node_path} is not YAML: {exc}",))
    except Exception as exc:  # testinfra raises its own errors for unreadable files
        return Settings(KUBELET, command, problems=(f"{where}: cannot read kubelet --config {node_path}: {exc}",))
    if not isinstance(config, dict):
        return Settings(KUBELET, command, problems=(f"{where}: kubelet --config {node_path} is not a mapping",))
    return Settings(KUBELET, command, config, node_path)


def assert_component_flags(
    node: Any,
    *,
    component: str,
    controls: Iterable[str] | None = None,
    root: str | None = None,
    pids: Iterable[int] | None = None,
) -> None:
    """Assert every running ``component`` process on the ``node`` (a ``NodeHost`` or testinfra host) follows its CIS rules (``controls`` only, when given).

    ``component`` is ``kube-apiserver``, ``kube-controller-manager``, ``kube-scheduler``, ``etcd``
    or ``kubelet``; ``pids`` narrows to those processes. No such process is an error (fail closed).
    """
    __tracebackhide__ = True
    if component not in COMPONENT_CHECKS:
        raise ValueError(f"unknown component {component!r}; one of {', '.join(COMPONENT_CHECKS)}")
    check = _check(COMPONENT_CHECKS[component])
    _, _, where = _unwrap(node, root)
    wanted = None if pids is None else set(pids)
    processes = [p for p in component_processes(node, component) if wanted is None or p.pid in wanted]
    if not processes:
        return _fail(f"{where}: no {component} process runs, so none was judged", check, error=True)
    chosen = None if controls is None else list(controls)
    lines: list[str] = []
    missed: list[str] = []
    for process in processes:
        for finding in judge(process_settings(node, process, root=root), chosen):
            lines.append(f"  - {component} pid {process.pid}: {finding.item}: {finding.message}")
            lines.append(f"    fix: {finding.fix}")
            if finding.control:
                missed.append(finding.control)
    scope = f" ({', '.join(chosen)})" if chosen is not None else ""
    if lines:
        return _fail(
            f"{where}: {component} flags miss the CIS Benchmark{scope}",
            check,
            lines,
            objects=len(processes),
            controls=_in_order(missed, check.finding_controls),
        )
    _record_pass(f"{where}: {component} flags{scope}", check, len(processes))


class _HostFiles:
    """A testinfra host's files under ``root``, read as the node's paths."""

    def __init__(self, machine: Any, root: str) -> None:
        self._machine, self._root = machine, root

    def facts(self, path: str) -> FileFacts | None:
        file = self._machine.file(_rooted(self._root, path))
        if not file.exists:
            return None
        return FileFacts(path, bool(file.is_directory), int(file.mode), str(file.user), str(file.group))

    def listdir(self, path: str) -> list[str]:
        file = self._machine.file(_rooted(self._root, path))
        return [str(name) for name in file.listdir()] if file.is_directory else []


def node_files(
    node: Any,
    *,
    controls: Iterable[str] | None = None,
    root: str | None = None,
    paths: Mapping[str, str | Sequence[str]] | None = None,
) -> FileResult:
    """The file rules' verdict on the host (no assertion): findings, files judged, paths absent."""
    machine, root, _ = _unwrap(node, root)
    return judge_files(_HostFiles(machine, root), paths=paths, controls=controls)


def assert_node_files(
    node: Any,
    *,
    controls: Iterable[str] | None = None,
    root: str | None = None,
    paths: Mapping[str, str | Sequence[str]] | None = None,
) -> None:
    """Assert the node's files have the modes and owners of CIS 1.1 and 4.1 (``controls`` only, when given).

    ``paths`` replaces kubeadm's default paths by name (``{"etcd-data-dir": "/data/etcd"}``; the
    names are ``model.node_files.DEFAULT_PATHS``'s). An absent file is not a finding (the item
    does not apply there), but when none of the files exists the helper errors: nothing was judged.
    """
    __tracebackhide__ = True
    check = _check(FILE_CHECK)
    _, root_used, where = _unwrap(node, root)
    result = node_files(node, controls=controls, root=root, paths=paths)
    judged = sum(len(files) for files in result.judged.values())
    scope = f" ({', '.join(sorted(result.judged))})" if controls is not None else ""
    if not judged:
        looked = sorted({path for paths_ in result.absent.values() for path in paths_})
        under = f" under {root_used}" if root_used not in ("", "/") else ""
        return _fail(
            f"{where}: none of the files{scope} exists{under}, so none was judged: {', '.join(looked)}",
            check,
            error=True,
        )
    if result.findings:
        lines = [line for f in result.findings for line in (f"  - {f.message}", f"    fix: {f.fix}")]
        missed = _in_order([f.control for f in result.findings], check.finding_controls)
        return _fail(
            f"{where}: node files miss the CIS Benchmark{scope}", check, lines, objects=judged, controls=missed
        )
    _record_pass(f"{where}: node files{scope}", check, judged)


def _in_order(missed: Iterable[str], controls: Sequence[str]) -> tuple[str, ...]:
    # The items a failure missed, each once, in the benchmark's order (the check's list).
    found = set(missed)
    return tuple(control for control in controls if control in found)


__all__ = (
    "ComponentProcess",
    "NodeHost",
    "assert_component_flags",
    "assert_node_files",
    "component_processes",
    "node_files",
    "process_settings",
)
