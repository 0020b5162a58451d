"""The public API is one consistent surface: keyword-only options, one exemption keyword, typed
levels, distinct in-pod names, documented types, and a docs/api.md that cannot go stale.

Every old spelling keeps working one release with a warning naming the new one; each has a test
here and a line in the README's changelog.
"""

from __future__ import annotations

import importlib
import inspect
import os
import typing
from pathlib import Path
from typing import Any

import pytest
import testinfra

import pytest_k8ssec
from pytest_k8ssec import (
    Level,
    Mode,
    SecurityAssertionError,
    SeverityName,
    _api_docs,
    assert_capabilities,
    assert_images_from,
    assert_images_not_from,
    assert_namespace_compliant,
    assert_namespace_pod_security,
    assert_no_host_path,
    assert_no_vulnerabilities,
    assert_pod_security,
    assert_resources,
)
from pytest_k8ssec.checks.pss import MODES
from pytest_k8ssec.checks.pss._registry import LEVELS
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.scan_reports import SEVERITIES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
GRYPE = ROOT / "tests" / "data" / "scan-reports" / "grype"
HOST = testinfra.get_host("local://")

# The parameters a helper may take by position: what it judges (objects, a model, a host, a
# namespace and what to send there), for assert_passes the checks to run, and the parts of the
# question an RBAC or network helper answers (who, verb, resource; from, to, port).
SUBJECTS = frozenset(
    {"objs", "ns", "inventory", "host", "node", "namespace", "manifest", "checks", "net", "rbac", "rbac_or_objs"}
    | {"subject", "verb", "resource", "src", "dst", "workloads", "port"}
)
# Request parts with a meaningful default (every resource, every port) may stay positional.
DEFAULTED_REQUEST_PARTS = frozenset({"resource", "port"})


def helpers() -> list[tuple[str, Any]]:
    return [(name, getattr(pytest_k8ssec, name)) for name in pytest_k8ssec.__all__ if name.startswith("assert_")]


def obj(raw: dict[str, Any]) -> K8sObject:
    return K8sObject(raw, Provenance("test.yaml", 1))


def pod(container: dict[str, Any] | None = None, **spec: Any) -> K8sObject:
    base = {"name": "app", "image": "registry.example.com/app@sha256:" + "a" * 64}
    return obj(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{**base, **(container or {})}], **spec},
        }
    )


def namespace(name: str, labels: dict[str, str]) -> K8sObject:
    return obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})


# --- the shape of the API ------------------------------------------------------------------------


def test_every_helper_takes_only_its_subject_by_position_and_its_options_by_keyword() -> None:
    checked = []
    for name, func in helpers():
        params = inspect.signature(func).parameters.values()
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        defaulted = {p.name for p in positional if p.default is not p.empty} - DEFAULTED_REQUEST_PARTS
        assert not defaulted, f"{name}: the options {defaulted} have defaults and are positional"
        assert {p.name for p in positional} <= SUBJECTS, f"{name}: {[p.name for p in positional]} by position"
        assert not any(p.kind is p.VAR_KEYWORD for p in params), f"{name}: **kwargs hides its options"
        checked.append(name)
    assert {"assert_resources", "assert_in_pod_no_shell", "assert_can", "assert_isolated"} <= set(checked)
    assert len(checked) >= 45


def test_the_exemption_keyword_is_allow_everywhere() -> None:
    spellings = {"allowed", "allowed_add", "ignore", "allow_defaults", "exempt", "exclude", "skip"}
    for name, func in helpers():
        params = set(inspect.signature(func).parameters)
        assert not params & spellings, f"{name} spells its exemptions {params & spellings}; use allow="
    for name in ("assert_capabilities", "assert_no_host_path", "assert_no_vulnerabilities"):
        assert "allow" in inspect.signature(getattr(pytest_k8ssec, name)).parameters, name


def test_levels_modes_and_severities_are_literals_of_the_values_the_code_accepts() -> None:
    assert typing.get_args(Level) == LEVELS
    assert typing.get_args(Mode) == MODES
    assert typing.get_args(SeverityName) == SEVERITIES
    hints = {
        "assert_pod_security": ("level", "Level"),
        "assert_namespace_pod_security": ("mode", "Mode"),
        "assert_pod_security_enforced": ("level", "Level"),
        "assert_no_vulnerabilities": ("min_severity", "SeverityName"),
    }
    for name, (param, alias) in hints.items():
        assert inspect.signature(getattr(pytest_k8ssec, name)).parameters[param].annotation == alias, name
    # The types do not replace the run-time checks: a wrong value is still a clear error.
    with pytest.raises(ValueError, match="must be one of privileged, baseline, restricted"):
        assert_pod_security(pod(), level="strict")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode must be one of enforce, audit, warn"):
        assert_namespace_pod_security(namespace("a", {}), mode="deny")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_severity must be one of"):
        assert_no_vulnerabilities(pod(), report=GRYPE, min_severity="SEVERE")  # type: ignore[arg-type]


def test_in_pod_helpers_have_one_prefix_and_no_name_an_object_helper_could_have() -> None:
    in_pod = [name for name, module in pytest_k8ssec._HOME.items() if module == "pytest_k8ssec.asserts.inpod"]
    assert sorted(in_pod) == [
        "Connection",
        "assert_in_pod_cannot_connect",
        "assert_in_pod_connects",
        "assert_in_pod_no_package_manager",
        "assert_in_pod_no_shell",
        "assert_in_pod_read_only_root_filesystem",
        "assert_in_pod_runs_as_non_root",
        "probe_connection",
    ]
    for name, func in helpers():
        first = next(iter(inspect.signature(func).parameters))
        assert (first == "host") == name.startswith("assert_in_pod_"), name


def test_every_type_a_user_receives_is_exported_and_documented() -> None:
    received = {
        "K8sCluster": "k8s_cluster",
        "K8sNamespace": "k8s_namespace",
        "Target": "k8s_target",
        "PodHost": "k8s_pod_host",
        "WorkloadNamespace": "k8s_workload_namespace",
        "Inventory": "k8s_inventory",
        "AdmissionResult": "assert_admission_rejects",
        "ScanReport": "a scan report",
        "Vulnerability": "a scan report's findings",
    }
    for name in received:
        assert name in pytest_k8ssec.__all__, name
        value = getattr(pytest_k8ssec, name)
        assert inspect.isclass(value) and value.__doc__ and value.__doc__.strip(), name
    for fixture in ("k8s_cluster", "k8s_namespace", "k8s_target", "k8s_pod_host"):
        name = next(n for n, f in received.items() if f == fixture)
        assert f"``{fixture}``" in _api_docs.summary(name, getattr(pytest_k8ssec, name), pytest_k8ssec._HOME[name])


# --- docs/api.md -----------------------------------------------------------------------------------


def test_docs_api_md_is_generated_from_all() -> None:
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == _api_docs.render(), "docs/api.md is stale: run python -m pytest_k8ssec._api_docs docs/api.md"
    for name in pytest_k8ssec.__all__:
        assert f"### `{name}`\n" in committed, name
    assert "`assert_resources(objs: Objects, *, requests: bool = True, limits: bool = True) -> None`" in committed
    assert "| `assert_no_shell` | [`assert_in_pod_no_shell`](#assert_in_pod_no_shell) |" in committed
    assert "[docs/api.md](docs/api.md)" in README


def test_the_api_page_refuses_an_undocumented_or_unplaced_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def undocumented(objs: Any) -> None:
        pass

    with pytest.raises(LookupError, match="public but undocumented"):
        _api_docs.summary("undocumented", undocumented, "pytest_k8ssec.asserts.workloads")
    with pytest.raises(LookupError, match="no section of docs/api.md lists this module"):
        _api_docs.group_of("pytest_k8ssec.somewhere_new")
    assert _api_docs.group_of("pytest_k8ssec.model.netpol.verdicts") == "NetworkPolicy"
    monkeypatch.setitem(pytest_k8ssec._HOME, "assert_passes", "pytest_k8ssec.nowhere")
    with pytest.raises(LookupError):
        _api_docs.render()


def test_the_generator_writes_the_page(tmp_path: Path) -> None:
    assert _api_docs.main([str(tmp_path / "api.md")]) == 0
    assert (tmp_path / "api.md").read_text(encoding="utf-8") == _api_docs.render()


# --- old spellings: each still works, warns naming the new one, and is in the changelog ------------


def changelog() -> str:
    return README.split("## Changelog", 1)[1].split("\n### ", 2)[1]


def expected_changelog_lines() -> list[str]:
    """The changelog lines this branch's renames need, in the project's format."""
    lines = []
    for old, module in sorted(pytest_k8ssec._DEPRECATED.items()):
        new = getattr(importlib.import_module(module), old).__wrapped__.__name__
        lines.append(f"- `{old}` -> `{new}` (old name warns, removed in 0.3.0)")
    return lines


def deprecated_options() -> list[tuple[str, tuple[str, ...], dict[str, str]]]:
    """Every public function whose options by position or old keywords still work, with warnings."""
    found = []
    for name in pytest_k8ssec.__all__:
        options = getattr(getattr(pytest_k8ssec, name), "__deprecated_options__", None)
        if options is not None:
            found.append((name, *options))
    return found


def test_the_changelog_lists_every_rename_and_every_option_made_keyword_only() -> None:
    entries = [line for line in changelog().splitlines() if line.startswith("- ")]
    missing = [line for line in expected_changelog_lines() if line not in entries]
    options = deprecated_options()
    assert len(options) >= 10
    for name, positional, renames in options:
        mine = [line for line in entries if f"`{name}(" in line or f" `{name}(" in line]
        if positional:
            if not any("position" in line for line in mine):
                missing.append(f"{name}: options by position")
        for old in renames:
            if not any(f"{old}=" in line for line in mine):
                missing.append(f"{name}: {old}=")
    assert not missing, "add to README.md's changelog:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("old", "call", "raises"),
    [
        ("assert_main_process_not_root", lambda f: f(HOST, pid=2**22 + 7), "not readable; cannot tell the user"),
        ("assert_root_filesystem_read_only", lambda f: f(HOST), r"/ is mounted rw.*\(not ro\)"),
        ("assert_no_package_manager", lambda f: f(HOST), "package managers present: .*dpkg"),
        ("assert_no_shell", lambda f: f(HOST, shells=("no-such-shell-k8ssec",)), None),
    ],
)
def test_old_in_pod_names_warn_and_still_work(old: str, call: Any, raises: str | None) -> None:
    func = getattr(pytest_k8ssec, old)
    new = func.__wrapped__.__name__
    assert new.startswith("assert_in_pod_") and new in pytest_k8ssec.__all__ and old not in pytest_k8ssec.__all__
    with pytest.warns(DeprecationWarning, match=rf"{old}\(\) is deprecated .* 0\.3\.0; use {new}\(\)"):
        if raises is None:
            call(func)
        else:
            with pytest.raises(SecurityAssertionError, match=raises):
                call(func)
    from pytest_k8ssec import assert_no_shell  # the old name still imports from the package

    assert assert_no_shell is pytest_k8ssec.assert_no_shell


def test_old_in_pod_pid_by_position_warns_twice_and_still_works() -> None:
    assert os.getuid() == 0, "these tests run as root, as CI does"
    with pytest.warns(DeprecationWarning) as record, pytest.raises(SecurityAssertionError, match="runs as root"):
        pytest_k8ssec.assert_main_process_not_root(HOST, os.getpid())
    messages = [str(w.message) for w in record]
    assert any("use assert_in_pod_runs_as_non_root()" in m for m in messages)
    assert any("passing pid to assert_in_pod_runs_as_non_root() by position" in m for m in messages)


def test_renamed_exemption_keywords_warn_and_still_exempt() -> None:
    netbind = pod({"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}}})
    with pytest.warns(
        DeprecationWarning, match=r"assert_capabilities\(allowed_add=\.\.\.\) .* use assert_capabilities\(allow="
    ):
        assert_capabilities(netbind, allowed_add=["NET_BIND_SERVICE"])
    with pytest.raises(SecurityAssertionError, match="NET_BIND_SERVICE"):
        assert_capabilities(netbind)
    logs = pod(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}])
    with pytest.warns(
        DeprecationWarning, match=r"assert_no_host_path\(allowed=\.\.\.\) .* use assert_no_host_path\(allow="
    ):
        assert_no_host_path(logs, allowed=["/var/log"])
    with pytest.raises(SecurityAssertionError, match="/var/log"):
        assert_no_host_path(logs, allow=["/var/lib"])
    with pytest.raises(TypeError, match="both allowed= .* and allow="):
        assert_no_host_path(logs, allowed=["/var/log"], allow=["/var/log"])


def test_the_renamed_vulnerability_keyword_warns_and_still_allows() -> None:
    agent = obj(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": [{"name": "c0", "image": "ghcr.io/acme/agent:3.1.0"}]}}},
        }
    )
    reasons = {"CVE-2024-24790": "the agent never parses IPv6 zone ids", "cve-2024-33599": "nscd is not installed"}
    with pytest.raises(SecurityAssertionError, match="CVE-2024-24790"):
        assert_no_vulnerabilities(agent, report=GRYPE)
    with pytest.warns(
        DeprecationWarning, match=r"assert_no_vulnerabilities\(ignore=\.\.\.\) .* use assert_no_vulnerabilities\(allow="
    ):
        assert_no_vulnerabilities(agent, report=GRYPE, ignore=reasons)
    with pytest.warns(DeprecationWarning, match="passing report, min_severity, allow to assert_no_vulnerabilities"):
        assert_no_vulnerabilities(agent, GRYPE, "HIGH", reasons)


def test_options_by_position_warn_and_still_mean_what_they_meant() -> None:
    bare = pod()
    with pytest.warns(
        DeprecationWarning,
        match=r"passing requests to assert_resources\(\) by position .* use assert_resources\(\.\.\., requests=\.\.\.\)",
    ):
        with pytest.raises(SecurityAssertionError) as info:
            assert_resources(bare, False)
    assert info.value.findings and {f.check.id for f in info.value.findings} == {"missing-resource-limits"}
    with pytest.warns(DeprecationWarning, match="passing drop_all, allow to assert_capabilities"):
        assert_capabilities(pod({"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}), False, ["NET_ADMIN"])
    with pytest.warns(DeprecationWarning, match="passing registries to assert_images_from"):
        assert_images_from(bare, ["registry.example.com/"])
    with pytest.warns(DeprecationWarning, match="passing registries to assert_images_not_from"):
        with pytest.raises(SecurityAssertionError):
            assert_images_not_from(bare, ["registry.example.com/"])
    with pytest.warns(DeprecationWarning, match="passing level, version to assert_pod_security"):
        assert_pod_security(pod({"securityContext": {"privileged": False}}), "baseline", "v1.0")
    with pytest.warns(DeprecationWarning, match="passing level to assert_pod_security"):
        with pytest.raises(SecurityAssertionError, match="pod-security restricted:latest"):
            assert_pod_security(bare, "restricted")
    labelled = namespace("a", {"pod-security.kubernetes.io/warn": "baseline"})
    with pytest.warns(DeprecationWarning, match="passing level, mode to assert_namespace_pod_security"):
        assert_namespace_pod_security(labelled, "baseline", "warn")
    strict = namespace("shop", {"pod-security.kubernetes.io/enforce": "baseline"})
    with pytest.warns(DeprecationWarning, match="passing namespace to assert_namespace_compliant"):
        assert_namespace_compliant([strict, bare], "shop")
    with pytest.raises(TypeError, match=r"assert_resources\(\) takes 1 positional argument but 4 were given"):
        assert_resources(bare, True, True, True)


def test_the_new_spellings_do_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    bare = pod()
    with pytest.raises(SecurityAssertionError):
        assert_resources(bare, requests=False)
    assert_images_from(bare, registries=["registry.example.com/"])
    assert_pod_security(pod({"securityContext": {"privileged": False}}), level="baseline", version="v1.0")
    assert_no_host_path(pod(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}]), allow=["/var/log"])
    pytest_k8ssec.assert_in_pod_no_shell(HOST, shells=("no-such-shell-k8ssec",))
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
