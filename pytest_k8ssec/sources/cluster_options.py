"""Options for live clusters, apart from ``sources/cluster.py`` so that reading them does not
import the kubernetes client (about a second of start-up that a manifest-only run never needs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_PAGE_SIZE: Final = 500
DEFAULT_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True)
class ClusterOptions:
    """How to talk to clusters: kubeconfig, timeouts, page size, namespace filters."""

    kubeconfig: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    page_size: int = DEFAULT_PAGE_SIZE
    namespaces: tuple[str, ...] = ()
    exclude_namespaces: tuple[str, ...] = ()
