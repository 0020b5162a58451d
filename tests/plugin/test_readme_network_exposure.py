"""The README's network exposure example runs as written, and fails on what it says it judges."""

from __future__ import annotations

from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _example() -> str:
    section = README.split("### Network exposure checks", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


CONTROLLER = """\
apiVersion: v1
kind: Service
metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
spec: {type: LoadBalancer, ports: [{port: 443}]}
"""
SHOP = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: NodePort, ports: [{port: 80}], externalIPs: [8.8.8.8]}
"""


def test_the_readme_network_exposure_example(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_exposure=_example())
    (pytester.path / "deploy.yaml").write_text(CONTROLLER)
    pytester.runpytest("--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    (pytester.path / "deploy.yaml").write_text(CONTROLLER + "---\n" + SHOP)
    result = pytester.runpytest("--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*spec.type: type NodePort opens node ports*", "*spec.externalIPs[[]0[]]: external IP 8.8.8.8*"]
    )
