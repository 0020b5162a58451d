"""The line of the field a finding names, in the manifest file it was read from.

A finding's provenance is the line its document starts at; a reviewer (and a code-scanning
annotation) wants the line of ``privileged: true``. Loading keeps no node marks (that would cost
every object, for the few that have findings), so the field is looked up again here, only when a
report asks. When the field is absent (a missing ``resources.limits``) the deepest ancestor that
exists is the line. Rendered output (Helm, kustomize) and stdin have no file to point into: there
is no field line.

Composing a file again costs as much as parsing it, and the node trees it leaves behind slow every
later garbage collection; so block-style YAML (what manifests are, nearly always) is walked as
text, by indentation. A document the text walk cannot read for certain (tabs, anchors and
aliases, flow collections over several lines, complex keys, JSON) is composed instead, that
document only. ``tests/unit/test_field_lines.py`` holds the two walks to the same answers.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.objects import Provenance
from pytest_k8ssec.sources.manifests.parsing import _composed, _decode

# One step of a field path: ``.name``, ``[3]``, ``["a/b"]`` / ``['a/b']``, or ``[name=app]``.
_STEP = re.compile(r"""\[(\d+)\]|\[(["'])(.*?)\2\]|\[([^\]]*)\]""")


def _documents(text: str) -> dict[int, Node]:
    """Start line (1-based) -> node of every document, and of every item of a List or sequence
    (the loader gives each flattened item its own line)."""
    found: dict[int, Node] = {}
    for root in _composed(text):
        stack = [root]
        while stack:
            node = stack.pop()
            found.setdefault(node.start_mark.line + 1, node)
            items: list[Node] = []
            if isinstance(node, SequenceNode):
                items = list(node.value)
            elif isinstance(node, MappingNode):
                for key, value in node.value:
                    if isinstance(key, ScalarNode) and key.value == "items" and isinstance(value, SequenceNode):
                        items = list(value.value)
            stack.extend(item for item in items if isinstance(item, MappingNode))
    return found


def _steps(path: str) -> Iterator[tuple[str, str | int]]:
    """``a.b[2]["x/y"]`` -> ("key", "a.b") ... : mapping keys stay joined with their dots until
    the walk knows which keys exist (Secret data keys hold dots: ``data.tls.crt``)."""
    pos = 0
    while pos < len(path):
        if path[pos] == "[":
            match = _STEP.match(path, pos)
            if match is None:
                return
            if match.group(1) is not None:
                yield "index", int(match.group(1))
            elif match.group(3) is not None:
                yield "key", match.group(3)
            else:
                yield "name", match.group(4)
            pos = match.end()
            if pos < len(path) and path[pos] == ".":
                pos += 1
            continue
        end = path.find("[", pos)
        end = len(path) if end < 0 else end
        yield "keys", path[pos:end].rstrip(".")
        pos = end


def _child(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                child: Node = v
                return child
    return None


def _key_node(node: Node, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for k, _ in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return k
    return None


def field_line(root: Node, path: str) -> int:
    """The line of the field ``path`` names under ``root`` (its key's line), or of its deepest
    ancestor in the document."""
    node: Node = root
    line = root.start_mark.line + 1
    for kind, step in _steps(path):
        if kind == "keys":
            rest = str(step)
            while rest:
                if not isinstance(node, MappingNode):
                    return line
                # The longest key that the rest of the path starts with (keys may hold dots).
                keys = [
                    k.value
                    for k, _ in node.value
                    if isinstance(k, ScalarNode) and (rest == k.value or rest.startswith(k.value + "."))
                ]
                if not keys:
                    return line
                key = max(keys, key=len)
                key_node = _key_node(node, key)
                child = _child(node, key)
                if key_node is None or child is None:  # pragma: no cover - found above
                    return line
                line = key_node.start_mark.line + 1
                node = child
                rest = rest[len(key) + 1 :]
        elif kind == "key":
            key_node = _key_node(node, str(step))
            child = _child(node, str(step))
            if key_node is None or child is None:
                return line
            line, node = key_node.start_mark.line + 1, child
        elif kind == "index":
            index = int(step)
            if not isinstance(node, SequenceNode) or index >= len(node.value):
                return line
            node = node.value[index]
            line = node.start_mark.line + 1
        else:  # [name=app]: the list entry with that name
            field, _, value = str(step).partition("=")
            if not isinstance(node, SequenceNode):
                return line
            match = next(
                (item for item in node.value if getattr(_child(item, field), "value", None) == value),
                None,
            )
            if match is None:
                return line
            node = match
            line = node.start_mark.line + 1
    return line


# --- the text walk -------------------------------------------------------------------------------


class _Unsure(Exception):
    """The text walk cannot read this document for certain: compose it instead."""


# Anything the indentation walk does not model: tabs, anchors / aliases / merge keys, tags,
# complex keys, directives.
_UNSURE = re.compile(r"\t|(?:^|[\s\[{,])[&*!][^\s,\]}]|<<\s*:|^[ ]*\?(?:\s|$)|^%", re.MULTILINE)
_SEPARATOR = re.compile(r"(?:---|\.\.\.)(?:\s|$)")
_PLAIN_KEY = re.compile(r"([^\s#'\"{\[][^#]*?)\s*:(?:\s|$)")


def _indents(
    lines: list[str],
    start: int = 0,
    end: int | None = None,
    into: list[int] | None = None,
) -> list[int]:
    """Indentation of lines [start, end); -1 for blank and comment lines."""
    found = into if into is not None else [0] * len(lines)
    for i in range(start, len(lines) if end is None else end):
        text = lines[i]
        content = text.lstrip(" ")
        found[i] = -1 if not content.strip() or content.startswith("#") else len(text) - len(content)
    return found


def _is_dash(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _plain_key(text: str) -> tuple[str, str] | None:
    """What ``_PLAIN_KEY.match`` finds, as (key, rest), without the regex (the walk's hot spot):
    the first ":" followed by a space or the line's end, no "#" before it."""
    if not text or text[0] in "#'\"{[" or text[0].isspace():
        return None
    colon = text.find(":", 1)
    while colon >= 0:
        if colon + 1 == len(text) or text[colon + 1].isspace():
            return None if "#" in text[:colon] else (text[:colon].rstrip(), text[colon + 2 :])
        colon = text.find(":", colon + 1)
    return None


def _split_key(text: str) -> tuple[str, str]:
    """``key: rest`` -> (key, rest); quoted keys are unquoted."""
    if text[:1] == '"':
        end = 1
        while end < len(text) and text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        if end >= len(text) or "\\" in text[1:end]:
            raise _Unsure
        key, after = text[1:end], text[end + 1 :].lstrip(" ")
    elif text[:1] == "'":
        end = text.find("'", 1)
        if end < 0 or text[end + 1 : end + 2] == "'":
            raise _Unsure
        key, after = text[1:end], text[end + 1 :].lstrip(" ")
    else:
        found = _plain_key(text)
        if found is None:
            raise _Unsure
        return found
    if not after.startswith(":"):
        raise _Unsure
    return key, after[1:]


def _inline(rest: str) -> str:
    """What follows a key on its line, without a trailing comment ("" when the value is below)."""
    rest = rest.strip()
    if rest.startswith("#"):
        return ""
    if rest[:1] in ("{", "[") and (rest.count("{") != rest.count("}") or rest.count("[") != rest.count("]")):
        raise _Unsure  # a flow collection over several lines
    return rest


def _scalar(rest: str) -> str:
    value = rest.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


class _Walk:
    """Block-style YAML by indentation: a node is (start, end, column) of its lines, or a leaf."""

    def __init__(self, lines: list[str], indents: list[int] | None = None) -> None:
        self.lines = lines
        #: Indentation of each line; -1 for blank and comment lines (computed once per file).
        self.indents = indents if indents is not None else _indents(lines)
        # A document's findings (a test's, and the next helper's) walk the same mappings and
        # sequences down to their containers: each is read once.
        self._keys: dict[tuple[int, int, int], dict[str, tuple[int, str]]] = {}
        self._items: dict[tuple[int, int, int], list[tuple[str, int, int, int]]] = {}
        self._values: dict[tuple[int, int, int], tuple[str, int, int, int]] = {}

    def _end(self, start: int, end: int, column: int, sequence_here: bool) -> int:
        """The first line from ``start`` on that leaves a block whose entries sit at ``column``."""
        indents = self.indents
        for i in range(start, end):
            indent = indents[i]
            if indent < 0 or indent > column:
                continue
            if indent < column or not (sequence_here and _is_dash(self.lines[i][indent:])):
                return i
        return end

    def child(self, start: int, end: int) -> tuple[str, int, int, int] | None:
        """The block value starting below a key or a bare dash (``None``: empty, a null)."""
        for i in range(start, end):
            indent = self.indents[i]
            if indent < 0:
                continue
            if _is_dash(self.lines[i][indent:]):
                return "seq", i, self._end(i, end, indent, True), indent
            return "map", i, end, indent
        return None

    def entries(self, start: int, end: int, column: int) -> Iterator[tuple[str, int, str]]:
        """(key, line, rest of the line) of a block mapping; the first line may follow a dash."""
        indents = self.indents
        for i in range(start, end):
            indent = indents[i]
            if indent < 0 or (indent > column and i != start):
                continue  # blank, or inside a value
            text = self.lines[i]
            if i == start:
                content = text[column:]
            elif indent == column and not _is_dash(text[indent:]):
                content = text[indent:]
            elif indent == column:
                continue  # a sequence that is the value of the key before
            else:
                return
            key, rest = _split_key(content)
            yield key, i, rest

    def keys(self, start: int, end: int, column: int) -> dict[str, tuple[int, str]]:
        """``entries`` as key -> (line, rest of the line); a key given twice keeps its last."""
        found = self._keys.get((start, end, column))
        if found is None:
            found = self._keys[start, end, column] = {
                key: (i, rest) for key, i, rest in self.entries(start, end, column)
            }
        return found

    def value(self, line: int, rest: str, end: int, column: int) -> tuple[str, int, int, int]:
        """The value of the key at ``line``: inline (a leaf), or the block below it."""
        found = self._values.get((line, end, column))
        if found is None:
            found = self._values[line, end, column] = self._value(line, rest, end, column)
        return found

    def _value(self, line: int, rest: str, end: int, column: int) -> tuple[str, int, int, int]:
        if _inline(rest):  # a scalar, a one-line flow collection, or a block scalar below
            return "leaf", line, line + 1, column
        block = self.child(line + 1, self._end(line + 1, end, column, True))
        return block if block is not None else ("leaf", line, line + 1, column)

    def items(self, start: int, end: int, column: int) -> list[tuple[str, int, int, int]]:
        """The entries of a block sequence whose dashes sit at ``column``, each as a node."""
        found = self._items.get((start, end, column))
        if found is None:
            found = self._items[start, end, column] = self._sequence(start, end, column)
        return found

    def _sequence(self, start: int, end: int, column: int) -> list[tuple[str, int, int, int]]:
        indents = self.indents
        dashes = [i for i in range(start, end) if indents[i] == column and _is_dash(self.lines[i][column:])]
        nodes = []
        for position, i in enumerate(dashes):
            stop = dashes[position + 1] if position + 1 < len(dashes) else end
            after = self.lines[i][column + 1 :]
            content = after.lstrip(" ")
            if not content or content.startswith("#"):
                block = self.child(i + 1, stop)
                nodes.append(block if block is not None else ("leaf", i, i + 1, column))
            elif _is_dash(content) or content[:1] in ("{", "[", "|", ">"):
                _inline(content)
                nodes.append(("leaf", i, i + 1, column))
            elif _plain_key(content) is not None or content[:1] in ("'", '"'):
                nodes.append(("map", i, stop, column + 1 + len(after) - len(content)))
            else:
                nodes.append(("leaf", i, i + 1, column))
        return nodes

    def field_line(self, start: int, end: int, path: str) -> int:
        """0-based line of the field ``path`` in the document whose root starts at ``start``."""
        text = self.lines[start]
        indent = self.indents[start]
        if indent < 0:
            raise _Unsure
        if _is_dash(text[indent:]):  # an item of a List: its mapping starts after the dash
            (node,) = self.items(start, self._end(start + 1, end, indent, False), indent)[:1]
        elif text[indent:][:1] in ("{", "["):
            raise _Unsure
        else:
            node = ("map", start, end, indent)
        line = start
        for kind, step in _steps(path):
            if node[0] == "leaf":
                return line
            shape, first, stop, column = node
            if kind in ("keys", "key"):
                if shape != "map":
                    return line
                entries = self.keys(first, stop, column)
                rest_path = str(step)
                while rest_path:
                    if kind == "key":
                        key = rest_path if rest_path in entries else None
                    else:
                        found = [k for k in entries if rest_path == k or rest_path.startswith(k + ".")]
                        key = max(found, key=len) if found else None
                    if key is None:
                        return line
                    line, rest = entries[key]
                    node = self.value(line, rest, stop, column)
                    rest_path = "" if kind == "key" else rest_path[len(key) + 1 :]
                    if rest_path:
                        if node[0] != "map":
                            return line
                        shape, first, stop, column = node
                        entries = self.keys(first, stop, column)
            elif kind == "index":
                nodes = self.items(first, stop, column) if shape == "seq" else []
                if int(step) >= len(nodes):
                    return line
                node = nodes[int(step)]
                line = node[1]
            else:
                field, _, wanted = str(step).partition("=")
                match = None
                for item in self.items(first, stop, column) if shape == "seq" else []:
                    if item[0] == "leaf" and "{" in self.lines[item[1]]:
                        raise _Unsure  # a flow mapping names its entry: compose to read it
                    if item[0] == "map":
                        values = self.keys(item[1], item[2], item[3])
                        if field in values and _scalar(values[field][1]) == wanted:
                            match = item
                            break
                if match is None:
                    return line
                node, line = match, match[1]
        return line


# Line breaks ``str.splitlines`` honours besides "\n": a file free of them splits on "\n" alone, so
# its separators and documents are found in the text, without a list of its lines.
_ODD_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_SEPARATOR_LINE = re.compile(r"^(?:---|\.\.\.)(?:\s|$)", re.MULTILINE)


def _maybe_unsure(text: str) -> bool:
    """Whether ``_UNSURE`` may match ``text`` (every match holds one of these); substring tests
    are ten times faster than that regex, which tries an alternation at every position."""
    if any(mark in text for mark in ("\t", "&", "!", "<", "?")) or text[:1] == "%" or "\n%" in text:
        return True
    at = text.find("*")
    while at >= 0:  # "*alias"; "* * *" (a cron schedule) is no alias
        after = text[at + 1 : at + 2]
        if after and not after.isspace() and after not in ",]}":
            return True
        at = text.find("*", at + 1)
    return False


_JSON = re.compile(r"\s*[{\[]")


def _document_indents(lines: list[str]) -> list[int]:
    """``_indents`` of a whole document's lines, in one pass."""
    return [
        -1 if not (content := text.lstrip(" ")) or content[0] == "#" or content.isspace() else len(text) - len(content)
        for text in lines
    ]


class _File:
    """One manifest file: where its documents begin and end, and the lines of the documents a
    finding asked about (only those: a file's lines as strings weigh ten times its text)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.json = _JSON.match(text) is not None
        #: Character offset of each separator line (the plain-"\n" files only).
        self._offsets: list[int] = []
        if any(mark in text for mark in _ODD_BREAKS):
            self.__dict__["lines"] = lines = text.splitlines()
            self.count = len(lines)
            self.separators = [
                i for i, line in enumerate(lines) if line.startswith(("---", "...")) and _SEPARATOR.match(line)
            ]
        else:
            self.count = text.count("\n") + (0 if not text or text.endswith("\n") else 1)
            self.separators = []
            # A separator is "---" or "..." at a line start: find those (fast, literal search),
            # then match each the way a line is matched.
            starts = [0] if text.startswith(("---", "...")) else []
            for marker in ("\n---", "\n..."):
                at = text.find(marker)
                while at >= 0:
                    starts.append(at + 1)
                    at = text.find(marker, at + 1)
            line, position = 0, 0
            for at in sorted(starts):
                if _SEPARATOR_LINE.match(text, at):
                    line += text.count("\n", position, at)
                    position = at
                    self.separators.append(line)
                    self._offsets.append(at)
        self._offset_of = dict(zip(self.separators, self._offsets))
        #: Document start -> (its lines, its text walk or ``None`` if it must be composed), for documents with findings.
        self._documents: dict[int, tuple[list[str], _Walk | None]] = {}

    @property
    def lines(self) -> list[str]:
        """Every line of the file (computed on first use; the walks read one document's)."""
        if "lines" not in self.__dict__:
            self.__dict__["lines"] = self.text.splitlines()
        found: list[str] = self.__dict__["lines"]
        return found

    def span(self, index: int) -> tuple[int, int]:
        """The lines [start, end) of the document holding line ``index``."""
        position = bisect.bisect_right(self.separators, index)
        start = self.separators[position - 1] + 1 if position else 0
        end = self.separators[position] if position < len(self.separators) else self.count
        return start, end

    def _lines(self, start: int, end: int) -> tuple[str, list[str]]:
        """The text and the lines [start, end), where ``start`` is 0, a separator or the line after
        one, and ``end`` a separator or the end of the file."""
        if "lines" in self.__dict__:
            lines = self.lines[start:end]
            return "\n".join(lines), lines
        offsets = self._offset_of
        if start == 0:
            first = 0
        elif start in offsets:
            first = offsets[start]
        else:
            first = self.text.index("\n", offsets[start - 1]) + 1
        text = self.text[first : offsets[end] if end in offsets else len(self.text)]
        return text, text.split("\n")[: end - start]

    def _document(self, start: int, end: int) -> tuple[list[str], _Walk | None]:
        found = self._documents.get(start)
        if found is None:
            text, lines = self._lines(start, end)
            walkable = not self.json and not (lines and _SEPARATOR.match(lines[0]))
            if walkable and _maybe_unsure(text):
                walkable = not _UNSURE.search("\n".join(lines))
            walk = _Walk(lines, _document_indents(lines)) if walkable else None
            found = self._documents[start] = (lines, walk)
        return found

    def field_line(self, line: int, path: str) -> int | None:
        index = line - 1
        if not 0 <= index < self.count:
            return None
        start, end = self.span(index)
        if index < start:  # the document starts on its "---" line ("--- {...}")
            start = index
        lines, walk = self._document(start, end)
        if walk is not None:
            try:
                return walk.field_line(index - start, end - start, path) + start + 1
            except _Unsure:
                pass
        # Compose that document alone; its lines count from ``start``.
        text = "\n".join(lines) if not self.json else self.text
        offset = start if not self.json else 0
        root = _documents(text).get(line - offset)
        return None if root is None else field_line(root, path) + offset


class FieldLines:
    """Field lines of findings (a cache for one run's reports). A test's findings come in file
    order, so the last few files are kept: memory stays bounded, and a file is read again only
    when a later test comes back to it."""

    #: Files kept; the two helpers of a workload test, and xdist's reordering, stay within it.
    KEEP = 8

    def __init__(self, base: Path | None = None) -> None:
        self.base = base if base is not None else Path.cwd()
        self._files: OrderedDict[str, _File | None] = OrderedDict()

    def _file(self, source: str) -> _File | None:
        if source in self._files:
            self._files.move_to_end(source)
            return self._files[source]
        path = Path(source)
        found: _File | None
        try:
            data = (path if path.is_absolute() else self.base / path).read_bytes()
            found = _File(_decode(data, Provenance(source)))
        except (OSError, K8sSecError):
            found = None
        self._files[source] = found
        if len(self._files) > self.KEEP:
            self._files.popitem(last=False)
        return found

    def line(self, file: str | None, line: int | None, path: str, via: str | None = None) -> int | None:
        """The field line of a finding in ``file`` whose document starts at ``line``; ``None``
        without a file to point into (rendered output, stdin, a live object)."""
        if file is None or line is None or via or file.startswith("<"):
            return None
        found = self._file(file)
        if found is None:
            return None
        try:
            return found.field_line(line, path)
        except (yaml.YAMLError, K8sSecError, RecursionError):
            # The file changed since it was loaded: no field line (the document line still
            # stands), never a guess.
            return None
