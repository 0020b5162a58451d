"""Which process owns something left on disk, and whether it still runs (Linux /proc; elsewhere by PID only)."""

from __future__ import annotations

import os
from pathlib import Path


def owner(pid: int) -> str:
    """``pid start-time``: a PID alone could be reused by an unrelated process."""
    return f"{pid} {_start_time(pid)}"


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which may hold spaces); [] if unreadable."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> str:
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""  # field 22: the start time


def alive(owner: str) -> bool:
    pid_text, _, started = owner.partition(" ")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # someone else's process: alive
    fields = _stat(pid)
    if fields[:1] == ["Z"]:
        return False  # dead, only not yet reaped by its parent
    return not started or (fields[19] if len(fields) > 19 else "") in ("", started)
