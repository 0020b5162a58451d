"""Which process owns something left on disk, and whether it still runs (Linux /proc; elsewhere by PID only)."""

from __future__ import annotations

import os
from pathlib import Path


def owner(pid: int) -> str:
    """``pid start-time``: a PID alone could be reused by an unrelated process."""
    return f"{pid} {_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        # Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces).
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def alive(owner: str) -> bool:
    pid_text, _, started = owner.partition(" ")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return not started or _start_time(pid) in ("", started)
