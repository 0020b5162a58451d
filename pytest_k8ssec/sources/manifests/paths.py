"""What to load: paths, directories, globs and ``-`` (stdin) expanded to sources (a file, a chart, a
kustomization), the exclude patterns, and reading one file's bytes without blocking on a FIFO."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.sources.manifests.options import LoadOptions, SourceError, _check_size, _failed

YAML_SUFFIXES = (".yaml", ".yml", ".json")
CHART_FILE = "Chart.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass
class Expansion:
    """The sources that paths expand to, before anything is parsed (see ``expand``)."""

    sources: list[tuple[str, str, bool]] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)


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


def _read_file(path: str, options: LoadOptions) -> bytes:
    """The bytes of a manifest file, refused if it is not a regular file or is over the size limit."""
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
    return data


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
