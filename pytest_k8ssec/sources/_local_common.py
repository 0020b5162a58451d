"""What the local control plane and its node share: child processes that die with pytest, and kubeconfigs."""

from __future__ import annotations

import base64
import signal
import sys
from typing import Any


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # PR_SET_PDEATHSIG: the kernel kills the component if pytest dies, even by SIGKILL, so no
    # etcd or apiserver outlives its run. Linux only; elsewhere teardown and atexit must do.
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)


def kubeconfig(server: str, ca_pem: bytes, users: dict[str, tuple[bytes, bytes]]) -> dict[str, Any]:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    names = list(users)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
        "users": [
            {"name": name, "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}
            for name, (cert, key) in users.items()
        ],
        "contexts": [{"name": name, "context": {"cluster": "local", "user": name}} for name in names],
        "current-context": names[0],
    }


#: Signals received while a plane or node starts (see ``interrupted``).
PENDING_SIGNALS: list[int] = []


def check_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` for a signal received during the start, even if its first raise was lost.

    The handler raises where the signal lands; when that is inside a ``__del__`` or a collector
    callback, Python prints "Exception ignored" and goes on, and a SIGTERM would be lost. The
    start calls this between its stages and while it waits, so the stop still happens.
    """
    if PENDING_SIGNALS:
        raise KeyboardInterrupt(f"signal {PENDING_SIGNALS[-1]}")
