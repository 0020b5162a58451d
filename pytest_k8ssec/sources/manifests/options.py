"""What a load is asked and what it gives back, shared by every stage: options, results, the
errors of sources that could not be read, and the one rule for a fault (collect it or raise it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.objects import K8sObject

DEFAULT_MAX_BYTES = 64 * 1024 * 1024

NonK8sPolicy = Literal["warn", "error", "ignore"]


@dataclass(frozen=True)
class LoadOptions:
    """How to load: size limit, what to do with non-Kubernetes YAML, pre-read stdin."""

    max_bytes: int = DEFAULT_MAX_BYTES
    non_k8s: NonK8sPolicy = "warn"
    stdin: bytes | None = None
    # Where parsed documents are kept between runs, keyed by content (None: no cache).
    cache_dir: str | None = None
    # Globs of paths that directory scans and patterns leave out (see _Exclusions), and the
    # folder relative paths were resolved against when paths come from an ini file.
    exclude: tuple[str, ...] = ()
    exclude_base: str | None = None
    # The release name `helm template` renders charts as (None: derived from the chart's folder).
    helm_release: str | None = None
    # False: the first unreadable source raises. True: every source that cannot be read becomes a
    # SourceError in the result and the rest still loads (the plugin fails the run on each).
    collect_errors: bool = False


@dataclass(frozen=True)
class SourceError:
    """A source (file, folder, chart, kustomization, stdin) that could not be read, or a document in
    it that is not a valid object. ``message`` names the file, the line where known, and the cause."""

    source: str
    message: str


@dataclass
class LoadResult:
    """Objects in load order, notes about documents skipped as non-Kubernetes YAML, the sources
    that could not be read (collect mode), and the paths left out by exclude patterns."""

    objects: list[K8sObject] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    # (path, pattern that excluded it), in scan order.
    excluded: list[tuple[str, str]] = field(default_factory=list)


def _failed(errors: list[SourceError], source: str, exc: ManifestError, options: LoadOptions) -> None:
    if not options.collect_errors:
        raise exc
    errors.append(SourceError(source, str(exc)))


def _check_size(size: int, source: str, options: LoadOptions) -> None:
    if size > options.max_bytes:
        raise ManifestError(
            f"{source}: {size / 2**20:.1f} MiB is larger than the {options.max_bytes / 2**20:.1f} MiB "
            "limit for one manifest file (raise it with --k8s-max-manifest-size)"
        )
