"""Unit tests of the manifest loader (pytest_k8ssec.sources.manifests), on files under tmp_path.

Rendering (Helm, kustomize) is tested in test_rendering.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import pytest_k8ssec
from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.inventory import Inventory
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.workloads import is_workload, pod_spec
from pytest_k8ssec.sources import manifests
from pytest_k8ssec.sources.manifests import (
    ALIAS_EXPANSION_CHARS,
    ALIAS_EXPANSION_LIMIT,
    DEFAULT_MAX_BYTES,
    MAX_NESTING,
    LoadOptions,
    LoadResult,
    load,
    load_file,
    load_text,
)

REPO = Path(pytest_k8ssec.__file__).resolve().parent.parent

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: app
    image: nginx:1.27
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return path


def where(objects: list[K8sObject]) -> list[tuple[str, int | None, int | None]]:
    """(ref, line, doc) of each object."""
    return [(o.ref, o.provenance.line, o.provenance.doc) for o in objects]


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


# --- multi-document YAML ------------------------------------------------------------------------


def test_multi_document_yaml_skips_empty_and_comment_only_documents(tmp_path: Path) -> None:
    path = write(
        tmp_path / "all.yaml",
        """\
        # a comment before the first marker
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        ---
        ---
        # a document holding only a comment
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: b, namespace: web}
        ---
        """,
    )
    objects = load_file(path)
    # Lines are those of the documents' first content; empty documents still count as documents.
    assert where(objects) == [("ConfigMap/default/a", 3, 0), ("Service/web/b", 11, 3)]
    assert objects[0].provenance == Provenance(str(path), 3, 0)
    assert str(objects[1].provenance) == f"{path}:11"


def test_documents_without_markers_and_with_end_markers(tmp_path: Path) -> None:
    path = write(tmp_path / "x.yaml", configmap("a") + "...\n---\n" + configmap("b"))
    assert where(load_file(path)) == [("ConfigMap/default/a", 1, 0), ("ConfigMap/default/b", 7, 1)]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "---\n---\n# nothing\n...\n"])
def test_files_without_objects_give_nothing_and_no_note(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "empty.yaml", text)
    assert load_file(path) == []
    result = load([str(tmp_path)])
    assert (result.objects, result.skipped) == ([], [])


# --- JSON ---------------------------------------------------------------------------------------


def test_json_file_with_one_object(tmp_path: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": {}}
    path = write(tmp_path / "pod.json", "\n" + json.dumps(pod, indent=2))
    objects = load_file(path)
    assert where(objects) == [("Pod/ns/p", 2, 0)]
    assert objects[0].raw == pod


def test_json_list_is_flattened_with_the_line_of_each_item(tmp_path: Path) -> None:
    # What `kubectl get pods -o json` writes: a v1 List, 4-space indentation.
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b", "namespace": "x"}},
        ],
        "metadata": {"resourceVersion": ""},
    }
    path = write(tmp_path / "pods.json", json.dumps(listing, indent=4))
    objects = load_file(path)
    assert where(objects) == [("Pod/x/a", 5, 0), ("Deployment/x/b", 13, 0)]


def test_json_typed_list_items_get_kind_and_api_version(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pods.json",
        '{"apiVersion": "v1", "kind": "PodList",\n "items": [\n  {"metadata": {"name": "a"}},\n\n  {"metadata": {"name": "b"}}]}',
    )
    objects = load_file(path)
    assert where(objects) == [("Pod/default/a", 3, 0), ("Pod/default/b", 5, 0)]
    assert objects[0].raw == {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"}}


def test_json_with_tabs_and_a_bom(tmp_path: Path) -> None:
    text = '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {\n\t\t"name": "tabbed"\n\t}\n}\n'
    assert where(load_file(write(tmp_path / "tabs.json", text))) == [("ConfigMap/default/tabbed", 1, 0)]
    bom = write(tmp_path / "bom.json", b"\xef\xbb\xbf" + text.encode())
    assert where(load_file(bom)) == [("ConfigMap/default/tabbed", 1, 0)]


def test_json_on_stdin_with_tabs_parses_as_yaml(tmp_path: Path) -> None:
    data = b'{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {"name": "c"}\n}\n'
    result = load(["-"], LoadOptions(stdin=data))
    assert where(result.objects) == [("ConfigMap/default/c", 1, 0)]


def test_invalid_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{\n  "apiVersion": "v1",\n  "kind": "Pod"\n  "metadata": {}\n}\n')
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:4: invalid JSON: Expecting ',' delimiter (column 3)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", ":1: invalid JSON: Expecting value (column 1)"),
        (b'{"a": 1}\n{"b": 2}\n', ":2: invalid JSON: Extra data (column 1)"),
        (b'{"a":\n  "\xff"}', ":2: not UTF-8 text: invalid start byte (byte 9)"),
        (b'{"a":\n  ' + b"1" * 5000 + b"}", ":2: invalid JSON: Exceeds the limit (4300 digits)"),
        (b"[" * 100_000, ": invalid JSON: nested too deeply"),
        (b'{"a":\n  NaN}', ":2: invalid JSON: 'NaN' is not a number the API server can read"),
        (b'{"a": [1,\n\n  1e400]}', ":3: invalid JSON: '1e400' is not a number the API server can read"),
    ],
    ids=["empty", "two-values", "not-utf8", "huge-integer", "deep", "nan", "past-float64"],
)
def test_bad_json_is_an_error_never_a_crash(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value).startswith(f"{path}{message}")


def test_json_numbers_are_what_the_api_server_gives_back(tmp_path: Path) -> None:
    # The server reads JSON numbers as int64 or float64 and writes whole floats as integers.
    text = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}, "x": [1.0, 1e20, 1e21, 0.5, 9223372036854775808, -0.0, 7]}'
    (obj,) = load_file(write(tmp_path / "n.json", text))
    assert obj.raw["x"] == [1, 10**20, 1e21, 0.5, 9223372036854776000, 0, 7]
    assert [type(v) for v in obj.raw["x"]] == [int, int, float, float, int, int, int]


# --- List kinds ---------------------------------------------------------------------------------


def test_v1_list_is_flattened_with_the_line_of_each_item(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ServiceAccount
          metadata:
            name: bot
            namespace: ci
        - apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRole
          metadata:
            name: reader
        ---
        """
    )
    path = write(tmp_path / "list.yaml", text + configmap("after"))
    objects = load_file(path)
    assert where(objects) == [
        ("ServiceAccount/ci/bot", 4, 0),
        ("ClusterRole/reader", 9, 0),
        ("ConfigMap/default/after", 14, 1),
    ]


def test_pod_list_items_without_kind_and_api_version_get_them(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pods.yaml",
        """\
        apiVersion: v1
        kind: PodList
        metadata:
          resourceVersion: "12"
        items:
        - metadata:
            name: a
            namespace: shop
          spec: {containers: [{name: app, image: nginx}]}
        - kind: Pod
          metadata: {name: b}
        """,
    )
    objects = load_file(path)
    assert where(objects) == [("Pod/shop/a", 6, 0), ("Pod/default/b", 10, 0)]
    assert objects[0].kind == "Pod" and objects[0].api_version == "v1"
    assert objects[0].raw["spec"] == {"containers": [{"name": "app", "image": "nginx"}]}
    assert is_workload(objects[0])


def test_typed_list_of_a_group_kind_gives_the_group_to_its_items(tmp_path: Path) -> None:
    path = write(tmp_path / "d.yaml", "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: web}\n")
    (obj,) = load_file(path)
    assert (obj.ref, obj.api_version, obj.api_group) == ("Deployment/default/web", "apps/v1", "apps")


def test_nested_list_and_empty_list(tmp_path: Path) -> None:
    path = write(
        tmp_path / "nested.yaml",
        """\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: List
          items:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: inner}}
        ---
        apiVersion: v1
        kind: List
        items: []
        """,
    )
    assert where(load_file(path)) == [("ConfigMap/default/inner", 4, 0)]


def test_v1_list_item_without_kind_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, metadata: {name: b}}\n",
    )
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:5: kind is missing"


def test_list_item_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "list.yaml", "apiVersion: v1\nkind: List\nitems:\n- just a string\n")
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:4: items[0] of List is a string, not an object"


# --- directories, globs, stdin, duplicates -------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """deploy/ with YAML at several depths, files to ignore and hidden folders."""
    root = tmp_path / "deploy"
    write(root / "a.yaml", configmap("a"))
    write(root / "z.yml", configmap("z"))
    write(root / "sub" / "b.yml", configmap("b"))
    write(
        root / "sub" / "deeper" / "c.json",
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    )
    write(root / "sub" / "deeper" / "d.YAML.txt", configmap("ignored-suffix"))
    write(root / "README.md", "# not yaml: [\n")
    write(root / "notes.txt", "key: [unclosed\n")
    write(root / "script.sh", "echo hi\n")
    write(root / ".hidden" / "secret.yaml", configmap("hidden-dir"))
    write(root / ".github" / "workflows" / "ci.yml", "on: push\njobs: {}\n")
    write(root / ".dotfile.yaml", configmap("hidden-file"))
    return root


def test_directory_is_scanned_recursively_for_yaml_yml_json_only(tree: Path) -> None:
    result = load([str(tree)])
    assert [o.name for o in result.objects] == ["a", "z", "b", "c"]
    assert [o.provenance.source for o in result.objects] == [
        str(tree / "a.yaml"),
        str(tree / "z.yml"),
        str(tree / "sub" / "b.yml"),
        str(tree / "sub" / "deeper" / "c.json"),
    ]
    assert result.skipped == []


def test_glob_in_one_folder(tree: Path) -> None:
    result = load([str(tree / "*.y*ml")])
    assert [o.name for o in result.objects] == ["a", "z"]  # hidden files never match


def test_recursive_glob(tree: Path) -> None:
    result = load([str(tree / "**" / "*.yml")])
    assert [o.name for o in result.objects] == ["b", "z"]  # sorted paths; .github/ is hidden
    result = load([str(tree / "**")])  # folders too: each is scanned, files load once
    assert sorted(o.name for o in result.objects) == ["a", "b", "c", "z"]


def test_glob_matching_nothing_is_an_error(tree: Path) -> None:
    pattern = str(tree / "**" / "*.nothing")
    with pytest.raises(ManifestError) as info:
        load([pattern])
    assert str(info.value) == f"{pattern}: the pattern matches no file"


def test_glob_is_a_scan_that_takes_manifests_only(tree: Path) -> None:
    result = load([str(tree / "*")])  # README.md, notes.txt and script.sh are not manifests
    assert [o.name for o in result.objects] == ["a", "b", "c", "z"]
    pattern = str(tree / "*.txt")
    with pytest.raises(ManifestError) as info:
        load([pattern])
    assert str(info.value) == f"{pattern}: the pattern matches no folder and no .yaml, .yml or .json file"


def test_glob_matched_non_kubernetes_yaml_is_skipped_like_a_scanned_file(tmp_path: Path) -> None:
    write(tmp_path / "deploy.yaml", configmap("a"))
    write(tmp_path / "values.yaml", "replicas: 2\n")
    result = load([str(tmp_path / "*.yaml")])
    assert [o.name for o in result.objects] == ["a"]
    assert result.skipped == [
        f"{tmp_path / 'values.yaml'}:1: not a Kubernetes object (a mapping without apiVersion and kind); skipped"
    ]


def test_path_with_glob_characters_that_exists_is_taken_literally(tmp_path: Path) -> None:
    path = write(tmp_path / "app[1].yaml", configmap("literal"))
    write(tmp_path / "app1.yaml", configmap("glob-match"))
    assert [o.name for o in load([str(path)]).objects] == ["literal"]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load([str(tmp_path / "nope.yaml")])
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such file or directory"


def test_a_path_given_twice_or_reached_twice_loads_once(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree.parent)
    a = str(tree / "a.yaml")
    result = load([a, a, "deploy/a.yaml", "./deploy/../deploy/a.yaml", str(tree), str(tree / "*.yaml")])
    assert [o.name for o in result.objects] == ["a", "z", "b", "c"]
    assert next(o.provenance.source for o in result.objects) == a  # the first spelling wins


def test_a_symlink_to_a_loaded_file_loads_once(tmp_path: Path) -> None:
    path = write(tmp_path / "real.yaml", configmap("a"))
    (tmp_path / "link.yaml").symlink_to(path)
    assert [o.name for o in load([str(tmp_path)]).objects] == ["a"]


def test_several_paths_load_in_the_order_given(tmp_path: Path) -> None:
    b = write(tmp_path / "b.yaml", configmap("b"))
    a = write(tmp_path / "a.yaml", configmap("a"))
    assert [o.name for o in load([str(b), str(a)]).objects] == ["b", "a"]


def test_stdin(tmp_path: Path) -> None:
    data = (configmap("one") + "---\n" + POD.format(name="two")).encode()
    result = load(["-", "-"], LoadOptions(stdin=data))  # "-" twice reads once
    assert where(result.objects) == [("ConfigMap/default/one", 1, 0), ("Pod/default/two", 6, 1)]
    assert str(result.objects[1].provenance) == "<stdin>:6"


def test_stdin_without_data_gives_nothing() -> None:
    assert load(["-"]).objects == []


def test_stdin_counts_as_named_explicitly(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load(["-"], LoadOptions(stdin=b"replicas: 2\n"))
    assert str(info.value) == "<stdin>:1: not a Kubernetes object (a mapping without apiVersion and kind)"


def test_load_text() -> None:
    (obj,) = load_text(configmap("t"), source="inline.yaml")
    assert obj.provenance == Provenance("inline.yaml", 1, 0)
    (obj,) = load_text(b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}', source="x.json")
    assert obj.ref == "ConfigMap/default/j"


# --- malformed input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  key: [unclosed\n",
            ":7: invalid YAML in document 0: did not find expected ',' or ']' (while parsing a flow sequence at line 6)",
        ),
        (
            configmap("a") + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n   bad: indent\n",
            ":10: invalid YAML in document 1: mapping values are not allowed in this context",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 'unterminated\n",
            ":5: invalid YAML in document 0: found unexpected end of stream (while scanning a quoted scalar at line 4)",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  x: .nan\n",
            ":5: invalid YAML in document 0: cannot read '.nan': nan cannot be encoded as JSON, so the API server refuses the document",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  ~: x\n",
            ":5: invalid YAML in document 0: '~' is a null key, which Kubernetes refuses",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: *undefined\n",
            ":4: invalid YAML in document 0: found undefined alias",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  x: \x07\n",
            ":5: invalid YAML in document 0: control characters are not allowed",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  x: !!bool maybe\n",
            ":5: invalid YAML in document 0: cannot read 'maybe' as bool: Kubernetes reads it as str, not bool",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  x: !!int " + "9" * 5000 + "\n",
            ":5: invalid YAML in document 0: cannot read '9999999999999999999999999999999999999...' as int: "
            "Kubernetes reads it as str, not int",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  x: 1\n  ? [k]\n  : v\n",
            ":6: invalid YAML in document 0: a mapping or a sequence cannot be a key (Kubernetes refuses the document)",
        ),
    ],
    ids=[
        "unclosed-flow",
        "bad-indent-doc-1",
        "unterminated-quote",
        "nan-value",
        "null-key",
        "undefined-alias",
        "control-char",
        "bad-bool",
        "huge-integer-tagged-int",
        "sequence-key",
    ],
)
def test_malformed_yaml_names_file_line_and_document(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.yaml", text.encode())
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}{message}"


def test_malformed_file_in_a_scanned_directory_stops_the_load(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", configmap("a"))
    bad = write(tmp_path / "b.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
    with pytest.raises(ManifestError) as info:
        load([str(tmp_path)])
    assert str(info.value).startswith(f"{bad}:4: invalid YAML in document 0: ")


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "latin1.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n".encode("latin-1")
    )
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:4: not UTF-8 text: invalid continuation byte (byte 52)"


def test_utf8_bom_and_utf16_load(tmp_path: Path) -> None:
    text = configmap("caf\u00e9")
    bom = write(tmp_path / "bom.yaml", b"\xef\xbb\xbf" + text.encode())
    assert where(load_file(bom)) == [("ConfigMap/default/caf\u00e9", 1, 0)]
    utf16 = write(tmp_path / "utf16.yaml", text.encode("utf-16"))
    assert where(load_file(utf16)) == [("ConfigMap/default/caf\u00e9", 1, 0)]


def test_crlf_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path / "crlf.yaml", (configmap("a") + "---\n" + configmap("b")).replace("\n", "\r\n").encode())
    assert where(load_file(path)) == [("ConfigMap/default/a", 1, 0), ("ConfigMap/default/b", 6, 1)]


def test_values_stay_what_kubernetes_reads(tmp_path: Path) -> None:
    # Kubernetes turns YAML into JSON first (go-yaml v2, then JSON): an unquoted date stays a
    # string, keys become strings ("n" is the boolean false to go-yaml, so its key is "false"),
    # unknown tags are ignored, and a huge integer that no number type holds stays text.
    path = write(
        tmp_path / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  creationTimestamp: 2024-01-02T03:04:05Z\n"
        "data:\n  day: 2024-02-30\n  n: 0x10\n  on: yes\n  ref: !Ref other\n  obj: !!python/object:os.system {}\n"
        "  huge: " + "9" * 5000 + "\n",
    )
    (obj,) = load_file(path)
    assert obj.raw["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"
    assert obj.raw["data"] == {
        "day": "2024-02-30",
        "false": 16,
        "true": True,
        "ref": "other",
        "obj": {},
        "huge": "9" * 5000,
    }
    json.dumps(obj.raw)  # serializable for reports


# --- documents that are not Kubernetes objects ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("- a\n- b\n", "a list"),
        ("just a string\n", "a string"),
        ("42\n", "a number"),
        ("true\n", "a boolean"),
        ("replicas: 2\nimage: {tag: latest}\n", "a mapping without apiVersion and kind"),
    ],
)
def test_non_mapping_document_in_an_explicit_file_is_an_error(tmp_path: Path, text: str, shape: str) -> None:
    path = write(tmp_path / "x.yaml", configmap("ok") + "---\n" + text)
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:6: not a Kubernetes object ({shape})"
    with pytest.raises(ManifestError):
        load([str(path)])


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A scanned folder: a manifest, a Helm values.yaml outside any chart, a CI config."""
    root = tmp_path / "repo"
    write(root / "deploy.yaml", configmap("a"))
    write(root / "values.yaml", "# Helm values\nreplicaCount: 2\nimage:\n  tag: latest\n")
    write(root / "ci" / "pipeline.yml", "- step: build\n- step: test\n")
    return root


def test_non_kubernetes_yaml_in_a_scanned_dir_is_skipped_with_a_note(mixed: Path) -> None:
    result = load([str(mixed)])
    assert [o.name for o in result.objects] == ["a"]
    assert result.skipped == [
        f"{mixed / 'values.yaml'}:2: not a Kubernetes object (a mapping without apiVersion and kind); skipped",
        f"{mixed / 'ci' / 'pipeline.yml'}:1: not a Kubernetes object (a list); skipped",
    ]
    assert load([str(mixed)], LoadOptions(non_k8s="warn")).skipped == result.skipped


def test_non_kubernetes_yaml_in_a_scanned_dir_can_be_an_error(mixed: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load([str(mixed)], LoadOptions(non_k8s="error"))
    # Files load in walk order (a folder's files, then its subfolders), so values.yaml is first.
    assert (
        str(info.value) == f"{mixed / 'values.yaml'}:2: not a Kubernetes object (a mapping without apiVersion and kind)"
    )


def test_non_kubernetes_yaml_in_a_scanned_dir_can_be_ignored(mixed: Path) -> None:
    result = load([str(mixed)], LoadOptions(non_k8s="ignore"))
    assert [o.name for o in result.objects] == ["a"]
    assert result.skipped == []


def test_non_kubernetes_yaml_named_explicitly_is_an_error_even_when_ignored(mixed: Path) -> None:
    with pytest.raises(ManifestError):
        load([str(mixed / "values.yaml")], LoadOptions(non_k8s="ignore"))


# --- required fields and their types --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nmetadata: {name: a}\n", "kind is missing"),
        ("kind: Pod\nmetadata: {name: a}\n", "apiVersion is missing"),
        ("apiVersion: v1\nkind: ''\nmetadata: {name: a}\n", "kind is '', not a non-empty string"),
        ("apiVersion: 1\nkind: Pod\nmetadata: {name: a}\n", "apiVersion is 1, not a non-empty string"),
        ("apiVersion: v1\nkind: [Pod]\nmetadata: {name: a}\n", "kind is ['Pod'], not a non-empty string"),
        ("apiVersion: v1\nkind: Pod\n", "metadata of Pod is missing"),
        ("apiVersion: v1\nkind: Pod\nmetadata: []\n", "metadata of Pod is a list, not a mapping"),
        ("apiVersion: v1\nkind: Pod\nmetadata: name-only\n", "metadata of Pod is a string, not a mapping"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n", "metadata.name of Pod is missing or not a string"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: ''}\n", "metadata.name of Pod is missing or not a string"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: 7}\n", "metadata.name of Pod is missing or not a string"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: [x]}\n",
            "metadata.namespace of Pod a is not a string",
        ),
    ],
)
def test_missing_or_mistyped_required_fields_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    # The bad object is the second document, at line 6, to prove the line is the document's.
    path = write(tmp_path / "x.yaml", configmap("ok") + "---\n" + text)
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:6: {message}"


def test_generate_name_is_accepted_and_names_the_object(tmp_path: Path) -> None:
    path = write(
        tmp_path / "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\nspec:\n  template:\n"
        "    spec:\n      containers: [{name: m, image: busybox}]\n",
    )
    (job,) = load_file(path)
    assert (job.ref, job.name) == ("Job/default/migrate-", "migrate-")
    assert is_workload(job)


def test_wrong_types_deeper_in_the_object_load_for_the_checks_to_report(tmp_path: Path) -> None:
    # containers: "x" and securityContext: [] are malformed-object findings, not loader errors.
    path = write(
        tmp_path / "pods.yaml",
        POD.format(name="ok").replace("spec:\n", "spec:\n  securityContext: []\n")
        + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: strings}\nspec: {containers: x}\n",
    )
    objects = load_file(path)
    assert [o.name for o in objects] == ["ok", "strings"]
    spec = pod_spec(objects[1])
    assert spec is not None and spec.spec == {"containers": "x"}


# --- hostile input: aliases, nesting, size ----------------------------------------------------------

BILLION_LAUGHS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: lol}
data:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path / "lol.yaml", configmap("before") + "---\n" + BILLION_LAUGHS)
    started = time.perf_counter()
    with pytest.raises(ManifestError) as info:
        load_file(path)
    elapsed = time.perf_counter() - started
    assert str(info.value) == (
        f"{path}:6: YAML aliases expand to more than {ALIAS_EXPANSION_LIMIT:,} nodes (an alias bomb); "
        "refusing to load the document"
    )
    assert elapsed < 5, f"refusing the alias bomb took {elapsed:.1f} s"  # a sanity bound; it takes ms


def test_alias_bomb_in_json_style_flow_is_refused(tmp_path: Path) -> None:
    levels = ['"a": &a ["x","x","x","x","x","x","x","x","x","x"]']
    levels += [f'"{chr(98 + i)}": &{chr(98 + i)} [' + ",".join([f"*{chr(97 + i)}"] * 10) + "]" for i in range(7)]
    text = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {' + ", ".join(levels) + "}}"
    with pytest.raises(ManifestError, match="an alias bomb"):
        load_text(text, "stdin-like")


def test_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "cycle.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: &d {self: *d}\n")
    with pytest.raises(ManifestError) as info:
        load_file(path)
    assert str(info.value) == f"{path}:1: a YAML alias refers to a node that contains it (a cycle)"


def test_benign_anchors_and_merge_keys_load(tmp_path: Path) -> None:
    path = write(
        tmp_path / "anchors.yaml",
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels: &labels {app: web, tier: front}
        spec:
          selector:
            matchLabels: *labels
          template:
            metadata:
              labels: *labels
            spec:
              containers:
              - name: app
                <<: &common
                  image: "registry.example.com/web:1"
                  securityContext: &hardened {runAsNonRoot: true, allowPrivilegeEscalation: false}
              - <<: *common
                name: sidecar
                resources: {limits: {"cpu": "1"}}
        """,
    )
    (obj,) = load_file(path)
    spec = obj.raw["spec"]
    assert spec["selector"]["matchLabels"] == {"app": "web", "tier": "front"} == spec["template"]["metadata"]["labels"]
    sidecar = spec["template"]["spec"]["containers"][1]
    assert sidecar["name"] == "sidecar" and sidecar["image"] == "registry.example.com/web:1"
    assert sidecar["securityContext"] == {"runAsNonRoot": True, "allowPrivilegeEscalation": False}


def test_many_aliases_to_a_big_node_are_not_a_bomb(tmp_path: Path) -> None:
    # 20 references to a 1,000-entry mapping expand to ~40k nodes: ordinary, not refused.
    data = "\n".join(f"    k{i}: v{i}" for i in range(1000))
    refs = "\n".join(f"  r{i}: *big" for i in range(20))
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: many}}\ndata:\n  big: &big\n{data}\nextra:\n{refs}\n"
    (obj,) = load_text(text)
    assert len(obj.raw["extra"]) == 20


@pytest.mark.parametrize("aliases", [200, 2000])
def test_aliases_of_a_big_string_are_refused_by_the_text_they_expand_to(tmp_path: Path, aliases: int) -> None:
    # issue 12 item 15: 200 aliases of a 1 MiB string took 59 s in the credential checks, and
    # 2,000 never ended; few nodes, so only a bound on the expanded text catches it.
    refs = ", ".join(f"k{i}: *s" for i in range(1, aliases + 1))
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k0: &s " + "A" * 2**20 + ", " + refs + "}\n"
    path = write(tmp_path / "big.yaml", text)
    limit = max(ALIAS_EXPANSION_CHARS, 10 * len(text))
    started = time.perf_counter()
    with pytest.raises(ManifestError) as info:
        load_file(path)
    elapsed = time.perf_counter() - started
    assert str(info.value) == (
        f"{path}:1: YAML aliases expand to more than {limit:,} characters of text (an alias bomb; the limit "
        f"is the larger of {ALIAS_EXPANSION_CHARS:,} and 10x the file); refusing to load the document"
    )
    assert elapsed < 10, f"refusing took {elapsed:.1f} s"  # a sanity bound; it takes well under a second


def test_a_few_aliases_of_a_big_string_load(tmp_path: Path) -> None:
    # 9 aliases of a 1 MiB string: 10 MiB of text, under the bound, as a real file might hold.
    refs = ", ".join(f"k{i}: *s" for i in range(1, 10))
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k0: &s " + "A" * 2**20 + ", " + refs + "}\n"
    (obj,) = load_text(text)
    assert len(obj.raw["data"]) == 10 and obj.raw["data"]["k9"] == "A" * 2**20


def test_an_anchor_defined_twice_refers_to_the_later_node_as_in_kubernetes(tmp_path: Path) -> None:
    # libyaml's composer refuses a redefined anchor; go-yaml (and so the API server) takes the later one.
    path = write(
        tmp_path / "anchors.yaml",
        configmap("first")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: twice}\ndata: {a: &x one, b: &x two, c: *x}\n"
        + "---\n"
        + configmap("after"),
    )
    objects = load_file(path)
    assert where(objects) == [
        ("ConfigMap/default/first", 1, 0),
        ("ConfigMap/default/twice", 6, 1),
        ("ConfigMap/default/after", 11, 2),
    ]
    assert objects[1].raw["data"] == {"a": "one", "b": "two", "c": "two"}


def test_deep_nesting_is_refused_without_crashing_the_process(tmp_path: Path) -> None:
    # libyaml's composer recurses in C: 100k levels would overflow the C stack and kill the
    # interpreter, so this runs in a child process whose survival is the assertion.
    flow = write(tmp_path / "flow.yaml", "[" * 100_000)
    block = write(
        tmp_path / "block.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n" + "- " * 50_000 + "x\n"
    )
    indented = write(
        tmp_path / "indented.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n"
        + "".join(" " * i + f"k{i}:\n" for i in range(1, 3000)),
    )
    deep_json = write(tmp_path / "deep.json", "[" * 100_000)
    code = textwrap.dedent(
        """\
        import sys
        from pytest_k8ssec.errors import ManifestError
        from pytest_k8ssec.sources.manifests import load_file
        for path in sys.argv[1:]:
            try:
                load_file(path)
                print("LOADED", path)
            except ManifestError as exc:
                print("ManifestError:", exc)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(flow), str(block), str(indented), str(deep_json)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, f"the loader crashed the process (exit {proc.returncode}): {proc.stderr[-2000:]}"
    assert proc.stdout.splitlines() == [
        f"ManifestError: {flow}:1: YAML nested more than {MAX_NESTING} levels deep; refusing to load",
        f"ManifestError: {block}:5: YAML nested more than {MAX_NESTING} levels deep; refusing to load",
        f"ManifestError: {indented}:{MAX_NESTING + 4}: YAML nested more than {MAX_NESTING} levels deep; refusing to load",
        f"ManifestError: {deep_json}: invalid JSON: nested too deeply",
    ]


def test_nesting_is_bounded_per_document_not_per_file(tmp_path: Path) -> None:
    # Two documents 400 levels deep each: more brackets than MAX_NESTING in the file, but
    # neither document is too deep, so both load.
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: " + "[" * 400 + "]" * 400 + "}\n"
    path = write(tmp_path / "two.yaml", doc + "---\n" + doc)
    assert [o.provenance.line for o in load_file(path)] == [1, 6]


@pytest.mark.parametrize("style", ["flow", "block", "indented"])
def test_the_nesting_limit_is_ours_whatever_the_pyyaml_version(tmp_path: Path, style: str) -> None:
    # PyYAML 6.0.4's libyaml refuses 1,000 levels with its own message, 6.0.3's has no limit:
    # MAX_NESTING levels load and one more is refused with our message, under either.
    def deep(levels: int) -> str:
        head = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n"
        if style == "flow":  # the object is level 1, data level 2
            return head + "  x: " + "[" * (levels - 2) + "]" * (levels - 2) + "\n"
        if style == "block":
            return head + "  - " + "- " * (levels - 2) + "x\n"
        return head + "".join(" " * i + f"k{i}:\n" for i in range(1, levels))

    assert MAX_NESTING == 500
    (obj,) = load_text(deep(MAX_NESTING))
    assert obj.name == "a"
    path = write(tmp_path / "deep.yaml", deep(MAX_NESTING + 1))
    with pytest.raises(ManifestError) as info:
        load_file(path)
    line = {"flow": 5, "block": 5, "indented": MAX_NESTING + 4}[style]
    assert str(info.value) == f"{path}:{line}: YAML nested more than {MAX_NESTING} levels deep; refusing to load"
    too_deep_for_libyaml = write(tmp_path / "deeper.yaml", deep(1200))
    with pytest.raises(ManifestError) as info:
        load_file(too_deep_for_libyaml)
    assert (
        str(info.value)
        == f"{too_deep_for_libyaml}:{line}: YAML nested more than {MAX_NESTING} levels deep; refusing to load"
    )


def test_realistic_file_with_many_brackets_loads(tmp_path: Path) -> None:
    # Thousands of "{}" and "[...]" across documents must not trip the nesting guard.
    doc = (
        POD.format(name="p{i}")
        + "    args: [a, b]\n    resources: {}\n    securityContext: {capabilities: {drop: [ALL]}}\n"
    )
    path = write(tmp_path / "many.yaml", "---\n".join(doc.replace("{i}", str(i)) for i in range(1500)))
    assert len(load_file(path)) == 1500


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(100 * 2**20)  # sparse: 100 MiB on paper, nothing on disk

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader opened a file over the limit")

    monkeypatch.setattr(manifests.paths, "open", no_read, raising=False)
    with pytest.raises(ManifestError) as info:
        load([str(tmp_path)])
    assert DEFAULT_MAX_BYTES == 64 * 2**20
    assert str(info.value) == (
        f"{path}: 100.0 MiB is larger than the 64.0 MiB limit for one manifest file "
        "(raise it with --k8s-max-manifest-size)"
    )


def test_size_limit_is_configurable_and_applies_to_stdin(tmp_path: Path) -> None:
    path = write(tmp_path / "cm.yaml", configmap("a") + "data:\n  pad: " + "x" * 2048 + "\n")
    assert len(load([str(path)], LoadOptions(max_bytes=4096)).objects) == 1
    with pytest.raises(ManifestError, match=r": 0\.0 MiB is larger than the 0\.0 MiB limit .*--k8s-max-manifest-size"):
        load([str(path)], LoadOptions(max_bytes=1024))
    with pytest.raises(ManifestError, match=r"^<stdin>: .* limit for one manifest file"):
        load(["-"], LoadOptions(max_bytes=10, stdin=b"x" * 11))


# --- namespaces, CRDs and unknown kinds -------------------------------------------------------------


def test_effective_namespace(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ns.yaml",
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: unset}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: set, namespace: shop}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: empty, namespace: ""}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: reader}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop}
        ---
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        ---
        apiVersion: example.com/v1
        kind: Widget
        metadata: {name: w}
        ---
        apiVersion: example.com/v1
        kind: Widget
        metadata: {name: w2, namespace: shop}
        """,
    )
    got = {o.name: o.namespace for o in load_file(path)}
    assert got == {
        "unset": "default",
        "set": "shop",
        "empty": "default",
        "reader": None,
        "shop": None,
        "widgets.example.com": None,
        "w": None,
        "w2": "shop",
    }


def test_crd_instances_and_unknown_kinds_load_and_are_queryable(tmp_path: Path) -> None:
    path = write(
        tmp_path / "crd.yaml",
        """\
        apiVersion: example.com/v1
        kind: Widget
        metadata: {name: w, namespace: shop, labels: {team: a}}
        spec: {size: 3}
        ---
        apiVersion: v1
        kind: SomethingNew
        metadata: {name: "n"}
        ---
        apiVersion: example.com/v1
        kind: Deployment
        metadata: {name: fake, namespace: shop}
        spec:
          template:
            spec:
              containers: [{name: c, image: x, securityContext: {privileged: true}}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: real, namespace: shop}
        spec:
          template:
            spec:
              containers: [{name: c, image: x}]
        """,
    )
    inventory = Inventory(load_file(path))
    assert [o.ref for o in inventory] == [
        "Widget/shop/w",
        "SomethingNew/default/n",
        "Deployment/shop/fake",
        "Deployment/shop/real",
    ]
    assert inventory.get("Widget", "w").raw["spec"] == {"size": 3}
    assert [o.ref for o in inventory.select(labels={"team": "a"})] == ["Widget/shop/w"]
    assert inventory.kinds() == ["Deployment", "SomethingNew", "Widget"]
    fake = inventory.get("Deployment", "fake")
    # A CRD that happens to be called Deployment is not a workload: its pod spec is not ours to judge.
    assert fake.api_group == "example.com"
    assert not is_workload(fake) and pod_spec(fake) is None
    assert [o.ref for o in inventory.workloads()] == ["Deployment/shop/real"]
    assert [o.ref for o in inventory.workloads(kind="Deployment")] == ["Deployment/shop/real"]


def test_load_result_defaults() -> None:
    result = LoadResult()
    assert (result.objects, result.skipped) == ([], [])
    assert LoadOptions() == LoadOptions(max_bytes=DEFAULT_MAX_BYTES, non_k8s="warn", stdin=None)
