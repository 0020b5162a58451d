"""Tests on the check registry itself (kube-linter's TestBuiltInChecksWellFormed, PSA TestFixtures)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import pytest_k8ssec
from pytest_k8ssec.checks import (
    BUILTIN_CHECK_MODULES,
    RENAMED_IDS,
    Check,
    CheckKind,
    Registry,
    _docs,
    builtin_registry,
    module_name,
)
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome
from pytest_k8ssec.checks.pss._registry import Control, Version, table
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.manifests import load_file

ROOT = Path(__file__).resolve().parents[2]
CHECKS_DIR = ROOT / "pytest_k8ssec" / "checks"
PSS_DIR = CHECKS_DIR / "pss"
CHECK_DATA = ROOT / "tests" / "data" / "checks"

# Each Pod Security control is implemented once, in checks/pss/. An opinionated check that judges
# the same thing either builds on the control (module -> the control's module it calls) ...
BUILDS_ON = {
    "privileged_container": "check_privileged",
    "privilege_escalation_allowed": "check_allow_privilege_escalation",
    "capabilities_added": "check_capabilities_baseline",
    "capabilities_not_dropped": "check_capabilities_restricted",
    "run_as_user_root": "check_run_as_user",
    "host_namespaces": "check_host_namespaces",
    "host_path_volume": "check_host_path_volumes",
    "host_port": "check_host_ports",
    "windows_host_process": "check_windows_host_process",
    "apparmor_unconfined": "check_apparmor_profile",
    "custom_selinux_options": "check_selinux_options",
    "unmasked_proc_mount": "check_proc_mount_restricted",
    "unsafe_sysctls": "check_sysctls",
}
# ... or, where its rule deliberately differs, claims no control and says why in its docstring.
DIFFERS_FROM_PSS = ("run_as_root_allowed", "seccomp_unconfined")


def _module_path(entry: str) -> Path:
    # "host_port" lives in pytest_k8ssec/checks/, "pss.check_privileged" in pytest_k8ssec/checks/pss/.
    return CHECKS_DIR.joinpath(*entry.split(".")).with_suffix(".py")


def test_every_check_module_is_registered_and_every_registered_module_exists() -> None:
    on_disk = {p.stem for p in CHECKS_DIR.glob("*.py") if not p.stem.startswith("_")}
    on_disk |= {f"pss.{p.stem}" for p in PSS_DIR.glob("check_*.py")}
    assert on_disk == set(BUILTIN_CHECK_MODULES)
    assert len(BUILTIN_CHECK_MODULES) == len(set(BUILTIN_CHECK_MODULES))


def test_pss_controls_are_the_registry_entries_in_the_same_order() -> None:
    from pytest_k8ssec.checks.pss._registry import CONTROL_MODULES

    assert tuple(e.removeprefix("pss.") for e in BUILTIN_CHECK_MODULES if e.startswith("pss.")) == CONTROL_MODULES
    for check in builtin_registry():
        if check.id.startswith("pss-"):
            assert check.pss is not None, check.id


def test_ids_are_unique_kebab_case_and_texts_well_formed() -> None:
    checks = list(builtin_registry())
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids))
    for check in checks:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", check.id)
        assert check.remediation.endswith("."), check.id
        assert check.summary.endswith("."), check.id
        assert check.title and check.title[0].isupper(), check.id


def test_each_check_module_opens_with_the_standard_it_implements() -> None:
    for name in BUILTIN_CHECK_MODULES:
        tree = ast.parse(_module_path(name).read_text())
        doc = ast.get_docstring(tree)
        assert doc and len(doc.splitlines()) >= 3, f"{name}.py needs a docstring quoting its standard"


def test_no_check_walks_containers_by_hand() -> None:
    # One container walker (model/containers.py): a check reading spec.containers itself would
    # forget init or ephemeral containers sooner or later.
    pss_helpers = [f"pss.{p.stem}" for p in PSS_DIR.glob("_*.py")]
    for name in [*BUILTIN_CHECK_MODULES, *pss_helpers]:
        text = _module_path(name).read_text()
        if name == "malformed_object":
            continue  # validates the raw container lists the walker skips
        assert '"containers"' not in text and '"initContainers"' not in text, name


def test_docs_checks_md_is_generated_from_the_registry() -> None:
    committed = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert committed == _docs.render(builtin_registry()), (
        "docs/checks.md is stale: run `python -m pytest_k8ssec.checks._docs docs/checks.md`"
    )


def test_public_api_is_exactly_all() -> None:
    assert isinstance(pytest_k8ssec.__all__, tuple)
    assert sorted(pytest_k8ssec.__all__) == list(pytest_k8ssec.__all__)
    # Names are imported on first use; each must resolve, and the lazy table must list exactly them.
    homes = [name for names in pytest_k8ssec._MODULES.values() for name in names]
    assert sorted(homes) == sorted(pytest_k8ssec.__all__), "pytest_k8ssec._MODULES and __all__ differ"
    for name in pytest_k8ssec.__all__:
        assert hasattr(pytest_k8ssec, name), name
        value = getattr(pytest_k8ssec, name)
        assert getattr(importlib.import_module(pytest_k8ssec._HOME[name]), name) is value
    assert not hasattr(pytest_k8ssec, "no_such_name")
    helpers = set()
    for info in pkgutil.walk_packages(pytest_k8ssec.__path__, "pytest_k8ssec."):
        module = importlib.import_module(info.name)
        helpers |= {
            name
            for name, value in vars(module).items()
            if name.startswith("assert_") and callable(value) and getattr(value, "__module__", "") == info.name
        }
    assert "assert_passes" in helpers
    # Old names of renamed helpers stay importable until 0.3.0, outside __all__.
    assert helpers - set(pytest_k8ssec.__all__) == set(pytest_k8ssec._DEPRECATED), "every assertion helper is public"


def test_registry_refuses_duplicate_ids_and_names_known_ids_on_lookup() -> None:
    registry = Registry(builtin_registry())
    first = next(iter(registry))
    with pytest.raises(ValueError, match="duplicate check id"):
        registry.add(first)
    with pytest.raises(KeyError, match="known ids: malformed-object, privileged-container"):
        registry.get("no-such-check")


def test_check_record_rejects_bad_ids_and_remediations() -> None:
    first = next(iter(builtin_registry()))
    with pytest.raises(ValueError, match="kebab-case"):
        Check(**{**first.__dict__, "id": "Bad_Id"})
    with pytest.raises(ValueError, match="period"):
        Check(**{**first.__dict__, "remediation": "no period"})


# --- check kinds, renamed ids, no ad hoc checks ----------------------------------------------------

PACKAGE = ROOT / "pytest_k8ssec"


def _checks_of(kind: CheckKind) -> list[Check]:
    return [check for check in builtin_registry() if check.kind is kind]


def test_no_module_outside_checks_builds_a_check_record() -> None:
    # Every check a report shows comes from the registry; helpers derive variants with
    # dataclasses.replace (a module's configure), never with Check(...).
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if CHECKS_DIR in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name == "Check":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_former_ad_hoc_checks_are_registry_checks_of_the_right_kind() -> None:
    registry = builtin_registry()
    expected = {
        "namespace-pod-security-too-weak": CheckKind.OBJECT,
        "image-vulnerable": CheckKind.OBJECT,
        "network-not-isolated": CheckKind.SELECTION,
        "network-default-deny-missing": CheckKind.SELECTION,
        "network-policy-ineffective": CheckKind.SELECTION,
        "network-egress-unrestricted": CheckKind.SELECTION,
        "network-reachability-unexpected": CheckKind.REQUIREMENT,
        "network-ingress-from-allowed": CheckKind.REQUIREMENT,
        "rbac-access-unexpected": CheckKind.REQUIREMENT,
        "rbac-cluster-admin-subject": CheckKind.SELECTION,
        "admission-decision-unexpected": CheckKind.REQUIREMENT,
        "pod-security-not-enforced": CheckKind.REQUIREMENT,
        "in-pod-process-root": CheckKind.REQUIREMENT,
        "in-pod-root-filesystem-writable": CheckKind.REQUIREMENT,
        "in-pod-package-manager-present": CheckKind.REQUIREMENT,
        "in-pod-shell-present": CheckKind.REQUIREMENT,
        "in-pod-connection-allowed": CheckKind.REQUIREMENT,
        "in-pod-connection-blocked": CheckKind.REQUIREMENT,
        "node-file-insecure": CheckKind.REQUIREMENT,
    }
    assert {check_id: registry.get(check_id).kind for check_id in expected} == expected
    assert {c.id for c in _checks_of(CheckKind.REQUIREMENT)} == {
        i for i, kind in expected.items() if kind is CheckKind.REQUIREMENT
    }


def test_every_named_helper_is_public_and_every_requirement_check_names_one() -> None:
    for check in builtin_registry():
        for helper in check.helpers:
            assert helper in pytest_k8ssec.__all__, f"{check.id} names unknown helper {helper}"
    for check in _checks_of(CheckKind.REQUIREMENT):
        assert check.helpers, check.id
        assert check.targets == frozenset(), check.id
        assert not check.applies_to(
            K8sObject({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, Provenance("t.yaml", 1))
        )


def test_requirement_checks_refuse_to_run_on_objects_naming_their_helpers() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    with pytest.raises(
        TypeError, match=r"rbac-access-unexpected is a requirement check.*assert_can\(\) or assert_cannot\(\)"
    ):
        pytest_k8ssec.assert_passes("rbac-access-unexpected", [pod])
    check = builtin_registry().get("in-pod-shell-present")
    with pytest.raises(TypeError, match=r"call assert_in_pod_no_shell\(\) instead"):
        list(check.evaluate(K8sObject(pod, Provenance("t.yaml", 1))))
    # The engine skips them: alone they judge nothing (their helpers ask the question).
    assert evaluate([check], [K8sObject(pod, Provenance("t.yaml", 1))]) == []


def test_selection_checks_run_through_assert_passes_with_their_defaults() -> None:
    web = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "a", "image": "a@sha256:" + "0" * 64}]},
            }
        },
    }
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    with pytest.raises(SecurityAssertionError) as info:
        pytest_k8ssec.assert_passes("network-not-isolated", [web])
    assert str(info.value).splitlines()[0] == "network-not-isolated: 1 violation in Deployment shop/web (<dict>)"
    assert "not isolated for Ingress: no NetworkPolicy selects it with policyType Ingress" in str(info.value)
    pytest_k8ssec.assert_passes(["network-not-isolated", "network-default-deny-missing"], [web, deny])
    with pytest.raises(SecurityAssertionError, match="no default-deny Ingress NetworkPolicy"):
        pytest_k8ssec.assert_passes("network-default-deny-missing", [web])


def test_a_derived_variant_keeps_the_record_and_its_kind() -> None:
    from pytest_k8ssec.checks import namespace_pod_security_too_weak, network_not_isolated

    base = builtin_registry().get("network-not-isolated")
    variant = network_not_isolated.configure("both")
    assert (variant.id, variant.title, variant.kind) == (base.id, base.title, CheckKind.SELECTION)
    assert variant.parameters == (("direction", "both"),) and base.parameters == (("direction", "ingress"),)
    # The derived evaluate(obj) follows the variant's selection evaluator, not the record's.
    pod = K8sObject(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": []}},
        Provenance("t.yaml", 1),
    )
    assert len(list(variant.evaluate(pod))) == 2 and len(list(base.evaluate(pod))) == 1
    namespace = namespace_pod_security_too_weak.configure("baseline", "warn")
    assert namespace.id == "namespace-pod-security-too-weak"
    assert namespace.remediation.startswith("Label the namespace pod-security.kubernetes.io/warn=baseline")


def test_image_vulnerable_fails_closed_without_reports() -> None:
    pod = K8sObject(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]},
        },
        Provenance("t.yaml", 1),
    )
    violations = list(builtin_registry().get("image-vulnerable").evaluate(pod))
    assert [v.path for v in violations] == ["spec.containers[0].image"]
    assert "no scan reports given" in violations[0].message and "assert_no_vulnerabilities" in violations[0].message


def test_check_record_rejects_inconsistent_kinds() -> None:
    base = builtin_registry().get("privileged-container")
    with pytest.raises(ValueError, match="both evaluate and evaluate_selection"):
        dataclasses.replace(base, evaluate_selection=lambda objects: ())
    requirement = builtin_registry().get("rbac-access-unexpected")
    with pytest.raises(ValueError, match="must name the helpers"):
        dataclasses.replace(requirement, helpers=())
    with pytest.raises(ValueError, match="targets=frozenset"):
        dataclasses.replace(requirement, targets=None)


def test_renamed_ids_resolve_to_their_new_check_with_a_deprecation_warning() -> None:
    registry = builtin_registry()
    assert RENAMED_IDS, "the table exists (other renames extend it)"
    for old, new in RENAMED_IDS.items():
        assert old not in registry and new in registry
        with pytest.warns(DeprecationWarning, match=rf"check id '{old}' is deprecated .* use '{new}'"):
            assert registry.get(old) is registry.get(new)
    with pytest.warns(DeprecationWarning, match="'network-isolation'"):
        with pytest.raises(SecurityAssertionError, match="^network-not-isolated: "):
            pytest_k8ssec.assert_passes(
                "network-isolation",
                [
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {"name": "p", "namespace": "n"},
                        "spec": {"containers": []},
                    }
                ],
            )


def test_docs_say_each_checks_kind() -> None:
    text = _docs.render(builtin_registry())
    for check in builtin_registry():
        assert f"| [`{check.id}`](#{check.id}) | {check.kind} |" in text
        assert f"— {check.kind} check," in text
    for kind in CheckKind:
        assert f"- **{kind}**:" in text


def test_every_renamed_id_has_its_changelog_line() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for old, new in RENAMED_IDS.items():
        assert f"- `{old}` -> `{new}` (old name warns, removed in 0.3.0)" in readme


def test_each_pss_control_is_claimed_once_by_its_pss_check() -> None:
    claimed = [(check.id, check.pss.control) for check in builtin_registry() if check.pss is not None]
    controls = [control for _, control in claimed]
    assert len(controls) == len(set(controls)), "two registry checks claim one PSS control"
    assert set(controls) == {control.id for control in table().controls}
    assert all(check_id.startswith("pss-") for check_id, _ in claimed), claimed


def _findings(check: Check) -> int:
    count = 0
    for path in sorted((CHECK_DATA / check.id).glob("fail-*.yaml")):
        if "# configure:" not in path.read_text():
            count += len(evaluate([check], load_file(path)))
    return count


def test_the_builds_on_table_lists_every_check_that_calls_a_pss_control() -> None:
    calling = {
        entry
        for entry in BUILTIN_CHECK_MODULES
        # A check builds on a control when it asks the control for its outcome (reading a
        # namespace's labels through checks.pss, as namespace-pod-security-too-weak does, is not that).
        if not entry.startswith("pss.") and "outcome(" in _module_path(entry).read_text()
    }
    assert calling == set(BUILDS_ON)
    assert not calling & set(DIFFERS_FROM_PSS)


@pytest.mark.parametrize(("entry", "control_module"), sorted(BUILDS_ON.items()))
def test_opinionated_check_builds_on_its_pss_control(
    entry: str, control_module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(module_name(entry))
    control = importlib.import_module(module_name(f"pss.{control_module}")).CONTROL
    check: Check = module.CHECK
    assert check.pss is None, f"{check.id}: the control is claimed by {control.check_id}"
    before = _findings(check)
    asked: list[Control] = []

    def allow_everything(asked_control: Control, obj: object, version: Version | None = None) -> Outcome:
        asked.append(asked_control)
        return ALLOWED

    # With its control allowing everything, the check must lose the findings the control gave it.
    monkeypatch.setattr(module, "outcome", allow_everything)
    after = _findings(check)
    assert asked and {id(c) for c in asked} == {id(control)}
    assert after < before, f"{check.id} does not defer to {control.check_id}"


@pytest.mark.parametrize("entry", DIFFERS_FROM_PSS)
def test_opinionated_check_that_differs_from_pss_claims_no_control(entry: str) -> None:
    module = importlib.import_module(module_name(entry))
    check: Check = module.CHECK
    assert check.pss is None
    assert not any(control.startswith("PSS") for control in check.controls), check.controls
    assert not any("pod-security-standards" in ref for ref in check.references), check.references
    assert "does not claim the PSS control" in (module.__doc__ or "")


# Module files are named after their check's id, no exception.
_MODULE_NAME_EXCEPTIONS: dict[str, str] = {}


def test_ids_name_the_fault_and_pss_ids_name_the_upstream_control() -> None:
    controls = {control.check_id: control.id for control in table().controls}
    for entry in BUILTIN_CHECK_MODULES:
        check: Check = importlib.import_module(module_name(entry)).CHECK
        if check.id.startswith("pss-"):
            # pss- + the upstream control id, spelled in kebab case: it names the control.
            assert check.id.removeprefix("pss-").replace("-", "") == controls[check.id].replace("_", "").lower()
        else:
            assert entry not in controls, entry
            assert _MODULE_NAME_EXCEPTIONS.get(entry, entry.replace("_", "-")) == check.id, entry
    # The ids that named a rule are gone from the registry and from the data folders.
    registry = builtin_registry()
    for old, new in RENAMED_IDS.items():
        assert old not in registry and new in registry, (old, new)
        assert not (CHECK_DATA / old).exists(), old
        # Requirement checks have no data folder: their helpers ask the question (see their tests).
        assert (CHECK_DATA / new).is_dir() or registry.get(new).kind is CheckKind.REQUIREMENT, new


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED_IDS.items()))
def test_a_renamed_id_still_finds_its_check_with_a_deprecation_warning(old: str, new: str) -> None:
    registry = Registry(builtin_registry())
    with pytest.warns(DeprecationWarning, match=f"check id '{old}' is deprecated .* use '{new}'"):
        assert registry.get(old) is registry.get(new)


def test_assert_passes_takes_an_old_id_with_a_warning_and_still_judges() -> None:
    from pytest_k8ssec import SecurityAssertionError, assert_passes

    unconfined = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "app@sha256:" + "a" * 64}]},
    }
    with pytest.warns(DeprecationWarning, match="'seccomp-profile'"):
        with pytest.raises(SecurityAssertionError) as failure:
            assert_passes("seccomp-profile", unconfined)
    assert [f.check.id for f in failure.value.findings] == ["seccomp-unconfined"]
    assert failure.value.findings[0].path == "spec.containers[0].securityContext.seccompProfile.type"


def test_an_unknown_id_is_still_a_key_error_and_no_renamed_id_is_reused() -> None:
    with pytest.raises(KeyError, match="unknown check id 'seccomp-profiles'"):
        builtin_registry().get("seccomp-profiles")
    assert not set(RENAMED_IDS) & set(RENAMED_IDS.values())
