"""Field lines: the line of the field a finding's path names, in the file it came from."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_k8ssec.sources.manifests import field_lines
from pytest_k8ssec.sources.manifests.field_lines import FieldLines

REPO = Path(__file__).resolve().parents[2]

TWO_DOCUMENTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: first}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    container.apparmor.security.beta.kubernetes.io/app: unconfined
spec:
  template:
    spec:
      containers:
      - name: side
        image: busybox
      - name: app
        image: nginx
        securityContext:
          privileged: true
---
apiVersion: v1
kind: Secret
metadata: {name: tls}
data:
  tls.crt: Zm9v
  config.yaml: |
    privileged: true
"""


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    (tmp_path / "deploy.yaml").write_text(TWO_DOCUMENTS)
    return tmp_path


@pytest.mark.parametrize(
    ("line", "path", "expected"),
    [
        (5, "spec.template.spec.containers[1].securityContext.privileged", 20),
        # Absent fields: the deepest ancestor that exists.
        (5, "spec.template.spec.containers[1].resources.limits", 17),
        (5, "spec.template.spec.containers[0].securityContext.runAsNonRoot", 15),
        (5, "spec.template.spec.containers[7].image", 14),
        (5, "spec.template.spec.securityContext", 13),
        (5, "spec.template.spec.containers[name=app].securityContext", 19),
        (5, 'metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]', 10),
        (5, "metadata.annotations['container.apparmor.security.beta.kubernetes.io/app']", 10),
        # A path never reads into a block scalar: "key: value" inside it is text.
        (22, "data.config.yaml.privileged", 27),
        # Keys with dots (Secret data) are found whole.
        (22, "data.tls.crt", 26),
        (22, "data.tls.key", 25),
        (1, "metadata.name", 3),
    ],
)
def test_field_line_of_a_path(manifests: Path, line: int, path: str, expected: int) -> None:
    assert FieldLines(manifests).line("deploy.yaml", line, path) == expected


def test_list_items_are_found_by_their_own_line(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n"
        "  spec:\n    hostNetwork: true\n"
    )
    assert FieldLines(tmp_path).line("list.yaml", 4, "spec.hostNetwork") == 8


def test_json_files(tmp_path: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"hostPID": True}}
    (tmp_path / "pod.json").write_text(json.dumps(pod, indent=2))
    lines = (tmp_path / "pod.json").read_text().splitlines()
    expected = next(i for i, text in enumerate(lines, 1) if "hostPID" in text)
    assert FieldLines(tmp_path).line("pod.json", 1, "spec.hostPID") == expected


def test_no_field_line_without_a_file(tmp_path: Path) -> None:
    fields = FieldLines(tmp_path)
    assert fields.line(None, None, "spec") is None
    assert fields.line("<stdin>", 1, "spec") is None
    # Rendered output: the line would be the renderer's, not the chart's.
    assert fields.line("chart/templates/a.yaml", 1, "spec", via="helm template chart") is None
    # A file that vanished (or changed) since it was loaded: no guess.
    assert fields.line("gone.yaml", 1, "spec") is None


def test_each_file_is_read_once_and_block_yaml_is_never_composed(
    manifests: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real(self))
    monkeypatch.setattr(field_lines, "_documents", lambda text: pytest.fail("composed block YAML"))
    fields = FieldLines(manifests)
    assert fields.line("deploy.yaml", 5, "spec.template") == 12
    assert fields.line("deploy.yaml", 22, "data") == 25
    assert len(reads) == 1


@pytest.mark.parametrize(
    "text",
    [
        # Anchors and merge keys, a multi-line flow mapping, tabs: the document is composed.
        "a: &x {b: 1}\nspec:\n  <<: *x\n  c: 2\n",
        "spec: {a: 1,\n  b: 2}\n",
        "spec:\n\tc: 2\n",
        # A document that starts on its "---" line.
        "--- {spec: {c: 2}}\n",
    ],
)
def test_what_the_text_walk_cannot_read_is_composed(tmp_path: Path, text: str) -> None:
    (tmp_path / "odd.yaml").write_text(text)
    (root,) = field_lines._documents(text).values() if "\t" not in text else [None]
    got = FieldLines(tmp_path).line("odd.yaml", 1, "spec.c")
    assert got == (None if root is None else field_lines.field_line(root, "spec.c"))


def _paths(node: Node, prefix: str = "") -> Iterator[str]:
    """Paths as checks write them to every node under ``node``, and to a child that is absent."""
    if isinstance(node, MappingNode):
        yield f"{prefix}.absent-field" if prefix else "absent-field"
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                continue
            forms = [f"{prefix}.{key.value}" if prefix else key.value]
            if "/" in key.value or "." in key.value:
                forms.append(f'{prefix}["{key.value}"]')
            for path in forms:
                yield path
                yield from _paths(value, path)
    elif isinstance(node, SequenceNode):
        yield f"{prefix}[{len(node.value) + 5}]"
        for index, item in enumerate(node.value):
            yield f"{prefix}[{index}]"
            yield from _paths(item, f"{prefix}[{index}]")
            name = _name_of(item)
            if name is not None:
                yield f"{prefix}[name={name}]"


def _name_of(node: Node) -> str | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "name" and isinstance(value, ScalarNode):
                return str(value.value)
    return None


def _corpus(tmp_path: Path) -> list[Path]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import corpus
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    corpus.generate(tmp_path / "corpus", 60, 1, workloads_only=False)
    return sorted((tmp_path / "corpus").rglob("*.yaml"))


def test_the_text_walk_agrees_with_the_composed_document(tmp_path: Path) -> None:
    """Every path to every node (and to absent children) of the check data and a generated
    corpus: the text walk gives the line composing gives."""
    files = sorted((REPO / "tests" / "data").rglob("*.yaml")) + _corpus(tmp_path)
    compared = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            roots = field_lines._documents(text)
        except yaml.YAMLError:
            continue  # malformed on purpose: the loader refuses it before any finding
        parsed = field_lines._File(text)
        walk = field_lines._Walk(parsed.lines)
        for line, root in roots.items():
            start, end = parsed.span(line - 1)
            if field_lines._UNSURE.search("\n".join(parsed.lines[start:end])):
                continue
            for field in _paths(root):
                expected = field_lines.field_line(root, field)
                try:
                    got = walk.field_line(line - 1, end, field) + 1
                except field_lines._Unsure:
                    continue
                assert got == expected, f"{path}:{line} {field}: text walk {got}, composed {expected}"
                compared += 1
    assert compared > 15_000, compared


def test_only_the_last_few_files_are_kept_and_a_file_read_again_gives_the_same_line(
    manifests: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(FieldLines.KEEP):
        (manifests / f"other-{n}.yaml").write_text(TWO_DOCUMENTS)
    reads: list[str] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self.name) or real(self))
    fields = FieldLines(manifests)
    assert fields.line("deploy.yaml", 5, "spec.template") == 12
    for n in range(FieldLines.KEEP):
        assert fields.line(f"other-{n}.yaml", 22, "data") == 25
    assert len(fields._files) == FieldLines.KEEP
    assert fields.line("deploy.yaml", 22, "data.tls.crt") == 26
    assert reads.count("deploy.yaml") == 2
    # The most recently used file stays: asked again, it is not read again.
    assert fields.line("other-7.yaml", 5, "spec.template") == 12
    assert reads.count("other-7.yaml") == 1


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n", "\u2028"])
def test_every_line_break_splitlines_knows_counts_as_a_line(tmp_path: Path, newline: str) -> None:
    # A file with "\r\n" (or other breaks) is split the way ``str.splitlines`` splits it.
    text = TWO_DOCUMENTS.replace("\n", newline)
    (tmp_path / "deploy.yaml").write_bytes(text.encode())
    fields = FieldLines(tmp_path)
    assert fields.line("deploy.yaml", 5, "spec.template.spec.containers[1].securityContext.privileged") == 20
    assert fields.line("deploy.yaml", 22, "data.tls.crt") == 26
    assert fields.line("deploy.yaml", 1, "metadata.name") == 3


@pytest.mark.parametrize(
    ("text", "composed"),
    [
        ("a: 1\nspec:\n  schedule: 5 * * * *\n  c: 2\n", False),  # a cron schedule holds no alias
        ("a: &x 1\nspec:\n  c: *x\n", True),
        ("a: &x 1\nspec:\n  c: [*x]\n", True),
        ("a: 1\nspec:\n  c: 2\n  ? d\n  : 3\n", True),
        ("a: 1\nspec:\n  c: !!str 2\n", True),
        ("a: 1\nspec:\n  c: a&b!c?<\n", False),  # the marks, but none the text walk cannot read
    ],
)
def test_the_marks_that_send_a_document_to_composing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, composed: bool
) -> None:
    calls: list[str] = []
    real = field_lines._documents
    monkeypatch.setattr(field_lines, "_documents", lambda text: calls.append(text) or real(text))
    (tmp_path / "odd.yaml").write_text(text)
    expected = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("  c:"))
    assert FieldLines(tmp_path).line("odd.yaml", 1, "spec.c") == expected
    assert bool(calls) == composed
    assert bool(field_lines._UNSURE.search(text)) == composed


def test_the_plain_key_scan_finds_what_the_plain_key_pattern_finds() -> None:
    import random

    pieces = ["a", "b", " ", ":", "#", "'", '"', "{", "[", "\t", "\xa0", "-", "x.y", "/"]
    rng = random.Random(7)
    matched = 0
    for _ in range(50_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        match = field_lines._PLAIN_KEY.match(text)
        expected = None if match is None else (match.group(1), text[match.end() :])
        assert field_lines._plain_key(text) == expected, repr(text)
        matched += match is not None
    assert matched > 1_000
