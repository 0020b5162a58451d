"""Manifests: files, directories, globs, stdin; multi-document YAML and JSON; List kinds; Helm and
kustomize rendering; limits that keep hostile input from crashing or exhausting the run.

Every object keeps its provenance (file, line of the document, document index). Errors name the
file and line at fault (lightkube's loader habit), because "invalid YAML" alone is useless in a
repository of hundreds of files.

A load runs in stages, one module each; this module only ties them together:

- ``paths``: what to load (paths, folders, globs, stdin, exclude patterns) and reading a file;
- ``rendering``: Helm charts and kustomizations, rendered by their own tools;
- ``cache``: parsed documents of unchanged bytes, read back instead of parsed again;
- ``parsing``: bytes to documents to validated objects with their provenance;
- ``options``: the options and results every stage shares.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import shutil
from collections.abc import Iterator, Sequence

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.manifests.cache import _cached, _opens, _store, cache_key_path, prune_cache
from pytest_k8ssec.sources.manifests.options import (
    DEFAULT_MAX_BYTES,
    LoadOptions,
    LoadResult,
    NonK8sPolicy,
    SourceError,
    _check_size,
    _failed,
)
from pytest_k8ssec.sources.manifests.parsing import (
    ALIAS_EXPANSION_CHARS,
    ALIAS_EXPANSION_LIMIT,
    MAX_NESTING,
    Documents,
    _add_document,
    _decode,
    _json_documents,
    _yaml_documents,
)
from pytest_k8ssec.sources.manifests.paths import (
    CHART_FILE,
    KUSTOMIZATION_FILES,
    YAML_SUFFIXES,
    Expansion,
    _read_file,
    expand,
)
from pytest_k8ssec.sources.manifests.rendering import (
    HELM_RELEASE_MAX,
    HELM_RELEASE_NAME,
    RENDER_TIMEOUT_S,
    ToolMissingError,
    _helm_source,
    _helm_sources,
    _render_helm,
    _render_kustomize,
    release_name,
)

__all__ = (
    "ALIAS_EXPANSION_CHARS",
    "ALIAS_EXPANSION_LIMIT",
    "CHART_FILE",
    "DEFAULT_MAX_BYTES",
    "HELM_RELEASE_MAX",
    "HELM_RELEASE_NAME",
    "KUSTOMIZATION_FILES",
    "MAX_NESTING",
    "RENDER_TIMEOUT_S",
    "YAML_SUFFIXES",
    "Documents",
    "Expansion",
    "LoadOptions",
    "LoadResult",
    "NonK8sPolicy",
    "SourceError",
    "ToolMissingError",
    "cache_key_path",
    "collector_paused",
    "expand",
    "fully_cached",
    "load",
    "load_file",
    "load_text",
    "prune_cache",
    "release_name",
)


def load(paths: Sequence[str], options: LoadOptions | None = None, *, expansion: Expansion | None = None) -> LoadResult:
    """Load every object under ``paths`` (files, directories, globs, ``-`` for stdin).

    ``expansion`` is the result of ``expand(paths, options)`` when the caller already has it.

    Raises:
        ManifestError: a path does not exist or a pattern matches nothing (bad configuration,
            always); with ``collect_errors`` off, also the first source that cannot be read (a
            malformed or too large file, a failing or missing renderer). Messages name the file
            and line.
    """
    options = options or LoadOptions()
    expansion = expansion if expansion is not None else expand(paths, options)
    result = LoadResult(errors=list(expansion.errors), excluded=list(expansion.excluded))
    with collector_paused():
        _load_sources(result, expansion, options)
    return result


def fully_cached(expansion: Expansion, options: LoadOptions) -> bool:
    """Whether a load of ``expansion`` would find every source in the parse cache: each one a file
    (or stdin) whose bytes have an entry that opens. Reads every file and entry, parses and
    decodes none. A chart or a kustomize dir is never counted as cached (knowing would mean
    rendering it), nor is a file that cannot be read (the load reports it)."""
    if options.cache_dir is None:
        return False
    for kind, target, _ in expansion.sources:
        if kind == "stdin":
            data = options.stdin if options.stdin is not None else b""
        elif kind == "file":
            try:
                data = _read_file(target, options)
            except ManifestError:
                return False
        else:
            return False
        if not _opens(data, target.endswith(".json"), options.cache_dir):
            return False
    return True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector from running inside the block.

    A load allocates millions of dicts, lists and strings and frees almost none: every few
    thousand allocations the collector ran, and each full collection walked everything loaded so
    far (40% of a 10k-object load on the benchmark corpus). What a load builds holds no reference
    cycles (aliases may share a node, never contain it: cycles are refused), so reference counting
    frees it all and pausing the collector loses nothing. Nested blocks leave it to the outermost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_sources(result: LoadResult, expansion: Expansion, options: LoadOptions) -> None:
    seen: set[str] = set()
    for kind, target, explicit in expansion.sources:
        key = f"{kind}:{os.path.realpath(target) if kind != 'stdin' else '-'}"
        if key in seen:
            continue
        seen.add(key)
        try:
            if kind == "stdin":
                data = options.stdin if options.stdin is not None else b""
                _check_size(len(data), "<stdin>", options)
                _parse_into(result, data, Provenance("<stdin>"), options, explicit=True)
            elif kind == "chart":
                _parse_into(
                    result,
                    _render_helm(target, options),
                    Provenance(target, via=f"helm template {target}"),
                    options,
                    explicit=True,
                )
            elif kind == "kustomize":
                via = "kustomize build" if shutil.which("kustomize") else "kubectl kustomize"
                _parse_into(
                    result, _render_kustomize(target, options), Provenance(target, via=via), options, explicit=True
                )
            else:
                _load_file_into(result, target, options, explicit=explicit)
        except ManifestError as exc:
            # Objects of the documents before the fault stay loaded: they are still judged.
            _failed(result.errors, "<stdin>" if kind == "stdin" else target, exc, options)


def load_file(path: str | os.PathLike[str], options: LoadOptions | None = None) -> list[K8sObject]:
    """Load the objects of one file (a convenience for tests and scripts); raises ManifestError
    on the first fault (there is no result to collect errors in)."""
    result = LoadResult()
    _load_file_into(result, os.fspath(path), _raising(options), explicit=True)
    return result.objects


def load_text(text: str | bytes, source: str = "<text>", options: LoadOptions | None = None) -> list[K8sObject]:
    """Load the objects of a YAML or JSON string; raises ManifestError on the first fault."""
    data = text.encode() if isinstance(text, str) else text
    result = LoadResult()
    _parse_into(result, data, Provenance(source), _raising(options), explicit=True)
    return result.objects


def _raising(options: LoadOptions | None) -> LoadOptions:
    # Collected errors would have nowhere to go: a list of objects alone must never hide a fault.
    return dataclasses.replace(options, collect_errors=False) if options is not None else LoadOptions()


def _load_file_into(result: LoadResult, path: str, options: LoadOptions, *, explicit: bool) -> None:
    _parse_into(result, _read_file(path, options), Provenance(path), options, explicit=explicit)


def _parse_into(result: LoadResult, data: bytes, where: Provenance, options: LoadOptions, *, explicit: bool) -> None:
    is_json = where.source.endswith(".json")
    documents = _cached(data, is_json, options.cache_dir)
    text = _decode(data, where) if documents is None or where.via else ""
    fault: ManifestError | None = None
    if documents is None:
        documents = []
        try:
            documents.extend(_json_documents(text, where) if is_json else _yaml_documents(text, where))
        except ManifestError as exc:
            # The documents before the fault are still judged; the fault fails the source after.
            fault = exc
        else:
            _store(data, is_json, options.cache_dir, documents)
    sources = _helm_sources(text, where)
    for doc_index, line, document, item_lines in documents:
        if where.via and line is not None:
            # Rendered output: the line is in the renderer's output; the document index is what helps.
            prov = Provenance(_helm_source(sources, line) or where.source, None, doc_index, where.via)
        else:
            prov = Provenance(where.source, line, doc_index)
        _add_document(result, document, prov, item_lines, options, explicit=explicit)
    if fault is not None:
        raise fault
