"""The shipped default ClusterRoles equal what the running control plane serves.

The data in pytest_k8ssec/data/rbac is generated from this control plane by
scripts/gen_default_clusterroles.py; a Kubernetes bump (controlplane/go.mod) that changes the
bootstrap policy without regenerating fails here, with the command that fixes it. The script's own
capture and normalisation are used, so the comparison is exactly what regeneration would write.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from pytest_k8ssec.sources.local_control_plane import LocalControlPlane

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_default_clusterroles.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_default_clusterroles", SCRIPT)
    assert spec is not None and spec.loader is not None, SCRIPT
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def snapshot(generator: ModuleType, control_plane: LocalControlPlane) -> Any:
    return generator.capture(control_plane.kubeconfig)


def _diff(kind: str, shipped: list[dict[str, Any]], served: tuple[dict[str, Any], ...]) -> list[str]:
    have = {item["metadata"]["name"]: item for item in shipped}
    want = {item["metadata"]["name"]: item for item in served}
    lines = [f"{kind} {name}: served, not shipped" for name in sorted(want.keys() - have.keys())]
    lines += [f"{kind} {name}: shipped, no longer served" for name in sorted(have.keys() - want.keys())]
    for name in sorted(have.keys() & want.keys()):
        if have[name] != want[name]:
            changed = sorted(
                key for key in have[name].keys() | want[name].keys() if have[name].get(key) != want[name].get(key)
            )
            lines.append(f"{kind} {name}: differs in {', '.join(changed)}")
    return lines


@pytest.mark.parametrize("kind", ["ClusterRole", "ClusterRoleBinding"])
def test_shipped_defaults_equal_the_served_ones(generator: ModuleType, snapshot: Any, kind: str) -> None:
    version = snapshot.minor_version
    path = generator.roles_path(version) if kind == "ClusterRole" else generator.bindings_path(version)
    regenerate = f"run `{generator.COMMAND}` and commit {path.relative_to(ROOT)}"
    assert path.is_file(), f"kube-apiserver {snapshot.git_version} has no shipped defaults ({path.name}); {regenerate}"
    text = path.read_text(encoding="utf-8")
    shipped = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    served = snapshot.cluster_roles if kind == "ClusterRole" else snapshot.cluster_role_bindings
    differences = _diff(kind, shipped, served)
    assert not differences, (
        f"the shipped defaults for {version} differ from kube-apiserver {snapshot.git_version} "
        f"({len(differences)} objects); {regenerate}:\n  " + "\n  ".join(differences[:40])
    )
    # Same objects: the text differs at most in the patch version the header names.
    assert text.split("\n---", 1)[1] == generator.render(snapshot, kind).split("\n---", 1)[1]
    assert f"from kube-apiserver v{version}." in text.splitlines()[0]


def test_served_roles_are_the_bootstrap_policy(snapshot: Any) -> None:
    names = {role["metadata"]["name"] for role in snapshot.cluster_roles}
    assert {"cluster-admin", "admin", "edit", "view", "system:node", "system:discovery"} <= names
    assert all(role.get("rules") for role in snapshot.cluster_roles)
