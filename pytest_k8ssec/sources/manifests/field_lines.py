"""The line of the field a finding names, in the manifest file it was read from.

A finding's provenance is the line its document starts at; a reviewer (and a code-scanning
annotation) wants the line of ``privileged: true``. Loading keeps no node marks (that would cost
every object, for the few that have findings), so the file is composed again here, once per file,
only when a report asks. When the field is absent (a missing ``resources.limits``) the deepest
ancestor that exists is the line. Rendered output (Helm, kustomize) and stdin have no file to
point into: there is no field line.
"""

from __future__ import annotations

import re
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
            match = next((item for item in node.value if getattr(_child(item, field), "value", None) == value), None)
            if match is None:
                return line
            node = match
            line = node.start_mark.line + 1
    return line


class FieldLines:
    """Field lines of findings, each file composed once (a cache for one report's writing)."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = base if base is not None else Path.cwd()
        self._files: dict[str, dict[int, Node] | None] = {}

    def _file(self, source: str) -> dict[int, Node] | None:
        if source not in self._files:
            path = Path(source)
            try:
                text = _decode((path if path.is_absolute() else self.base / path).read_bytes(), Provenance(source))
                self._files[source] = _documents(text)
            except (OSError, yaml.YAMLError, K8sSecError, RecursionError):
                # The file changed or vanished since it was loaded: no field line (the document
                # line still stands), never a guess.
                self._files[source] = None
        return self._files[source]

    def line(self, file: str | None, line: int | None, path: str, via: str | None = None) -> int | None:
        """The field line of a finding in ``file`` whose document starts at ``line``; ``None``
        without a file to point into (rendered output, stdin, a live object)."""
        if file is None or line is None or via or file.startswith("<"):
            return None
        documents = self._file(file)
        if documents is None:
            return None
        root = documents.get(line)
        return None if root is None else field_line(root, path)
