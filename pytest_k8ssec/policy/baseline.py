"""Baselines: today's findings recorded, so that a brownfield project fails only on new ones.

A fingerprint names the object (target, API group, kind, namespace, name), the check and the
field path, never a file or line: reformatting a manifest or moving it keeps its findings known.
A container is named rather than counted (``containers[name=app]``), so reordering containers
keeps them known too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_k8ssec.policy.gate import Subject

_CONTAINER_INDEX = re.compile(r"((?:initC|ephemeralC|c)ontainers)\[\d+\]")


# stable_path's answers: every finding's fingerprint asks, and the same few field paths and
# container names recur across thousands of workloads. Bounded: both are free text in manifests.
_STABLE: dict[tuple[str, str], str] = {}
_STABLE_KEPT = 4096


def stable_path(path: str, container: str | None) -> str:
    """``path`` with the container's list index replaced by its name (the first such index)."""
    if container is None:
        return path
    key = (path, container)
    found = _STABLE.get(key)
    if found is None:
        found = _CONTAINER_INDEX.sub(lambda m: f"{m.group(1)}[name={container}]", path, count=1)
        if len(_STABLE) >= _STABLE_KEPT:
            _STABLE.clear()
        _STABLE[key] = found
    return found


def fingerprint(subject: Subject) -> str:
    """A short stable hash of what the finding is about."""
    parts = (
        subject.target,
        subject.group,
        subject.kind,
        subject.namespace or "",
        subject.name,
        subject.check,
        stable_path(subject.path, subject.container),
        subject.container or "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class Baseline:
    """The fingerprints a baseline file recorded."""

    def __init__(self, fingerprints: Iterable[str] = ()) -> None:
        self.fingerprints = frozenset(fingerprints)

    def __contains__(self, fingerprint: str) -> bool:
        return fingerprint in self.fingerprints

    def __len__(self) -> int:
        return len(self.fingerprints)
