"""A duplicated key through pytest (issue 12 item 6): the Deployment whose second ``privileged``
hides the first fails as a source naming both lines, and the other files are still judged."""

from __future__ import annotations

import pytest

TEST_FILE = """\
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)
"""

HIDDEN = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1
        securityContext:
          privileged: true
          privileged: false
"""

CLEAN = """\
apiVersion: v1
kind: Pod
metadata: {name: clean, namespace: shop}
spec:
  containers:
  - {name: app, image: registry.example.com/app:1, securityContext: {privileged: false}}
---
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: shop}
spec:
  containers:
  - {name: app, image: registry.example.com/app:1, securityContext: {privileged: true}}
"""


def test_a_hidden_privileged_fails_naming_both_lines_and_the_other_files_are_judged(pytester: pytest.Pytester) -> None:
    deploy = pytester.mkdir("deploy")
    (deploy / "web.yaml").write_text(HIDDEN)
    (deploy / "other.yaml").write_text(CLEAN)
    pytester.makepyfile(test_dup=TEST_FILE)

    result = pytester.runpytest_subprocess(
        "--k8s-manifests", "deploy", "-p", "no:cacheprovider", "-v", "-rf", "--tb=short", timeout=300
    )

    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output[-3000:]
    assert "FAILED k8ssec::manifests[deploy/web.yaml]" in output
    assert 'deploy/web.yaml:14: invalid YAML in document 0: duplicate key "privileged" (first at line 13)' in output
    assert (
        "the API server refuses it with fieldValidation=Strict, and kubectl silently applies the last value" in output
    )
    # The Deployment is never judged on the last value; the other file is judged as usual.
    assert "Deployment/shop/web" not in output
    assert "test_dup.py::test_not_privileged[Pod/shop/clean] PASSED" in output
    assert "test_dup.py::test_not_privileged[Pod/shop/root] FAILED" in output
    result.assert_outcomes(passed=1, failed=2)
