"""Manifest bytes to objects: UTF-8/16 text, YAML documents as Kubernetes reads them, JSON as the API
server reads it, the guards against hostile input, List kinds and top-level sequences flattened,
each object validated and given its provenance (file, line, document index)."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import yaml

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.kube_yaml import (
    DUPLICATE_KEY_WHY,
    KubeYAMLLoader,
    ResolveError,
    compose_all,
    construct,
    json_number,
    refuse_excessive_aliasing,
    text_flags,
)
from pytest_k8ssec.sources.manifests.options import LoadOptions, LoadResult, _failed

# libyaml is 8x faster than the pure-Python loader on manifests (DESIGN.md, "Speed").
try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# The PyYAML release and loader that read documents (the parse cache serves only what the same produced).
PARSER = f"{yaml.__version__}-{'c' if _Loader.__name__.startswith('C') else 'py'}"


class _ManifestLoader(KubeYAMLLoader):
    """libyaml's safe loader, reading scalars as Kubernetes does (see kube_yaml), and never raising
    a bare error: what Kubernetes refuses becomes a ConstructorError carrying the line."""


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

# (document index, line, document, lines of its List items), as parsed and as the cache keeps them.
Documents = list[tuple[int, "int | None", Any, list[int]]]


# --- text -----------------------------------------------------------------------------------------


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


# --- JSON -----------------------------------------------------------------------------------------


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


# --- YAML -----------------------------------------------------------------------------------------


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
    flags = text_flags(text)
    doc_index = 0
    try:
        for node in _composed(text):
            line = node.start_mark.line + 1
            if may_alias and _has_alias(text, node):
                _guard_alias_expansion(node, where, line, len(text))
                refuse_excessive_aliasing(node)
            document = construct(node, text, flags)
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


# --- guards against hostile YAML ------------------------------------------------------------------


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


# --- documents to objects: List kinds, validation, provenance -------------------------------------


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
    if metadata is None and _component_config(document):
        # A component's own configuration file (the kubelet's --config) has no metadata: the API
        # never serves it. Its file name stands for its name, so findings can name it.
        metadata = {"name": prov.source.rsplit("/", 1)[-1] or document["kind"]}
        document = {**document, "metadata": metadata}
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


#: API groups of component configuration files (``KubeletConfiguration``): read as objects
#: without metadata.
COMPONENT_CONFIG_GROUPS = ("kubelet.config.k8s.io/",)


def _component_config(document: Mapping[str, Any]) -> bool:
    return str(document.get("apiVersion", "")).startswith(COMPONENT_CONFIG_GROUPS)


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
