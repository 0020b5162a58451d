"""Assertions about a running container, seen from inside it through any testinfra ``Host``.

They complement the manifest checks with what only the running process shows (the user the image
really runs as, whether the root filesystem really is read-only, what tools the image ships).
``k8s_pod_host`` gives a Host inside a pod; the same helpers work on any testinfra backend.

Every helper here is named ``assert_in_pod_...``: the object helpers judge manifests
(``assert_runs_as_non_root(objs)``), these judge a running container (``assert_in_pod_runs_as_non_root(host)``),
and the two must not be mistaken for each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from pytest_k8ssec._deprecation import keyword_only, renamed
from pytest_k8ssec.asserts._failure import _check, _fail, _record_pass
from pytest_k8ssec.checks._check import Check

PACKAGE_MANAGERS: Final = ("apt", "apt-get", "dpkg", "apk", "yum", "dnf", "microdnf", "rpm", "zypper", "pip", "pip3")
SHELLS: Final = ("bash", "zsh", "ash", "dash", "ksh", "csh", "tcsh", "fish")

ROOT_PROCESS_CHECK: Final = _check("in-pod-process-root")
WRITABLE_ROOT_CHECK: Final = _check("in-pod-root-filesystem-writable")
PACKAGE_MANAGER_CHECK: Final = _check("in-pod-package-manager-present")
SHELL_CHECK: Final = _check("in-pod-shell-present")


def _where(host: Any) -> str:
    backend = getattr(host, "backend", None)
    name = getattr(backend, "name", None) or getattr(backend, "NAME", "host")
    container = getattr(backend, "container", None)
    namespace = getattr(backend, "namespace", None)
    parts = [f"{namespace}/{name}" if namespace else str(name)]
    if container:
        parts.append(f'container "{container}"')
    return " ".join(parts)


@keyword_only("pid")
def assert_in_pod_runs_as_non_root(host: Any, *, pid: int = 1) -> None:
    """Assert the container's main process (PID 1, or ``pid``) runs with a non-zero real and effective UID."""
    __tracebackhide__ = True
    status = host.file(f"/proc/{pid}/status")
    if not status.exists:
        return _fail(
            f"{_where(host)}: /proc/{pid}/status is not readable; cannot tell the user", ROOT_PROCESS_CHECK, error=True
        )
    uids = next((line.split()[1:3] for line in status.content_string.splitlines() if line.startswith("Uid:")), None)
    if not uids:
        return _fail(f"{_where(host)}: /proc/{pid}/status has no Uid line", ROOT_PROCESS_CHECK, error=True)
    if "0" in uids:
        return _fail(
            f"{_where(host)}: process {pid} runs as root (real/effective UID {uids[0]}/{uids[1]})",
            ROOT_PROCESS_CHECK,
            [
                "  fix: set securityContext.runAsNonRoot: true and a non-zero runAsUser, or a non-root USER in the image."
            ],
        )
    _record_pass(f"{_where(host)}: process {pid} not root", ROOT_PROCESS_CHECK)


def assert_in_pod_read_only_root_filesystem(host: Any) -> None:
    """Assert ``/`` is mounted read-only inside the container."""
    __tracebackhide__ = True
    options = host.mount_point("/").options
    if "ro" not in options:
        return _fail(
            f"{_where(host)}: / is mounted {','.join(options)} (not ro)",
            WRITABLE_ROOT_CHECK,
            [
                "  fix: set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the app writes."
            ],
        )
    _record_pass(f"{_where(host)}: / read-only", WRITABLE_ROOT_CHECK)


@keyword_only("tools")
def assert_in_pod_no_package_manager(host: Any, *, tools: Iterable[str] = PACKAGE_MANAGERS) -> None:
    """Assert the image ships none of the package managers ``tools`` (an attacker's way to install tools)."""
    __tracebackhide__ = True
    _assert_absent(
        host,
        tools,
        PACKAGE_MANAGER_CHECK,
        "package manager",
        "build from a minimal or distroless base image, or remove the package manager in the last stage.",
    )


@keyword_only("shells")
def assert_in_pod_no_shell(host: Any, *, shells: Iterable[str] = SHELLS) -> None:
    """Assert the image ships none of the interactive ``shells`` (beyond the ``/bin/sh`` the exec backend needs)."""
    __tracebackhide__ = True
    _assert_absent(
        host, shells, SHELL_CHECK, "shell", "build from a distroless base image (then test from outside the container)."
    )


def _assert_absent(host: Any, names: Iterable[str], check: Check, what: str, fix: str) -> None:
    __tracebackhide__ = True
    found = [f"{name} ({path})" for name in names if (path := _which(host, name))]
    if found:
        return _fail(f"{_where(host)}: {what}s present: {', '.join(found)}", check, [f"  fix: {fix}"])
    _record_pass(f"{_where(host)}: no {what}", check)


def _which(host: Any, name: str) -> str | None:
    result = host.run("command -v %s", name)
    return str(result.stdout).strip() or None if result.rc == 0 else None


# The names before 0.2.0 read like object helpers (assert_root_filesystem_read_only(host) beside
# assert_read_only_root_filesystem(objs)); they work until 0.3.0 with a warning.
assert_main_process_not_root = renamed("assert_main_process_not_root", assert_in_pod_runs_as_non_root)
assert_root_filesystem_read_only = renamed("assert_root_filesystem_read_only", assert_in_pod_read_only_root_filesystem)
assert_no_package_manager = renamed("assert_no_package_manager", assert_in_pod_no_package_manager)
assert_no_shell = renamed("assert_no_shell", assert_in_pod_no_shell)
