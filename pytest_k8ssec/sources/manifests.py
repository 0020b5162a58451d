"""Manifests: files, directories, globs, stdin; multi-document YAML and JSON; List kinds; Helm and
kustomize rendering; limits that keep hostile input from crashing or exhausting the run.

Every object keeps its provenance (file, line of the document, document index). Errors name the
file and line at fault (lightkube's loader habit), because "invalid YAML" alone is useless in a
repository of hundreds of files.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import dataclasses
import hashlib
import json
import marshal
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.credentials import leaf_values, scrub
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.kube_yaml import (
    DUPLICATE_KEY_WHY,
    KubeYAMLLoader,
    ResolveError,
    compose_all,
    construct,
    json_number,
    refuse_excessive_aliasing,
)

# libyaml is 8x faster than the pure-Python loader on manifests (DESIGN.md, "Speed").
try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _ManifestLoader(KubeYAMLLoader):
    """libyaml's safe loader, reading scalars as Kubernetes does (see kube_yaml), and never raising
    a bare error: what Kubernetes refuses becomes a ConstructorError carrying the line."""


YAML_SUFFIXES = (".yaml", ".yml", ".json")
CHART_FILE = "Chart.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# A document may expand its aliases to at most this many nodes (and at most 10x its own size):
# a "billion laughs" document stays small on disk and explodes only when walked.
ALIAS_EXPANSION_LIMIT = 1_000_000
# ... and to at most this many characters of scalar text, or 10x the file's (one 1 MiB string
# referenced 200 times is 200 MiB for every check that reads strings).
ALIAS_EXPANSION_CHARS = 16 * 2**20
# libyaml's composer recurses in C: past ~20k levels it overflows the C stack and kills the
# process (no RecursionError); PyYAML 6.0.4's libyaml stops at 1,000 levels with its own error.
# Real manifests nest a few dozen levels deep; one limit below both, whatever the version.
MAX_NESTING = 500
RENDER_TIMEOUT_S = 300

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


@dataclass
class Expansion:
    """The sources that paths expand to, before anything is parsed (see ``expand``)."""

    sources: list[tuple[str, str, bool]] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)


class ToolMissingError(ManifestError):
    """A Helm chart or kustomize directory was given but its renderer is not installed."""


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
    return result


def _failed(errors: list[SourceError], source: str, exc: ManifestError, options: LoadOptions) -> None:
    if not options.collect_errors:
        raise exc
    errors.append(SourceError(source, str(exc)))


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


# --- path expansion -----------------------------------------------------------------------------


def expand(paths: Sequence[str], options: LoadOptions | None = None) -> Expansion:
    """The sources under ``paths``: ``(kind, path, explicit)`` with kind file, chart, kustomize or
    stdin; folders that cannot be listed (as errors, in collect mode); paths left out by
    ``options.exclude``.

    Raises:
        ManifestError: a path does not exist or a pattern matches nothing (bad configuration);
            with ``collect_errors`` off, also a folder that cannot be listed.
    """
    options = options or LoadOptions()
    expansion = Expansion()
    exclusions = _Exclusions(options.exclude, options.exclude_base)
    for spec in paths:
        expansion.sources.extend(_expand(spec, options, expansion, exclusions))
    return expansion


def _expand(
    spec: str, options: LoadOptions, expansion: Expansion, exclusions: _Exclusions
) -> Iterator[tuple[str, str, bool]]:
    """Yield (kind, path, explicit): kind is file, chart, kustomize or stdin."""
    if spec == "-":
        yield "stdin", "-", True
        return
    if any(ch in spec for ch in "*?[") and not os.path.exists(spec):
        yield from _expand_glob(spec, options, expansion, exclusions)
        return
    try:
        os.stat(spec)
    except FileNotFoundError:
        raise ManifestError(f"{spec}: no such file or directory") from None
    except OSError as exc:
        # A folder on the way the user may not search, a symlink loop: "no such file" would
        # send the user looking for a typo.
        raise ManifestError(f"{spec}: cannot read: {exc.strerror}") from None
    if os.path.isdir(spec):
        renderer = _renderer_of(spec)
        if renderer:
            yield renderer, spec, True
        else:
            yield from _scan(spec, spec, options, expansion, exclusions)
    else:
        # Named on the command line: loaded whatever the exclude patterns say.
        yield "file", spec, True


def _glob_base(pattern: str) -> str:
    """The leading folders of ``pattern`` that hold no wildcard (``"."`` if none)."""
    base = os.path.dirname(pattern)
    while any(ch in base for ch in "*?["):
        base = os.path.dirname(base)
    return base or "."


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression for a glob over "/"-separated paths, as Python's recursive glob reads it:
    ``*`` and ``?`` stay within one folder name, a ``**`` segment spans any number of folders
    (none included), ``[...]`` is a character class (``[!...]`` negated)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        at_segment_start = i == 0 or pattern[i - 1] == "/"
        if at_segment_start and pattern.startswith("**", i) and (i + 2 == n or pattern[i + 2] == "/"):
            if i + 2 == n:
                # "legacy/**" also matches the folder itself, as Python's glob does.
                out.append("(?:/.*)?" if out and out[-1] == "/" and out.pop() else ".*")
                i += 2
            else:
                out.append("(?:[^/]*/)*")
                i += 3
            continue
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append(f"[{'^' if negate else ''}{body.replace(chr(92), chr(92) * 2)}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


class _Exclusions:
    """``--k8s-exclude`` patterns. A pattern without "/" matches a file or folder name at any
    depth (``*.tpl.yaml``, ``examples``); one with "/" matches the path relative to the scanned
    root (the folder given, or the fixed leading folders of a glob) or the path as given
    (``deploy/legacy/**``; for paths from an ini file, as given there, relative to its folder).
    An excluded folder is not entered."""

    def __init__(self, patterns: Sequence[str], base: str | None = None) -> None:
        self._compiled = [
            (pattern, _glob_regex(pattern.rstrip("/")), "/" in pattern.rstrip("/")) for pattern in patterns
        ]
        self._base = base

    def match(self, path: str, root: str) -> str | None:
        """The first pattern that excludes ``path`` (found by scanning ``root``), if any."""
        if not self._compiled:
            return None
        name = os.path.basename(path)
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        given = os.path.normpath(path).replace(os.sep, "/")
        spellings = [relative, given]
        if self._base is not None:
            spellings.append(os.path.relpath(path, self._base).replace(os.sep, "/"))
        for pattern, regex, has_slash in self._compiled:
            if has_slash:
                if any(regex.match(spelling) for spelling in spellings):
                    return pattern
            elif regex.match(name):
                return pattern
        return None


def _listing(folder: str, options: LoadOptions, expansion: Expansion) -> list[os.DirEntry[str]] | None:
    """The entries of ``folder`` by name, or None (recorded as an error) if it cannot be listed.

    Python's glob and os.walk skip folders they cannot read; a scan that misses files must fail.
    """
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as exc:
        _failed(
            expansion.errors, folder, ManifestError(f"{folder}: cannot read the folder: {exc.strerror or exc}"), options
        )
        return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks
    except OSError:
        return False


def _scan(
    top: str, root: str, options: LoadOptions, expansion: Expansion, exclusions: _Exclusions
) -> Iterator[tuple[str, str, bool]]:
    """The manifests under folder ``top``, depth first in name order.

    Hidden folders (.git, .github) hold no manifests; charts and kustomizations inside a scanned
    tree are rendered, never parsed raw (their files are templates and patches). Symlinked
    folders are followed, once: a link back into the scan (a loop) adds nothing new. Anything
    with a manifest suffix that is not a folder is yielded as a file, so a FIFO or a dangling
    link fails when it is read instead of vanishing.
    """
    visited = {os.path.realpath(top)}
    stack = [top]
    while stack:
        folder = stack.pop()
        entries = _listing(folder, options, expansion)
        if entries is None:
            continue
        subfolders: list[str] = []
        files: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(folder, entry.name)
            if _is_dir(entry):
                pattern = exclusions.match(path, root)
                if pattern is not None:
                    expansion.excluded.append((path, pattern))
                    continue
                real = os.path.realpath(path)
                if real in visited:
                    continue
                visited.add(real)
                renderer = _renderer_of(path)
                if renderer:
                    yield renderer, path, True
                else:
                    subfolders.append(path)
            elif entry.name.endswith(YAML_SUFFIXES):
                pattern = exclusions.match(path, root)
                if pattern is not None:
                    expansion.excluded.append((path, pattern))
                else:
                    files.append(path)
        for path in files:
            yield "file", path, False
        stack.extend(reversed(subfolders))


def _expand_glob(
    spec: str, options: LoadOptions, expansion: Expansion, exclusions: _Exclusions
) -> Iterator[tuple[str, str, bool]]:
    """A pattern is a scan, like a directory: "deploy/**" takes the manifests, not READMEs.

    Walked here rather than by Python's glob, which skips unreadable folders without a word.
    """
    base = _glob_base(spec)
    prefix = "" if base == "." and not spec.startswith("./") else base
    regex = _glob_regex(spec)
    rest = spec[len(prefix) :].lstrip("/") if prefix else spec
    # Without "**" a pattern cannot match deeper than its segments: folders below are not read.
    depth_limit = None if "**" in spec else rest.count("/") + 1
    # As Python's glob: a hidden name is matched only by a segment that spells its leading dot.
    show_hidden = any(segment.startswith(".") for segment in rest.split("/"))
    found: list[tuple[str, str, bool]] = []
    matched_any = kept_any = False
    errors_before = len(expansion.errors)
    left_out = 0  # excluded paths the pattern would have matched or entered
    if os.path.isdir(base) and _renderer_of(base) and _matches_below(base, prefix, regex):
        # "chart/**/*.yaml": render the chart, as a directory scan does, never parse templates raw.
        yield _renderer_of(base) or "chart", base, True
        return
    stack: list[tuple[str, str, int]] = [(base, prefix, 0)]
    visited = {os.path.realpath(base)}
    while stack:
        folder, shown, depth = stack.pop()
        entries = _listing(folder, options, expansion) if os.path.isdir(folder) else []
        if entries is None:
            continue
        subfolders: list[tuple[str, str, int]] = []
        for entry in entries:
            if entry.name.startswith(".") and not show_hidden:
                continue
            path = os.path.join(folder, entry.name)
            name = f"{shown}/{entry.name}" if shown else entry.name
            is_dir = _is_dir(entry)
            if not is_dir and not entry.name.endswith(YAML_SUFFIXES):
                # Never loaded (a README, a script), so never counted as excluded either.
                matched_any = matched_any or bool(regex.match(name))
                continue
            pattern = exclusions.match(name, base)
            if pattern is not None:
                expansion.excluded.append((name, pattern))
                if regex.match(name) or (is_dir and (depth_limit is None or depth + 1 < depth_limit)):
                    left_out += 1
                continue
            if regex.match(name):
                matched_any = True
                kept_any = True
                if is_dir:
                    found.append((_renderer_of(path) or "folder", name, True))
                else:
                    found.append(("file", name, False))
                continue
            if not is_dir or (depth_limit is not None and depth + 1 >= depth_limit):
                continue
            real = os.path.realpath(path)
            if real in visited:
                continue
            visited.add(real)
            renderer = _renderer_of(path)
            if renderer:
                # "deploy/**/*.yaml" also matches a chart's templates: render the chart instead.
                if _matches_below(path, name, regex):
                    matched_any = kept_any = True
                    found.append((renderer, name, True))
                continue
            subfolders.append((path, name, depth + 1))
        stack.extend(reversed(subfolders))
    # An unreadable folder is already a failure of its own; a pattern that matched nothing
    # readable is a configuration error.
    if not kept_any and len(expansion.errors) == errors_before:
        if left_out:
            # "matches no file" would send the user looking at the pattern, not at --k8s-exclude.
            raise ManifestError(
                f"{spec}: the pattern matches no file that --k8s-exclude leaves in ({left_out} path{'s' if left_out != 1 else ''} left out)"
            )
        if not matched_any:
            raise ManifestError(f"{spec}: the pattern matches no file")
        raise ManifestError(f"{spec}: the pattern matches no folder and no .yaml, .yml or .json file")
    # In path order, as Python's glob returns them sorted.
    for kind, name, explicit in sorted(found, key=lambda source: source[1]):
        if kind == "folder":
            yield from _scan(name, base, options, expansion, exclusions)
        else:
            yield kind, name, explicit


def _matches_below(folder: str, shown: str, regex: re.Pattern[str]) -> bool:
    """Whether ``regex`` matches anything under ``folder`` (spelt ``shown`` in the pattern)."""
    for root, dirs, files in os.walk(folder):
        relative = os.path.relpath(root, folder)
        here = shown if relative == "." else (f"{shown}/{relative}" if shown else relative)
        for name in (*dirs, *files):
            if regex.match(f"{here}/{name}" if here else name):
                return True
    return False


def _renderer_of(directory: str) -> str | None:
    if os.path.isfile(os.path.join(directory, CHART_FILE)):
        return "chart"
    if any(os.path.isfile(os.path.join(directory, name)) for name in KUSTOMIZATION_FILES):
        return "kustomize"
    return None


# --- rendering ----------------------------------------------------------------------------------


def _run_renderer(argv: list[str], what: str, options: LoadOptions) -> bytes:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ManifestError(f"{what}: `{' '.join(argv)}` did not finish in {RENDER_TIMEOUT_S} s") from None
    except OSError as exc:  # found on PATH but not runnable (permissions, wrong architecture)
        raise ManifestError(f"{what}: cannot run `{argv[0]}`: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()[-2000:]
        raise ManifestError(
            f"{what}: `{' '.join(argv)}` failed (exit {proc.returncode}): {scrub(stderr, _input_values(what))}"
        )
    _check_size(len(proc.stdout), f"{what} (rendered)", options)
    return proc.stdout


def _render_helm(chart: str, options: LoadOptions) -> bytes:
    helm = shutil.which("helm")
    if helm is None:
        raise ToolMissingError(
            f"{chart}: holds {CHART_FILE}, a Helm chart, but `helm` is not on PATH. Install Helm "
            "(https://helm.sh/docs/intro/install/, or `go install helm.sh/helm/v3/cmd/helm@latest`), "
            f"or render it yourself: `helm template {chart} > rendered.yaml` and pass that file."
        )
    release = options.helm_release or release_name(chart)
    return _run_renderer([helm, "template", release, chart], chart, options)


# Helm's own rule for release names (pkg/chartutil: a DNS-1123 subdomain of at most 53 characters).
HELM_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HELM_RELEASE_MAX = 53


def release_name(chart: str) -> str:
    """A release name Helm accepts, from the chart's folder: ``my_chart`` and ``MyChart`` are
    refused as they are (``invalid release name``), ``my-chart`` and ``mychart`` are not."""
    name = re.sub(r"[^a-z0-9]+", "-", Path(chart).resolve().name.lower())
    return name[:HELM_RELEASE_MAX].strip("-") or "release"


def _render_kustomize(directory: str, options: LoadOptions) -> bytes:
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return _run_renderer([kustomize, "build", directory], directory, options)
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return _run_renderer([kubectl, "kustomize", directory], directory, options)
    raise ToolMissingError(
        f"{directory}: holds a kustomization, but neither `kustomize` nor `kubectl` is on PATH. "
        "Install kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl, "
        f"or render it yourself: `kustomize build {directory} > rendered.yaml` and pass that file."
    )


# --- parsing ------------------------------------------------------------------------------------


def _check_size(size: int, source: str, options: LoadOptions) -> None:
    if size > options.max_bytes:
        raise ManifestError(
            f"{source}: {size / 2**20:.1f} MiB is larger than the {options.max_bytes / 2**20:.1f} MiB "
            "limit for one manifest file (raise it with --k8s-max-manifest-size)"
        )


def _load_file_into(result: LoadResult, path: str, options: LoadOptions, *, explicit: bool) -> None:
    try:
        # A FIFO would block the run forever on open or read, a device never ends: only regular
        # files are opened. Checked again on the open descriptor (opened without blocking), in
        # case the path was swapped in between.
        _check_regular(os.stat(path).st_mode, path)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            _check_regular(info.st_mode, path)
            _check_size(info.st_size, path, options)
            data = handle.read(options.max_bytes + 1)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror or exc}") from None
    _check_size(len(data), path, options)  # the file may have grown since stat
    _parse_into(result, data, Provenance(path), options, explicit=explicit)


def _check_regular(mode: int, path: str) -> None:
    if stat.S_ISREG(mode):
        return
    what = {
        stat.S_IFIFO: "a FIFO",
        stat.S_IFCHR: "a character device",
        stat.S_IFBLK: "a block device",
        stat.S_IFSOCK: "a socket",
        stat.S_IFDIR: "a folder",
    }.get(stat.S_IFMT(mode), "not a regular file")
    raise ManifestError(f"{path}: cannot read: {what}, not a regular file (only regular files are read)")


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


# --- parse cache --------------------------------------------------------------------------------
# Parsing is most of a run's cost (libyaml builds Python objects at about 0.5 ms per object);
# unchanged files are read back from marshal, 10-20x faster. marshal, not pickle: it can only
# rebuild plain data, so a tampered cache file cannot run code. Keys are content hashes, so an
# edited file is never served stale; validation and provenance still happen on every load.
# What the cache trusts: a key of 32 random bytes in a file only this user can read
# ($XDG_CACHE_HOME/pytest-k8ssec/parse-cache.key, else ~/.cache/...; created 0600 on first use),
# which never travels with .pytest_cache. Each entry is sealed (ChaCha20-Poly1305) with a key
# derived from that key and the manifest's bytes: without the local key nobody can read an entry,
# nor forge one that opens (issue 12 item 3: a shared CI cache, written by someone who knows the
# manifest, made a privileged Pod pass). An entry that does not open, and a key file that is
# missing, unreadable, not ours or readable by others, is a cache miss: the file is parsed.
# Format 4: values as Kubernetes reads YAML (kube_yaml); entries read the PyYAML way are not served.
# Format 5: a duplicate key refuses the document; entries that kept its last value are not served.
_CACHE_FORMAT = f"5-{yaml.__version__}-{'c' if _Loader.__name__.startswith('C') else 'py'}"
_CACHE_TTL_S = 7 * 24 * 3600
_CACHE_KEY_BYTES = 32
_NONCE_BYTES = 12

Documents = list[tuple[int, "int | None", Any, list[int]]]


def _cache_path(data: bytes, is_json: bool, cache_dir: str) -> str:
    digest = hashlib.blake2b(data, digest_size=20, person=b"k8ssec-manifest")
    digest.update(f"{_CACHE_FORMAT}-{is_json}".encode())
    return os.path.join(cache_dir, digest.hexdigest())


def cache_key_path() -> str:
    """Where the parse cache's local key lives (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``pytest-k8ssec``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pytest-k8ssec", "parse-cache.key")


_local_keys: dict[str, bytes | None] = {}


def _local_key() -> bytes | None:
    """This user's cache key, created on first use; None (no caching) when it cannot be trusted."""
    path = cache_key_path()
    if path not in _local_keys:
        _local_keys[path] = _read_key(path) or _create_key(path)
    return _local_keys[path]


def _read_key(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        # A key another user owns or can read is not a secret of ours: it authenticates nothing.
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_mode & 0o077
            or (hasattr(os, "geteuid") and info.st_uid != os.geteuid())
        ):
            return None
        key = handle.read(_CACHE_KEY_BYTES + 1)
    return key if len(key) == _CACHE_KEY_BYTES else None


def _create_key(path: str) -> bytes | None:
    """Create the key atomically: written whole to a private temporary file, then linked into place,
    so concurrent runs (xdist workers) agree on one key and no run ever reads a partial one."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(_CACHE_KEY_BYTES))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another run was first: use its key
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    return _read_key(path)


def _cipher(data: bytes, payload: bytes, *, seal: bool) -> bytes | None:
    """Seal a cache entry, or open one (None when it does not authenticate or there is no key)."""
    local = _local_key()
    if local is None:
        return None
    # Imported here: loading the cipher costs about 80 ms, paid only by runs that use the cache.
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    aead = ChaCha20Poly1305(hashlib.blake2b(data, key=local, digest_size=32, person=b"k8ssec-cachekey").digest())
    associated = _CACHE_FORMAT.encode()
    if seal:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + aead.encrypt(nonce, payload, associated)
    try:
        return aead.decrypt(payload[:_NONCE_BYTES], payload[_NONCE_BYTES:], associated)
    except (InvalidTag, ValueError):
        return None


def _cached(data: bytes, is_json: bool, cache_dir: str | None) -> Documents | None:
    if cache_dir is None:
        return None
    path = _cache_path(data, is_json, cache_dir)
    try:
        with open(path, "rb") as handle:
            plain = _cipher(data, handle.read(), seal=False)
        if plain is None:
            return None
        documents: Documents = marshal.loads(plain)
        os.utime(path)  # recently used: kept by the pruning in prune_cache
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return documents


def _store(data: bytes, is_json: bool, cache_dir: str | None, documents: Documents) -> None:
    if cache_dir is None:
        return
    path = _cache_path(data, is_json, cache_dir)
    try:
        payload = _cipher(data, marshal.dumps(documents), seal=True)
        if payload is None:
            return  # no trustworthy key: no cache
        os.makedirs(cache_dir, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    except (OSError, ValueError):
        pass  # a value marshal cannot hold, or a read-only cache: load without caching


def prune_cache(cache_dir: str, max_age_s: float = _CACHE_TTL_S) -> int:
    """Remove cache entries not used for ``max_age_s``; returns how many were removed."""
    removed = 0
    cutoff = time.time() - max_age_s
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _input_values(directory: str) -> list[str]:
    """The values a renderer's error may echo (issue 12 item 17: Helm ``fail()`` messages, kustomize's
    ``invalid literal source DB_PASSWORD:...``): every leaf of the chart's ``values.yaml`` and of the
    kustomization, so that ``scrub`` can take them out of the message."""
    found: list[str] = []
    for name in ("values.yaml", *KUSTOMIZATION_FILES):
        try:
            with open(os.path.join(directory, name), "rb") as handle:
                document = yaml.safe_load(handle.read(DEFAULT_MAX_BYTES))
        except (OSError, yaml.YAMLError):
            continue  # an unreadable input file: the renderer's own error says so
        found.extend(leaf_values(document, skip=("apiVersion", "kind", "resources", "bases", "components")))
    return found


def _decode(data: bytes, where: Provenance) -> str:
    """The text of a manifest: UTF-8 (a BOM is dropped), or UTF-16 with its BOM, as libyaml reads.

    Decoding here, not in libyaml, gives a line for bad bytes and character offsets that match
    the parser's marks (which count characters, not bytes).
    """
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ManifestError(
            f"{where.source}:{line}: not {encoding.partition('-sig')[0].upper()} text: {exc.reason} (byte {exc.start})"
        ) from None


_HELM_SOURCE = re.compile(r"^# Source: (.+?)\s*$", re.MULTILINE)


def _helm_sources(text: str, where: Provenance) -> list[tuple[int, str]]:
    """``(line, template file)`` of every ``# Source:`` comment in ``helm template`` output, in order.

    Indexed once per output: looking back from every document would be quadratic in big charts.
    """
    if not (where.via or "").startswith("helm"):
        return []
    found: list[tuple[int, str]] = []
    line, counted = 1, 0
    for match in _HELM_SOURCE.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        # "<chart>/templates/x.yaml" -> "<chart dir>/templates/x.yaml"
        _, _, rest = match.group(1).partition("/")
        found.append((line, os.path.join(where.source, rest) if rest else match.group(1)))
    return found


def _helm_source(sources: list[tuple[int, str]], line: int) -> str | None:
    """The template named by the last ``# Source:`` comment above ``line``."""
    index = bisect.bisect_left(sources, (line, "")) - 1
    return sources[index][1] if index >= 0 else None


class _JSONNumberError(ValueError):
    """A JSON number the API server cannot read (NaN, Infinity, past float64)."""


def _json_number(literal: str) -> int | float:
    # The API server reads JSON numbers as int64 or float64 and gives them back as Go writes them:
    # 1.0 is 1, integers past int64 are floats; NaN and Infinity are not JSON at all.
    try:
        value = float(literal) if any(ch in literal for ch in ".eE") else int(literal)
        number = json_number(value)
    except (OverflowError, ResolveError):
        raise _JSONNumberError(literal) from None
    return number


def _json_constant(literal: str) -> Any:
    raise _JSONNumberError(literal)


_BIG_INTEGER = re.compile(r"\d{19}")


class _JSONDuplicateKey(Exception):
    """A key repeated in one JSON object (``json.loads`` would keep the last value silently)."""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) != len(pairs):
        raise _JSONDuplicateKey
    return made


def _json_documents(text: str, where: Provenance) -> Iterator[tuple[int, int | None, Any, list[int]]]:
    try:
        if _BIG_INTEGER.search(text):
            document = json.loads(
                text,
                parse_float=_json_number,
                parse_int=_json_number,
                parse_constant=_json_constant,
                object_pairs_hook=_json_object,
            )
        else:  # ints that fit int64 need no conversion, and the hook would cost a call per number
            document = json.loads(
                text, parse_float=_json_number, parse_constant=_json_constant, object_pairs_hook=_json_object
            )
    except _JSONDuplicateKey:
        # The API server's strict decoding refuses it ("duplicate field"); kubectl and the rest
        # apply the last value while a reviewer reads the first.
        found = _json_duplicate(text)
        if found is None:  # pragma: no cover - the scan sees every key json.loads saw
            raise ManifestError(f"{where.source}: invalid JSON: a key is repeated in one object") from None
        key, first, again = found
        raise ManifestError(
            f"{where.source}:{again}: invalid JSON: duplicate key {_quoted_key(key)} (first at line {first}): {DUPLICATE_KEY_WHY}"
        ) from None
    except _JSONNumberError as exc:
        literal = str(exc)
        match = re.search(r"[:\[,]\s*" + re.escape(literal), text)
        at = f"{where.source}:{text.count(chr(10), 0, match.end()) + 1}" if match else where.source
        raise ManifestError(f"{at}: invalid JSON: {literal[:40]!r} is not a number the API server can read") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{where.source}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ManifestError(f"{where.source}: invalid JSON: nested too deeply") from None
    except ValueError as exc:  # an integer past Python's 4300-digit limit
        match = _LONG_NUMBER.search(text)
        at = f"{where.source}:{text.count(chr(10), 0, match.start()) + 1}" if match else where.source
        raise ManifestError(f"{at}: invalid JSON: {exc}") from None
    start = len(text) - len(text.lstrip())
    if isinstance(document, list):
        item_lines = _json_array_lines(text, start)
    elif isinstance(document, dict) and _is_list_kind(document):
        item_lines = _json_item_lines(text, start)
    else:
        item_lines = []
    yield 0, text.count("\n", 0, start) + 1, document, item_lines


_LONG_NUMBER = re.compile(r"\d{4000,}")
# The tokens of JSON text that matter for keys: strings, brackets, and the commas and colons
# between them (numbers and literals are skipped over).
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]')


def _quoted_key(key: str) -> str:
    return json.dumps(key if len(key) <= 40 else f"{key[:37]}...")


def _json_duplicate(text: str) -> tuple[str, int, int] | None:
    """The first key repeated in one object of JSON text, the line of its first use and of the
    repeat; without recursion (objects may nest deeply). Only read once a repeat is known."""
    objects: list[dict[str, int] | None] = []  # keys seen per open object; None for an array
    expect_key = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == "{":
            objects.append({})
            expect_key = True
        elif token == "[":
            objects.append(None)
            expect_key = False
        elif token in "]}":
            if objects:
                objects.pop()
            expect_key = False
        elif token == ",":
            expect_key = bool(objects) and objects[-1] is not None
        elif token == ":":
            expect_key = False
        elif expect_key:
            seen = objects[-1]
            assert seen is not None
            key = json.loads(token)
            if key in seen:
                return key, text.count("\n", 0, seen[key]) + 1, text.count("\n", 0, match.start()) + 1
            seen[key] = match.start()
            expect_key = False
    return None


_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_DECODER = json.JSONDecoder()


def _json_array_lines(text: str, pos: int) -> list[int]:
    """Lines of the entries of a top-level JSON array (valid JSON text, ``text[pos] == "["``)."""
    lines: list[int] = []
    line, counted = 1, 0
    pos = _JSON_SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    while text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        lines.append(line)
        _, pos = _JSON_DECODER.raw_decode(text, pos)
        pos = _JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] == ",":
            pos = _JSON_SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    return lines


def _json_item_lines(text: str, pos: int) -> list[int]:
    """Lines of the entries of the top-level ``items`` array of valid JSON text (``kubectl get -o json``).

    The json module keeps no positions, so this steps over the top-level values with
    ``raw_decode``; it runs for List documents only. A repeated ``items`` key never gets here
    (``_json_object`` refuses it), so the first one is the one.
    """
    if text[pos] != "{":
        return []

    def skip(at: int) -> int:
        match = _JSON_SPACE.match(text, at)
        return match.end() if match else at

    pos = skip(pos + 1)
    while text[pos] != "}":
        key, pos = _JSON_DECODER.raw_decode(text, pos)
        pos = skip(skip(pos) + 1)  # the ":"
        if key == "items" and text[pos] == "[":
            return _json_array_lines(text, pos)
        _, pos = _JSON_DECODER.raw_decode(text, pos)
        pos = skip(pos)
        if text[pos] == ",":
            pos = skip(pos + 1)
    return []


def _composed(text: str) -> Iterator[yaml.Node]:
    """The documents of ``text`` as nodes: libyaml's composer, or ours for redefined anchors."""
    loader = _ManifestLoader(text)
    count = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node() promised a node
                return
            yield node
            count += 1
        return
    except yaml.composer.ComposerError as exc:
        if "duplicate anchor" not in str(exc.context):
            raise
    finally:
        loader.dispose()
    # go-yaml, and so Kubernetes, lets a later anchor replace an earlier one.
    for index, node in enumerate(compose_all(text)):
        if index >= count:
            yield node


def _yaml_documents(text: str, where: Provenance) -> Iterator[tuple[int, int | None, Any, list[int]]]:
    _guard_nesting(text, where)
    # An alias needs an anchor ("&") and a reference ("*"); without both there is nothing to expand.
    may_alias = "&" in text and "*" in text
    doc_index = 0
    try:
        for node in _composed(text):
            line = node.start_mark.line + 1
            if may_alias and _has_alias(text, node):
                _guard_alias_expansion(node, where, line, len(text))
                refuse_excessive_aliasing(node)
            document = construct(node, text)
            item_lines = (
                _item_lines(node)
                if isinstance(document, list) or (isinstance(document, dict) and _is_list_kind(document))
                else []
            )
            yield doc_index, line, document, item_lines
            doc_index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"{where.source}:{mark.line + 1}" if mark is not None else where.source
        problem = exc.problem or exc.context or "malformed YAML"
        if exc.problem and exc.context and exc.context_mark is not None:
            # "did not find expected ']'" at the end of the file is only useful with where the
            # unclosed sequence began.
            problem = f"{problem} ({exc.context} at line {exc.context_mark.line + 1})"
        raise ManifestError(f"{at}: invalid YAML in document {doc_index}: {problem}") from None
    except yaml.reader.ReaderError as exc:
        # Control characters and the like: libyaml reports a character offset, not a line.
        line = text.count("\n", 0, exc.position) + 1
        raise ManifestError(f"{where.source}:{line}: invalid YAML in document {doc_index}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{where.source}: invalid YAML in document {doc_index}: {exc}") from None
    except RecursionError:
        raise ManifestError(f"{where.source}: document {doc_index} is nested too deeply to load") from None


# An alias token starts with "*"; right after a quote it is inside (or glued to) a quoted scalar,
# never a valid alias, so RBAC's ubiquitous "*" does not cost a walk of every Role.
_ALIAS_START = re.compile(r"(?<![\"'])\*")


def _has_alias(text: str, root: yaml.Node) -> bool:
    """Whether the document may hold an alias (marks are character offsets into ``text``).

    Only aliases share nodes; the anchor of the root itself may precede its start mark.
    """
    return _ALIAS_START.search(text, root.start_mark.index, root.end_mark.index + 1) is not None


# "---" at column 0 followed by a blank is always a document start (or a syntax error), in block,
# flow and quoted context alike; splitting on it never cuts one document's nesting in two.
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|\Z)", re.MULTILINE)


def _guard_nesting(text: str, where: Provenance) -> None:
    """Refuse documents nested deeper than ``MAX_NESTING`` before libyaml composes them.

    Nesting needs a bracket, or a column of indentation or an indicator ("- ", "? ", ": ") at the
    start of a line, per level; so a document's opening brackets plus its longest line prefix of
    blanks and indicators bound its depth ("{}" and "[]" open nothing that nests). Only input
    past that bound pays for an event-level scan.
    """
    if len(text) <= MAX_NESTING // 2:
        return
    deepest = max(map(len, _LINE_PREFIX.findall(text)), default=0) + 1
    if deepest < MAX_NESTING:
        starts = [match.start() for match in _DOCUMENT_START.finditer(text)]
        bounds = zip([0, *starts], [*starts, len(text)])
        if all(_bracket_bound(text, start, end) + deepest < MAX_NESTING for start, end in bounds):
            return
    try:
        _scan_nesting(text, _Loader, where)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is None or "nesting" not in str(getattr(exc, "problem", "")):
            return  # the composer reports syntax errors with their line
        # PyYAML 6.0.4's libyaml stops at 1,000 levels, reading ahead of its events: find the
        # level past ours in the text before that point with the pure-Python parser (no limit).
        try:
            _scan_nesting(text[: mark.index], yaml.SafeLoader, where)
        except yaml.YAMLError:
            pass
        raise ManifestError(
            f"{where.source}:{mark.line + 1}: YAML nested more than {MAX_NESTING} levels deep; refusing to load"
        ) from None


_LINE_PREFIX = re.compile(r"^[ \t?:-]+", re.MULTILINE)


def _scan_nesting(text: str, loader: Any, where: Provenance) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise ManifestError(
                    f"{where.source}:{line}: YAML nested more than {MAX_NESTING} levels deep; refusing to load"
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _bracket_bound(text: str, start: int, end: int) -> int:
    opening = text.count("[", start, end) + text.count("{", start, end)
    return opening - text.count("[]", start, end) - text.count("{}", start, end) + 1


def _guard_alias_expansion(root: yaml.Node, where: Provenance, line: int, file_chars: int) -> None:
    """Refuse a document whose aliases would expand to far more nodes than it holds, to far more
    scalar text than the file holds, or that contains itself (safe YAML allows ``&a [*a]``; no
    Kubernetes object is cyclic, and walking one never ends).

    Sizes are memoized per node, so this costs one pass over the distinct nodes, however large
    the expansion would be.
    """
    max_chars = max(ALIAS_EXPANSION_CHARS, 10 * file_chars)
    sizes: dict[int, int] = {}
    chars: dict[int, int] = {}
    active: set[int] = set()  # nodes whose children are still being sized
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            if key in active:
                raise ManifestError(f"{where.source}:{line}: a YAML alias refers to a node that contains it (a cycle)")
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            sizes[key], chars[key] = 1, len(node.value)
            distinct += 1
            continue
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            chars[key] = sum(chars[id(child)] for child in children)
            if sizes[key] > ALIAS_EXPANSION_LIMIT and sizes[key] > 10 * distinct:
                raise ManifestError(
                    f"{where.source}:{line}: YAML aliases expand to more than {ALIAS_EXPANSION_LIMIT:,} "
                    "nodes (an alias bomb); refusing to load the document"
                )
            if chars[key] > max_chars:
                raise ManifestError(
                    f"{where.source}:{line}: YAML aliases expand to more than {max_chars:,} characters "
                    f"of text (an alias bomb; the limit is the larger of {ALIAS_EXPANSION_CHARS:,} and "
                    "10x the file); refusing to load the document"
                )
            continue
        sizes[key] = 0
        active.add(key)
        distinct += 1
        stack.append((node, True))
        for child in children:
            if id(child) in active:
                raise ManifestError(f"{where.source}:{line}: a YAML alias refers to a node that contains it (a cycle)")
            if id(child) not in sizes:
                stack.append((child, False))


def _item_lines(node: yaml.Node) -> list[int]:
    """Lines of the entries of a List's ``items`` or of a top-level sequence (so each flattened
    object keeps its own line)."""
    if isinstance(node, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in node.value]
    if not isinstance(node, yaml.MappingNode):
        return []
    lines: list[int] = []
    for key, value in node.value:
        # (A repeated key never gets here: the constructor refuses it.)
        if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
            lines = [item.start_mark.line + 1 for item in value.value]
    return lines


def _is_list_kind(document: Mapping[str, Any]) -> bool:
    kind = document.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(document.get("items"), list)


def _add_document(
    result: LoadResult,
    document: Any,
    prov: Provenance,
    item_lines: list[int],
    options: LoadOptions,
    *,
    explicit: bool,
) -> None:
    if document is None:
        return  # empty document ("---" twice, or a comment-only file)
    if isinstance(document, list) and any(_meant_as_object(item) for item in document):
        # A top-level sequence of objects: kubectl refuses it, but skipping it would hide every
        # object in it from the tests.
        _add_items(result, document, prov, item_lines, options, lambda index: f"item {index} of the YAML sequence")
        return
    if not isinstance(document, dict) or not _meant_as_object(document):
        shape = "a mapping without apiVersion and kind" if isinstance(document, dict) else f"a {_type_name(document)}"
        note = f"{prov}: not a Kubernetes object ({shape}); skipped"
        # A file named on the command line must hold objects; a scanned directory may hold
        # other YAML (CI configs, Helm values) and only gets a warning, unless configured to error.
        if explicit or options.non_k8s == "error":
            _failed(result.errors, prov.source, ManifestError(f"{prov}: not a Kubernetes object ({shape})"), options)
        elif options.non_k8s == "warn":
            result.skipped.append(note)
        return
    if _is_list_kind(document):
        _add_list(result, document, prov, item_lines, options)
        return
    _add_object(result, document, prov, options)


def _meant_as_object(value: object) -> bool:
    return isinstance(value, dict) and ("apiVersion" in value or "kind" in value)


def _add_object(result: LoadResult, document: dict[str, Any], prov: Provenance, options: LoadOptions) -> None:
    try:
        result.objects.append(_validated(document, prov))
    except ManifestError as exc:
        # One invalid object fails its source; the other objects of the file are still judged.
        _failed(result.errors, prov.source, exc, options)


def _add_list(
    result: LoadResult, document: Mapping[str, Any], prov: Provenance, item_lines: list[int], options: LoadOptions
) -> None:
    list_kind = str(document["kind"])
    # Typed lists from the API (PodList) omit kind and apiVersion on their items.
    item_kind = list_kind[: -len("List")] if list_kind != "List" else None
    items = document["items"]
    if item_kind is not None:
        items = [
            {"kind": item_kind, "apiVersion": document.get("apiVersion"), **item}
            if isinstance(item, dict) and ("kind" not in item or "apiVersion" not in item)
            else item
            for item in items
        ]
    _add_items(result, items, prov, item_lines, options, lambda index: f"items[{index}] of {list_kind}")


def _add_items(
    result: LoadResult,
    items: list[Any],
    prov: Provenance,
    item_lines: list[int],
    options: LoadOptions,
    what: Callable[[int], str],
) -> None:
    for index, item in enumerate(items):
        line = item_lines[index] if index < len(item_lines) else prov.line
        item_prov = Provenance(prov.source, line, prov.doc, prov.via)
        if not isinstance(item, dict):
            message = f"{item_prov}: {what(index)} is a {_type_name(item)}, not an object"
            _failed(result.errors, prov.source, ManifestError(message), options)
        elif _is_list_kind(item):
            _add_list(result, item, item_prov, [], options)
        else:
            _add_object(result, item, item_prov, options)


def _validated(document: dict[str, Any], prov: Provenance) -> K8sObject:
    for key in ("apiVersion", "kind"):
        value = document.get(key)
        if not isinstance(value, str) or not value:
            got = "is missing" if value is None else f"is {value!r}, not a non-empty string"
            raise ManifestError(f"{prov}: {key} {got}")
    metadata = document.get("metadata")
    what = f"{document['kind']}"
    if not isinstance(metadata, dict):
        got = "is missing" if metadata is None else f"is a {_type_name(metadata)}, not a mapping"
        raise ManifestError(f"{prov}: metadata of {what} {got}")
    name = metadata.get("name") or metadata.get("generateName")
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{prov}: metadata.name of {what} is missing or not a string")
    namespace = metadata.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise ManifestError(f"{prov}: metadata.namespace of {what} {name} is not a string")
    return K8sObject(document, prov)


def _type_name(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__
