"""A key set twice in one mapping never decides silently (issue 12 item 6).

The table tests/data/duplicate-keys/cases.json holds each case, what the loader says of it, and what
the API server said when it was sent with ``fieldValidation=Strict`` and ``Ignore`` (server-side
dry-run); tests/live/test_duplicate_keys_live.py sends every row again to the local control plane.
Strict refuses every key set twice (same value or not, through a merge key or not, YAML or JSON,
typed fields or a CRD's preserve-unknown-fields); Ignore keeps the last value, and kubectl, even
with ``--validate=strict``, sends the last value too. So the loader refuses the document, naming
the key and both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec import SecurityAssertionError, assert_not_privileged
from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.sources import kube_yaml
from pytest_k8ssec.sources.manifests import LoadOptions, load, load_text
from tests.yaml_cases import cases

CASES = cases("duplicate-keys")
WHY = "the API server refuses it with fieldValidation=Strict, and kubectl silently applies the last value"


def expected_error(case: dict[str, Any]) -> str:
    """The loader's whole message for a refused row, built from the row's fields."""
    fmt = case.get("format", "yaml")
    where = f"dup.{fmt}:{case['line']}: invalid {fmt.upper()}{' in document 0' if fmt == 'yaml' else ''}"
    message = f'{where}: duplicate key "{case["key"]}"'
    if "from_line" in case:
        message += f' from line {case["from_line"]} merged by "<<"'
    message += f" (first at line {case['first']}"
    if "written" in case:
        message += f' as "{case["written"]}"'
    if "merged_first" in case:
        message += f', merged by "<<" at line {case["merged_first"]}'
    return f"{message}): {WHY}"


def test_the_table_covers_what_the_brief_lists() -> None:
    ids = {case["id"] for case in CASES}
    assert len(ids) == len(CASES)
    for needed in (
        "top-level-spec",
        "metadata-twice",
        "spec-containers",
        "securityContext-privileged-deployment",
        "container-item-securityContext",
        "configmap-data",
        "secret-stringData",
        "annotations",
        "crd-preserve-unknown-fields",
        "json-securityContext",
        "json-crd-preserve-unknown-fields",
        "merge-then-explicit",
        "merge-without-overlap",
    ):
        assert needed in ids
    assert {case.get("format", "yaml") for case in CASES} == {"yaml", "json"}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_each_row_loads_as_the_table_says(case: dict[str, Any]) -> None:
    source = f"dup.{case.get('format', 'yaml')}"
    if "key" in case:
        with pytest.raises(ManifestError) as info:
            load_text(case["text"], source)
        assert str(info.value) == expected_error(case)
    elif "loader_error" in case:
        with pytest.raises(ManifestError, match=case["loader_error"]):
            load_text(case["text"], source)
    else:
        (obj,) = load_text(case["text"], source)
        assert obj.raw["spec"] == case["value"], case["reason"]


def test_the_brief_s_example_names_the_key_and_both_lines(tmp_path: Path) -> None:
    (case,) = [case for case in CASES if case["id"] == "securityContext-privileged-deployment"]
    path = tmp_path / "deploy.yaml"
    path.write_text(case["text"])
    result = load([str(path)], LoadOptions(collect_errors=True))
    assert result.objects == []
    (error,) = result.errors
    assert str(error.message).startswith(
        f'{path}:14: invalid YAML in document 0: duplicate key "privileged" (first at line 13)'
    )


@pytest.mark.parametrize(
    "hidden", ["privileged: true\n      privileged: false", "privileged: false\n      privileged: true"]
)
def test_a_duplicate_in_one_document_fails_that_source_and_the_documents_before_are_still_judged(hidden: str) -> None:
    privileged_pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: before}\nspec:\n  containers:\n  - {name: a, image: x, securityContext: {privileged: true}}\n"
    dup = f"apiVersion: v1\nkind: Pod\nmetadata: {{name: dup}}\nspec:\n  containers:\n  - name: a\n    image: x\n    securityContext:\n      {hidden}\n"
    result = load(["-"], LoadOptions(stdin=(privileged_pod + "---\n" + dup).encode(), collect_errors=True))
    assert [o.name for o in result.objects] == ["before"]
    (error,) = result.errors
    assert 'duplicate key "privileged" (first at line 16)' in str(error.message) and ":17:" in str(error.message)
    with pytest.raises(SecurityAssertionError, match="privileged"):
        assert_not_privileged(result.objects)


def test_a_duplicate_in_a_list_item_names_its_lines() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n  data:\n    k: one\n    k: two\n"
    )
    with pytest.raises(ManifestError, match=r'^list\.yaml:12: .*duplicate key "k" \(first at line 11\)'):
        load_text(text, "list.yaml")


def test_a_duplicate_json_key_deep_in_nesting_is_found_with_its_lines() -> None:
    depth = 900  # as deep as json.loads goes; the line search keeps its own stack, no recursion
    text = (
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "data": '
        + "[" * depth
        + '{"k": 1,\n"k": 2}'
        + "]" * depth
        + "}"
    )
    with pytest.raises(ManifestError) as info:
        load_text(text, "deep.json")
    assert str(info.value).startswith('deep.json:2: invalid JSON: duplicate key "k" (first at line 1)')


def test_strings_with_brackets_and_escaped_quotes_do_not_confuse_the_json_line_search() -> None:
    text = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "q"},\n "data": {"k": "{\\"k\\": [1, 2]}, \\"k\\"",\n "j": ",\\"k\\":", "k": "x"}}'
    with pytest.raises(ManifestError) as info:
        load_text(text, "q.json")
    assert str(info.value).startswith('q.json:3: invalid JSON: duplicate key "k" (first at line 2)')


def test_only_a_mapping_that_lost_an_entry_is_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    # O(1) per key: entries are counted against keys; the search runs only where they differ.
    searched: list[int] = []
    search = kube_yaml._Builder._find_duplicate

    def counting(self: kube_yaml._Builder, node: Any, pairs: Any) -> None:
        searched.append(len(pairs))
        search(self, node, pairs)

    monkeypatch.setattr(kube_yaml._Builder, "_find_duplicate", counting)
    clean = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, labels: {a: b}}\ndata:\n" + "".join(
        f"  k{i}: v\n" for i in range(5000)
    )
    load_text(clean)
    assert searched == []
    with pytest.raises(ManifestError, match=r'dup.yaml:5005: .*duplicate key "k0" \(first at line 5\)'):
        load_text(clean + "  k0: again\n", "dup.yaml")
    assert searched == [5001]
