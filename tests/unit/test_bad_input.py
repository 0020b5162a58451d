"""No false pass under bad input: a corpus of hostile and broken manifests, wrong types at every
field the checks read, generated workloads, and the largest inputs with their peak memory.

For each input the outcome is a clear error naming file and line, or a correct verdict; never a
crash, a hang or a pass. The tree-level run (every bad file beside a privileged Pod, through
pytest) is in tests/plugin/test_bad_input_plugin.py.
"""

from __future__ import annotations

import copy
import gzip
import itertools
import json
import os
import random
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_k8ssec import assert_not_privileged, assert_passes
from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.checks import malformed_object as schema
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.manifests import LoadOptions, LoadResult, load

POD_HEAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n"
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: shop}
spec:
  containers:
  - {name: app, image: nginx, securityContext: {privileged: true}}
"""
_rng = random.Random(1234)  # the corpus is the same on every run

# name -> (content, line of the error or None when the file has no line to give, words of the cause)
BROKEN: dict[str, tuple[str | bytes, int | None, str]] = {
    # malformed YAML
    "unclosed-flow-sequence.yaml": (POD_HEAD + "spec: {containers: [\n", 5, "invalid YAML"),
    "unclosed-flow-mapping.yaml": (POD_HEAD + "spec: {containers: []\n", 5, "did not find expected ',' or '}'"),
    "bad-indentation.yaml": (
        POD_HEAD + "spec:\n  containers:\n  - name: a\n   image: x\n",
        7,
        "did not find expected key",
    ),
    "tab-indentation.yaml": (POD_HEAD + "spec:\n\tcontainers: []\n", 5, "cannot start any token"),
    "unterminated-quote.yaml": (POD_HEAD + 'spec: {containers: [{name: "a, image: x}]}\n', 5, "end of stream"),
    "stray-bracket.yaml": (POD_HEAD + "spec: ]\n", 4, "invalid YAML"),
    "nested-mapping-value.yaml": (POD_HEAD + "spec: containers: x\n", 4, "mapping values are not allowed"),
    "undefined-alias.yaml": (POD_HEAD + "spec: *nope\n", 4, "undefined alias"),
    "bad-escape.yaml": (POD_HEAD + 'spec: {containers: [{name: "a\\q", image: x}]}\n', 4, "unknown escape character"),
    "unknown-yaml-version.yaml": ("%YAML 2.0\n---\n" + POD_HEAD, 1, "incompatible YAML document"),
    "bad-block-indicator.yaml": (POD_HEAD + "spec: |0\n  x\n", 4, "indentation indicator"),
    "unhashable-key.yaml": (POD_HEAD + "spec: {[a]: b}\n", 4, "cannot be a key"),
    # (untagged, go-yaml keeps a number no type holds as its text: a string runAsUser, which the
    # checks report as malformed; tagged !!int, Kubernetes refuses the document)
    "huge-integer.yaml": (POD_HEAD + "spec: {securityContext: {runAsUser: !!int " + "9" * 5000 + "}}\n", 4, "as int"),
    "nan-value.yaml": (POD_HEAD + "spec: {securityContext: {runAsUser: .nan}}\n", 4, "cannot be encoded as JSON"),
    "bad-bool-tag.yaml": (POD_HEAD + "spec: {hostPID: !!bool maybe}\n", 4, "as bool"),
    # Helm templates left in a tree
    "helm-template.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
        4,
        "cannot be a key",
    ),
    "helm-control.yaml": ("{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\n{{- end }}\n", 1, "invalid YAML"),
    # malformed JSON
    "json-trailing-comma.json": (
        '{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "a"},\n}\n',
        3,
        "invalid JSON",
    ),
    "json-truncated.json": ('{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "a"', 2, "invalid JSON"),
    "json-deep.json": ("[" * 100_000 + "]" * 100_000, None, "nested too deeply"),
    # alias bombs and cycles, deep nesting
    "billion-laughs.yaml": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)),
        1,
        "alias bomb",
    ),
    "self-alias.yaml": (POD_HEAD + "spec: &s {containers: [*s]}\n", 1, "a cycle"),
    "deep-flow-nesting.yaml": (POD_HEAD + "spec: " + "[" * 30_000 + "\n", 4, "nest"),
    "deep-block-nesting.yaml": (POD_HEAD + "spec:\n" + "".join(" " * i + "- \n" for i in range(1, 3000)), None, "nest"),
    # binary and non-UTF-8
    "random-binary.yaml": (bytes(_rng.randrange(256) for _ in range(4096)), 1, "not UTF-8 text"),
    "gzip.yaml": (gzip.compress((POD_HEAD * 20).encode(), mtime=0), 1, "not UTF-8 text"),
    "png.yaml": (b"\x89PNG\r\n\x1a\n" + bytes(200), 1, "not UTF-8 text"),
    "nul-bytes.yaml": ((POD_HEAD + "spec: {}\n").encode() + b"\x00\x00\n", 5, "control characters"),
    "control-character.yaml": (POD_HEAD + "spec: \x07\n", 4, "control characters"),
    "latin-1.yaml": (
        (POD_HEAD + "spec: {containers: [{name: caf\xe9, image: x}]}\n").encode("latin-1"),
        4,
        "not UTF-8 text",
    ),
    "utf-16-without-bom.yaml": ((POD_HEAD + "spec: {}\n").encode("utf-16-le"), 1, "control characters"),
    # not objects, or objects without what every object has
    "missing-api-version.yaml": (
        "kind: Pod\nmetadata: {name: a}\nspec: {containers: []}\n",
        1,
        "apiVersion is missing",
    ),
    "missing-kind.yaml": ("apiVersion: v1\nmetadata: {name: a}\nspec: {containers: []}\n", 1, "kind is missing"),
    "kind-not-a-string.yaml": ("apiVersion: v1\nkind: [Pod]\nmetadata: {name: a}\n", 1, "not a non-empty string"),
    "metadata-a-list.yaml": ("apiVersion: v1\nkind: Pod\nmetadata: [a]\n", 1, "metadata of Pod is a list"),
    "name-a-number.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: 5}\n",
        1,
        "metadata.name of Pod is missing or not a string",
    ),
    "list-item-a-scalar.yaml": ("apiVersion: v1\nkind: List\nitems:\n- 42\n", 4, "items[0] of List is a number"),
    "sequence-item-a-scalar.yaml": (
        "- " + POD_HEAD.replace("\n", "\n  ").rstrip() + "\n- 42\n",
        4,
        "item 1 of the YAML sequence is a number",
    ),
}


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _load_bounded(paths: list[str], options: LoadOptions, seconds: float = 30) -> LoadResult:
    """load() in a daemon thread: a hang fails the test instead of blocking the run."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(_catching(paths, options)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert box, f"load() did not finish in {seconds} s"
    if isinstance(box[0], BaseException):
        raise box[0]
    result: LoadResult = box[0]
    return result


def _catching(paths: list[str], options: LoadOptions) -> LoadResult | BaseException:
    try:
        return load(paths, options)
    except BaseException as exc:
        return exc


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_input_is_an_error_naming_file_and_line_and_the_privileged_pod_is_still_loaded(
    tmp_path: Path, name: str
) -> None:
    content, line, cause = BROKEN[name]
    bad = _write(tmp_path / "tree" / name, content)
    _write(tmp_path / "tree" / "zz-privileged.yaml", PRIVILEGED_POD)
    started = time.perf_counter()
    result = _load_bounded([str(tmp_path / "tree")], LoadOptions(collect_errors=True))
    elapsed = time.perf_counter() - started
    # (a sequence holding an object and a number loads the object: "bad")
    assert [o.name for o in result.objects if o.name != "bad"] == ["root"]
    assert [e.source for e in result.errors] == [str(bad)]
    message = result.errors[0].message
    assert message.startswith(f"{bad}:{line}: " if line is not None else f"{bad}"), message
    if line is None:
        assert re.match(rf"{re.escape(str(bad))}(:\d+)?: ", message), message
    assert cause in message
    assert len(message) < 400  # short: the cause, not a dump of the input
    assert elapsed < 10
    with pytest.raises(SecurityAssertionError, match="privileged"):
        assert_not_privileged(result.objects)


def test_symlink_loops_unreadable_and_special_files_are_errors(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _write(tree / "zz-privileged.yaml", PRIVILEGED_POD)
    (tree / "loop-a.yaml").symlink_to(tree / "loop-b.yaml")
    (tree / "loop-b.yaml").symlink_to(tree / "loop-a.yaml")
    (tree / "dir-loop").symlink_to(tree)
    os.mkfifo(tree / "pipe.yaml")
    result = _load_bounded([str(tree)], LoadOptions(collect_errors=True))
    assert [o.name for o in result.objects] == ["root"]
    assert sorted(Path(e.source).name for e in result.errors) == ["loop-a.yaml", "loop-b.yaml", "pipe.yaml"]


def test_empty_stdin_loads_nothing_and_says_nothing_was_checked() -> None:
    result = load(["-"], LoadOptions(stdin=b"", collect_errors=True))
    assert result.objects == [] and result.errors == []
    # Nothing loaded never passes: the helpers refuse an empty selection.
    with pytest.raises(SecurityAssertionError, match="no objects given"):
        assert_not_privileged(result.objects)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  containers:\n  - {name: a, image: x, securityContext: {privileged: true, privileged: false}}\n",
            (6, 6),
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  containers:\n  - name: a\n    image: x\n    securityContext: {privileged: true}\n    securityContext: {}\n",
            (9, 8),
        ),
    ],
    ids=["privileged-twice", "securityContext-twice"],
)
def test_a_duplicate_key_never_hides_a_value_a_reviewer_reads(
    tmp_path: Path, text: str, lines: tuple[int, int]
) -> None:
    # issue 12 item 6: the last value won silently (privileged: false) while a reviewer reads true.
    result = load([str(_write(tmp_path / "dup.yaml", text))], LoadOptions(collect_errors=True))
    assert result.objects == []
    (error,) = result.errors
    assert f"dup.yaml:{lines[0]}: " in error.message and f"(first at line {lines[1]})" in error.message


def test_a_malformed_rbac_rule_is_a_violation_not_a_crash() -> None:
    role = K8sObject(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "r", "namespace": "shop"},
            "rules": [None, {"apiGroups": [None], "resources": ["*"], "verbs": ["*"]}],
        },
        Provenance("role.yaml", 1),
    )
    risky = builtin_registry().get("rbac-risky-rules")
    assert [v.path for v in risky.evaluate(role)] == ["rules[0]", "rules[1]"]
    wildcard = builtin_registry().get("rbac-wildcard")
    assert [v.path for v in wildcard.evaluate(role)] == ["rules[1].verbs", "rules[1].resources"]


def test_a_duplicate_key_with_the_same_value_is_refused_as_the_api_server_refuses_it(tmp_path: Path) -> None:
    # Harmless as it stands, but the API server's strict decoding refuses it too (confirmed live in
    # tests/live/test_duplicate_keys_live.py), and an edit to either copy would silently decide.
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: d, name: d}\nspec: {containers: [{name: a, image: x}]}\n"
    result = load([str(_write(tmp_path / "dup.yaml", text))], LoadOptions(collect_errors=True))
    assert result.objects == []
    assert [e.message.split(": the API server")[0] for e in result.errors] == [
        f'{tmp_path / "dup.yaml"}:3: invalid YAML in document 0: duplicate key "name" (first at line 3)'
    ]


# --- wrong types at every field the checks read -------------------------------------------------


def _wrong_values(spec: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every field of the malformed-object schema (the fields the checks read), with values of
    the wrong type: ``containers: "x"``, ``securityContext: []``, ``privileged: "true"``, ``image: 5``."""
    if isinstance(spec, schema._List):
        yield path, "x"
        yield from _wrong_values(spec.item, (*path, 0))
    elif isinstance(spec, dict):
        yield path, []
        for key, sub in spec.items():
            yield from _wrong_values(sub, (*path, key))
    elif spec is dict:
        yield path, ["x"]
    elif spec is bool:
        yield path, "true"
    elif spec is int:
        yield path, "0"
        yield path, True
    elif spec is str:
        yield path, 5


def _put(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = document
    for key, following in itertools.pairwise(path):
        if isinstance(key, int):
            while len(node) <= key:
                node.append({})
        elif not isinstance(node.get(key), (dict, list)):
            node[key] = [] if isinstance(following, int) else {}
        node = node[key]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


COMPLIANT_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "w", "namespace": "shop"},
    "spec": {"containers": [{"name": "app", "image": "registry.example.com/app@sha256:" + "a" * 64}]},
}
WRONG = [
    *[(("spec", *path), value) for path, value in _wrong_values(schema._POD_SPEC, ()) if path],
    (("spec", "containers"), "x"),
    (("spec", "containers", 0), "x"),
    *[(("spec", "containers", 0, *path), value) for path, value in _wrong_values(schema._CONTAINER, ()) if path],
    *[(("spec", "initContainers", 0, *path), value) for path, value in _wrong_values(schema._CONTAINER, ()) if path],
]


@pytest.mark.parametrize(("path", "value"), WRONG, ids=[f"{_dotted(p)}={v!r}" for p, v in WRONG])
def test_a_wrong_type_at_any_field_the_checks_read_is_a_failure_naming_the_field(
    path: tuple[str | int, ...], value: Any
) -> None:
    document = copy.deepcopy(COMPLIANT_POD)
    _put(document, path, value)
    obj = K8sObject(document, Provenance("pod.yaml", 1))
    for check in builtin_registry():
        if check.applies_to(obj):
            list(check.evaluate(obj))  # never raises
    assert _dotted(path) in [v.path for v in schema.CHECK.evaluate(obj)]
    with pytest.raises(SecurityAssertionError, match=re.escape(_dotted(path))):
        assert_not_privileged(obj)


# --- generated workloads: every check returns violations or nothing, never raises ---------------

_BASES: list[dict[str, Any]] = [
    COMPLIANT_POD,
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {
                    "labels": {"app": "web"},
                    "annotations": {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"},
                },
                "spec": {
                    "serviceAccountName": "web",
                    "hostNetwork": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                        "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}],
                    },
                    "volumes": [
                        {"name": "data", "hostPath": {"path": "/var/log", "type": "Directory"}},
                        {"name": "cfg", "configMap": {"name": "web"}},
                    ],
                    "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.example.com/web:1.0",
                            "imagePullPolicy": "Always",
                            "env": [
                                {"name": "DB_PASSWORD", "value": "hunter2hunter2"},
                                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                            ],
                            "ports": [{"containerPort": 8080, "hostPort": 80, "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                                "procMount": "Default",
                            },
                            "livenessProbe": {"httpGet": {"path": "/", "port": 8080, "host": "127.0.0.1"}},
                        }
                    ],
                },
            },
        },
    },
    {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "job", "namespace": "ops"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {"spec": {"containers": [{"name": "c", "image": "x:latest"}], "restartPolicy": "Never"}}
                }
            },
        },
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "b"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "system:anonymous", "apiGroup": "rbac.authorization.k8s.io"}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "r", "namespace": "shop"},
        "rules": [{"apiGroups": ["*"], "resources": ["secrets", "pods/exec"], "verbs": ["get", "*"]}],
    },
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "shop"},
        "stringData": {"password": "Sup3rS3cretPassw0rd"},
        "data": {"token": "aGVsbG8="},
    },
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "shop"},
        "data": {"AWS_KEY": "AKIAIOSFODNN7EXAMPL2", "plain": "x"},
    },
]

_odd_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "true",
            "0",
            "ALL",
            "*",
            "latest",
            "-",
            "a-" * 500,
            "runtime/default",
            "Localhost",
            "/",
            "..",
            "\x00",
            "🙂",
        ]
    ),
    st.binary(max_size=8),
)
_odd_values = st.recursive(
    _odd_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers(), st.booleans()), children, max_size=3),
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replace(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


@st.composite
def _mutated_workloads(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(draw(st.sampled_from(_BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [path for path in _paths(document) if len(path) >= 1 and path[0] not in ("apiVersion", "kind")]
        path = draw(st.sampled_from(paths))
        if draw(st.booleans()) and isinstance(_get(document, path), dict):
            # A new key beside the existing ones (fields the checks read may be absent in the base).
            key = draw(
                st.sampled_from(
                    [
                        "securityContext",
                        "privileged",
                        "hostPID",
                        "capabilities",
                        "containers",
                        "image",
                        "env",
                        "volumes",
                        "hostPath",
                        "rules",
                        "subjects",
                        "data",
                        "metadata",
                        "spec",
                        "template",
                    ]
                )
            )
            path = (*path, key)
            _get(document, path[:-1])[key] = draw(_odd_values)
        else:
            document = _replace(document, path, draw(_odd_values))
    return document


def _get(document: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(_mutated_workloads())
def test_every_check_returns_violations_or_nothing_and_never_raises(document: dict[str, Any]) -> None:
    obj = K8sObject(document, Provenance("generated.yaml", 1))
    for check in builtin_registry():
        if not check.applies_to(obj):
            continue
        violations = list(check.evaluate(obj))
        assert all(isinstance(v.path, str) and isinstance(v.message, str) for v in violations), check.id


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_mutated_workloads())
def test_a_generated_privileged_container_never_passes(document: dict[str, Any]) -> None:
    # Whatever else is wrong with the workload, a container that is privileged is reported
    # (by privileged-container, or malformed-object when the path to it cannot be read).
    document = copy.deepcopy(document)
    spec = document.get("spec")
    if document.get("kind") != "Pod" or not isinstance(spec, dict):
        return
    spec["containers"] = [{"name": "root", "image": "x", "securityContext": {"privileged": True}}]
    with pytest.raises(SecurityAssertionError):
        assert_passes(["privileged-container"], K8sObject(document, Provenance("generated.yaml", 1)))


# --- the largest inputs: bounded time and memory, measured in a child process -------------------

_LOAD = textwrap.dedent(
    """
    import json, sys, time
    from pytest_k8ssec.sources.manifests import LoadOptions, load
    started = time.perf_counter()
    result = load([sys.argv[1]], LoadOptions(max_bytes=int(sys.argv[2]), collect_errors=True))
    print(json.dumps({"objects": len(result.objects), "errors": [e.message[:200] for e in result.errors],
                      "seconds": round(time.perf_counter() - started, 2)}))
    """
)
# Linux keeps a process's peak RSS across fork and exec: a child of the (large) pytest process
# would report pytest's size. A small driver starts the loader and reports the loader's own peak.
_DRIVER = textwrap.dedent(
    """
    import json, os, subprocess, sys
    proc = subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[2:]], stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    result = json.loads(out) if os.waitstatus_to_exitcode(status) == 0 else {"failed": os.waitstatus_to_exitcode(status)}
    result["peak_rss_mib"] = usage.ru_maxrss // 1024
    print(json.dumps(result))
    """
)


def _measure(path: Path, max_bytes: int) -> tuple[dict[str, Any], int]:
    """Load ``path`` in a fresh interpreter: its output and its peak RSS in MiB."""
    run = subprocess.run(
        [sys.executable, "-c", _DRIVER, _LOAD, str(path), str(max_bytes)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert "failed" not in result, run.stderr[-2000:]
    return result, int(result["peak_rss_mib"])


def _big_scalar(path: Path, size: int) -> None:
    with open(path, "w") as handle:
        handle.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: ")
        chunk = "a" * 2**20
        for _ in range(size // 2**20):
            handle.write(chunk)
        handle.write("\n")


MIB = 2**20


@pytest.mark.slow
def test_the_largest_inputs_stay_bounded_in_time_and_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[str] = []
    big = tmp_path / "big.yaml"
    _big_scalar(big, 100 * MIB)
    # Over the default 64 MiB limit: refused before a byte is read.
    refused, rss = _measure(big, 64 * MIB)
    assert refused["objects"] == 0 and "larger than the 64.0 MiB limit" in refused["errors"][0]
    assert rss < 100
    rows.append(f"100 MiB file, default limit: refused unread, {refused['seconds']} s, peak RSS {rss} MiB")
    # Limit raised: one 100 MiB scalar loads.
    loaded, rss = _measure(big, 200 * MIB)
    assert loaded["objects"] == 1 and loaded["errors"] == []
    assert rss < 1024
    rows.append(f"100 MiB scalar, limit 200 MiB: loaded, {loaded['seconds']} s, peak RSS {rss} MiB")
    binary = tmp_path / "random.yaml"
    binary.write_bytes(random.Random(7).randbytes(100 * MIB))
    rejected, rss = _measure(binary, 200 * MIB)
    assert rejected["objects"] == 0 and "not UTF-8 text" in rejected["errors"][0]
    assert rss < 512
    rows.append(f"100 MiB random bytes, limit 200 MiB: error, {rejected['seconds']} s, peak RSS {rss} MiB")
    # Node-dense input is the costly shape per byte (one composed node per 4 bytes): measured on
    # 1 MiB, it shows what the size limit alone does not bound.
    dense = tmp_path / "dense.yaml"
    dense.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dense}\nlist:\n" + "- 1\n" * (MIB // 4))
    packed, rss = _measure(dense, 64 * MIB)
    assert packed["objects"] == 1
    assert rss < 512
    rows.append(f"1 MiB of '- 1' lines (262k nodes): loaded, {packed['seconds']} s, peak RSS {rss} MiB")
    with capsys.disabled():
        print("\npeak memory of the largest inputs:\n  " + "\n  ".join(rows))


# --- generated manifest text: loaded, or refused with a message; never another exception ---------

_VALID_TEXT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app: web}\n"
    'spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: "registry.example.com/web:1.0"\n'
    "        securityContext: {privileged: true, runAsUser: 0}\n        env: [{name: A, value: '1'}]\n"
    "---\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  data: &d {k: v}\n  extra: *d\n"
)


@st.composite
def _mangled_text(draw: st.DrawFn) -> bytes:
    data = bytearray(_VALID_TEXT.encode())
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(
            st.one_of(
                st.binary(min_size=1, max_size=4),
                st.sampled_from(
                    [
                        b"[",
                        b"{",
                        b"]",
                        b"}",
                        b":",
                        b"- ",
                        b"\t",
                        b"&a ",
                        b"*a",
                        b"!!",
                        b"\n---\n",
                        b"'",
                        b'"',
                        b"#",
                        b"|",
                        b">",
                        b"\xff",
                        b"\x00",
                    ]
                ),
            )
        )
        if action == "insert":
            data[at:at] = chunk
        elif action == "delete":
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    return bytes(data)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(_mangled_text())
def test_mangled_manifest_text_loads_or_is_refused_with_file_and_cause(data: bytes) -> None:
    from pytest_k8ssec.sources.manifests import load_text

    result = LoadResult()
    try:
        objects = load_text(data, "mangled.yaml")
    except Exception as exc:
        from pytest_k8ssec.errors import ManifestError

        assert isinstance(exc, ManifestError), repr(exc)
        assert str(exc).startswith("mangled.yaml"), str(exc)
        return
    result.objects.extend(objects)
    # Whatever loaded is judged without a crash.
    for obj in result.objects:
        for check in builtin_registry():
            if check.applies_to(obj):
                list(check.evaluate(obj))
