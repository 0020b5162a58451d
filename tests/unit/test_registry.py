"""Tests on the check registry itself (kube-linter's TestBuiltInChecksWellFormed, PSA TestFixtures)."""

from __future__ import annotations

import ast
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
    Registry,
    _docs,
    builtin_registry,
    module_name,
)
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome
from pytest_k8ssec.checks.pss._registry import Control, Version, table
from pytest_k8ssec.engine import evaluate
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
    assert helpers - set(pytest_k8ssec.__all__) == set(), "every assertion helper is public"


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
        if not entry.startswith("pss.") and "from pytest_k8ssec.checks.pss import" in _module_path(entry).read_text()
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


# Module files are named after their check's id; image_registry.py keeps its name for now because
# asserts/workloads.py imports it (renaming it there is outside this change).
_MODULE_NAME_EXCEPTIONS = {"image_registry": "image-registry-not-allowed"}


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
        assert not (CHECK_DATA / old).exists() and (CHECK_DATA / new).is_dir(), old


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
