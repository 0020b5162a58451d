"""The README's hook example works as a conftest.py, with the plugin and without it (-p no:k8ssec)."""

from __future__ import annotations

from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _hook_example() -> str:
    section = README.split("## Extending", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_hook_example_works_with_and_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(_hook_example())
    (pytester.path / "deploy.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: a, image: x}]}\n"
    )
    pytester.makepyfile(
        """
        from pytest_k8ssec.checks import active_registry

        def test_registered(k8s_workload):
            assert "team-tier-label" in active_registry()
        """
    )
    result = pytester.runpytest("--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("-p", "no:k8ssec", "-p", "no:cacheprovider")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)


def test_every_option_and_ini_key_of_the_plugin_is_in_the_readme(pytester: pytest.Pytester) -> None:
    import re

    result = pytester.runpytest("--help")
    help_text = result.stdout.str()
    options = set(re.findall(r"(--k8s(?:sec)?-[a-z0-9-]+)", help_text))
    keys = set(re.findall(r"^\s+(k8s(?:sec)?_[a-z0-9_]+) \(", help_text, flags=re.MULTILINE))
    assert "--k8s-default-namespace" in options and "k8s_namespace_delete_timeout" in keys
    missing = sorted(name for name in options | keys if not re.search(rf"`{re.escape(name)}(?![a-z0-9_-])", README))
    assert not missing, f"not documented in README.md: {missing}"
