"""Field lines: the line of the field a finding's path names, in the file it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_k8ssec.sources.manifests.field_lines import FieldLines

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


def test_each_file_is_composed_once(manifests: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_k8ssec.sources.manifests import field_lines

    calls: list[str] = []
    real = field_lines._documents
    monkeypatch.setattr(field_lines, "_documents", lambda text: calls.append(text) or real(text))
    fields = FieldLines(manifests)
    assert fields.line("deploy.yaml", 5, "spec.template") == 12
    assert fields.line("deploy.yaml", 22, "data") == 25
    assert len(calls) == 1
