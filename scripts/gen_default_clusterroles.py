"""Generate the default (bootstrap) ClusterRoles that pytest-k8ssec ships, from a real control plane.

kube-apiserver's post-start hook ``rbac/bootstrap-roles`` (plugin/pkg/auth/authorizer/rbac/
bootstrappolicy) creates the default ClusterRoles and ClusterRoleBindings, labelled
``kubernetes.io/bootstrapping=rbac-defaults``; the clusterrole-aggregation controller of
kube-controller-manager then writes the rules of the aggregated roles (``admin``, ``edit``,
``view``). This script starts the project's local control plane (pytest_k8ssec/sources/local_control_plane.py),
waits until both have happened, lists the objects, strips what the server sets per object, and
writes

    pytest_k8ssec/data/rbac/default-clusterroles-<major.minor>.yaml         (read by sources/default_roles.py)
    pytest_k8ssec/data/rbac/default-clusterrolebindings-<major.minor>.yaml  (reference only)

so that a manifest target binding to ``view`` or ``system:node-proxier`` is judged with the rules
that Kubernetes version really has. The version is the one the server reports at /version.

    python scripts/gen_default_clusterroles.py [--bin PATH] [--output-dir DIR] [--timeout S]

tests/live/test_default_clusterroles_live.py imports this file to compare the shipped data with a
running control plane, so both sides normalise objects the same way.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from pytest_k8ssec.sources.cluster import ClusterSource  # noqa: E402
from pytest_k8ssec.sources.cluster_options import ClusterOptions  # noqa: E402
from pytest_k8ssec.sources.local_control_plane import Binaries, LocalControlPlane  # noqa: E402

DATA_DIR: Final = ROOT / "pytest_k8ssec" / "data" / "rbac"
COMMAND: Final = "python scripts/gen_default_clusterroles.py"
BOOTSTRAP_LABEL: Final = ("kubernetes.io/bootstrapping", "rbac-defaults")
RBAC: Final = "/apis/rbac.authorization.k8s.io/v1"
# What the server sets per object (identity, bookkeeping); never part of what a role means.
KEPT_METADATA: Final = ("name", "labels", "annotations")
_VERSION: Final = re.compile(r"^v(\d+)\.(\d+)\.")


class GenerationError(RuntimeError):
    """The control plane did not reach the state the data must be taken from."""


@dataclass(frozen=True)
class Snapshot:
    """The default RBAC objects of one server, normalised and sorted by name."""

    git_version: str
    cluster_roles: tuple[dict[str, Any], ...]
    cluster_role_bindings: tuple[dict[str, Any], ...]

    @property
    def minor_version(self) -> str:
        """``1.35`` from ``v1.35.0``."""
        return minor_version(self.git_version)


def minor_version(git_version: str) -> str:
    match = _VERSION.match(git_version)
    if not match:
        raise GenerationError(f"the server reports gitVersion {git_version!r}, not v<major>.<minor>.<patch>")
    return f"{match[1]}.{match[2]}"


def roles_path(version: str, directory: Path = DATA_DIR) -> Path:
    return directory / f"default-clusterroles-{version}.yaml"


def bindings_path(version: str, directory: Path = DATA_DIR) -> Path:
    return directory / f"default-clusterrolebindings-{version}.yaml"


# --- reading the server --------------------------------------------------------------------------


def _list(source: ClusterSource, resource: str) -> list[dict[str, Any]]:
    """Every object of a cluster-scoped RBAC resource (uncached: ClusterSource.objects caches per run)."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        query = [("limit", "500")] + ([("continue", token)] if token else [])
        status, body = source.request("GET", f"{RBAC}/{resource}", query)
        if status != 200 or not isinstance(body, dict):
            raise GenerationError(f"listing {resource} failed with HTTP {status}: {body!r:.300}")
        items.extend(item for item in body.get("items") or () if isinstance(item, dict))
        token = str((body.get("metadata") or {}).get("continue") or "")
        if not token:
            return items


def _is_default(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(BOOTSTRAP_LABEL[0]) == BOOTSTRAP_LABEL[1])


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics, enough to know which roles an aggregation rule selects."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or ():
        key, operator, values = expr["key"], expr["operator"], expr.get("values") or ()
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _rule_key(rule: Mapping[str, Any]) -> str:
    return json.dumps(rule, sort_keys=True)


def unsettled_aggregations(cluster_roles: Sequence[Mapping[str, Any]]) -> list[str]:
    """Default aggregated ClusterRoles whose rules are not (yet) the union of the roles they select.

    The controller writes the union; roles that aggregate aggregated roles (``admin`` selects
    ``edit``) settle only after several passes, so an aggregated role with some rules is not done.
    Roles others created (a test's, on a shared control plane) are not waited for.
    """
    by_name = {str(role["metadata"]["name"]): role for role in cluster_roles}
    problems = []
    for name, role in sorted(by_name.items()):
        aggregation = role.get("aggregationRule")
        if aggregation is None or not _is_default(role):
            continue
        expected: set[str] = set()
        for selector in aggregation.get("clusterRoleSelectors") or ():
            for other_name, other in by_name.items():
                labels = (other.get("metadata") or {}).get("labels") or {}
                if other_name != name and _selects(selector, labels):
                    expected.update(_rule_key(rule) for rule in other.get("rules") or ())
        actual = {_rule_key(rule) for rule in role.get("rules") or ()}
        if actual != expected or not actual:
            problems.append(f"{name}: {len(actual)} distinct rules, the selected roles hold {len(expected)}")
    return problems


def wait_for_defaults(source: ClusterSource, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Wait for the bootstrap policy and settled aggregation; returns the ClusterRoles listed then."""
    deadline = time.monotonic() + timeout
    why = "not asked yet"
    while True:
        status, _ = source.request("GET", "/readyz/poststarthook/rbac/bootstrap-roles")
        if status != 200:
            why = f"the rbac/bootstrap-roles post-start hook is not done (HTTP {status})"
        else:
            roles = _list(source, "clusterroles")
            names = {str(role["metadata"]["name"]) for role in roles}
            missing = {"cluster-admin", "admin", "edit", "view"} - names
            pending = unsettled_aggregations(roles)
            if missing:
                why = f"missing ClusterRoles {sorted(missing)}"
            elif pending:
                why = "aggregation not settled: " + "; ".join(pending)
            else:
                return roles
        if time.monotonic() > deadline:
            raise GenerationError(f"timed out after {timeout:g} s waiting for the default RBAC policy: {why}")
        time.sleep(0.5)


def normalize(obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The object as a manifest would hold it: no uid, resourceVersion, timestamps or managedFields."""
    metadata = obj.get("metadata") or {}
    out: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind}
    out["metadata"] = {key: metadata[key] for key in KEPT_METADATA if metadata.get(key)}
    for key, value in obj.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            out[key] = value
    return out


def capture(kubeconfig: Path | str, context: str = "admin", timeout: float = 120.0) -> Snapshot:
    """The default ClusterRoles and ClusterRoleBindings of the server behind ``context``."""
    source = ClusterSource.from_kubeconfig(context, ClusterOptions(kubeconfig=str(kubeconfig)))
    roles = wait_for_defaults(source, timeout)
    bindings = _list(source, "clusterrolebindings")
    git_version = source.server_version()

    def pick(items: list[dict[str, Any]], kind: str) -> tuple[dict[str, Any], ...]:
        chosen = [normalize(item, kind) for item in items if _is_default(item)]
        return tuple(sorted(chosen, key=lambda item: str(item["metadata"]["name"])))

    return Snapshot(git_version, pick(roles, "ClusterRole"), pick(bindings, "ClusterRoleBinding"))


# --- writing -------------------------------------------------------------------------------------


def header(git_version: str, what: str) -> str:
    return (
        f"# Generated by scripts/gen_default_clusterroles.py from kube-apiserver {git_version} (GET /version).\n"
        "# DO NOT EDIT: regenerate with `python scripts/gen_default_clusterroles.py`.\n"
        f"# {what}, labelled kubernetes.io/bootstrapping=rbac-defaults, as the server lists them once the\n"
        "# rbac/bootstrap-roles post-start hook has run and the clusterrole-aggregation controller has\n"
        "# written the aggregated roles (admin, edit, view); server-set metadata removed, sorted by name.\n"
    )


def render(snapshot: Snapshot, kind: str) -> str:
    items = snapshot.cluster_roles if kind == "ClusterRole" else snapshot.cluster_role_bindings
    what = (
        "The default (bootstrap) ClusterRoles"
        if kind == "ClusterRole"
        else "The default (bootstrap) ClusterRoleBindings, for reference (RbacModel does not read them)"
    )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = yaml.dump_all(items, Dumper=dumper, sort_keys=True, default_flow_style=False, width=100, explicit_start=True)
    return header(snapshot.git_version, what) + body


def write(snapshot: Snapshot, directory: Path = DATA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    version = snapshot.minor_version
    written = []
    for path, kind in (
        (roles_path(version, directory), "ClusterRole"),
        (bindings_path(version, directory), "ClusterRoleBinding"),
    ):
        path.write_text(render(snapshot, kind), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bin", help="the k8s-controlplane binary or a folder of components (default: the build cache)"
    )
    parser.add_argument("--output-dir", type=Path, default=DATA_DIR, help=f"where to write (default {DATA_DIR})")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for start-up and aggregation")
    args = parser.parse_args(argv)
    began = time.monotonic()
    with LocalControlPlane.start(Binaries.find(args.bin), timeout=args.timeout) as plane:
        snapshot = capture(plane.kubeconfig, timeout=args.timeout)
    for path in write(snapshot, args.output_dir):
        print(f"wrote {path}")
    print(
        f"kube-apiserver {snapshot.git_version}: {len(snapshot.cluster_roles)} ClusterRoles, "
        f"{len(snapshot.cluster_role_bindings)} ClusterRoleBindings ({time.monotonic() - began:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
