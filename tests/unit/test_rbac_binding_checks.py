"""The binding-level RBAC checks: what the data folders cannot say (live listings, the model's own answer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_k8ssec.asserts.rbac import to_user
from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.engine import Finding, evaluate
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.rbac import RbacModel, SubjectHit, subject_risks
from pytest_k8ssec.sources.default_roles import default_roles, is_default_binding
from pytest_k8ssec.sources.manifests import load_file, load_text

DATA = Path(__file__).parent.parent / "data" / "checks"


def live(text: str) -> list[K8sObject]:
    """The objects as a live listing of context ``prod`` gives them."""
    return [K8sObject(obj.raw, Provenance.of_cluster("prod")) for obj in load_text(text, "<live>")]


def run(check_id: str, objects: list[K8sObject]) -> list[Finding]:
    return evaluate([builtin_registry().get(check_id)], objects)


DANGLING = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
  - {kind: ServiceAccount, name: web}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
"""


def test_a_dangling_role_ref_is_worded_by_where_the_objects_come_from() -> None:
    [on_manifests] = run("rbac-role-ref-missing", list(load_text(DANGLING, "rb.yaml")))
    assert "not in the selection" in on_manifests.message
    [on_cluster] = run("rbac-role-ref-missing", live(DANGLING))
    assert "which the cluster does not have" in on_cluster.message
    assert "grants nothing now" in on_cluster.message


def test_risky_binding_fails_closed_on_manifests_and_leaves_a_live_dangling_ref_to_role_ref_missing() -> None:
    # On manifests the role may be created elsewhere with any rules: the binding cannot be judged.
    [finding] = run("rbac-risky-binding", list(load_text(DANGLING, "rb.yaml")))
    assert finding.path == "roleRef.name" and finding.message.startswith("cannot be judged")
    # The cluster's listing is complete for the role's namespace: the binding grants nothing, as
    # the authorizer's rule resolver skips a role it cannot find.
    assert run("rbac-risky-binding", live(DANGLING)) == []


MISSING_ACCOUNTS = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
  - {kind: ServiceAccount, name: ghost, namespace: shop}
  - {kind: ServiceAccount, name: ghost, namespace: filtered-out}
  - {kind: ServiceAccount, name: default, namespace: shop}
  - {kind: ServiceAccount, name: namespace-controller, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
"""


def test_a_missing_service_account_is_worded_by_what_the_listing_can_tell() -> None:
    found = {f.path: f.message for f in run("rbac-service-account-missing", live(MISSING_ACCOUNTS))}
    # default and the controllers' accounts are the control plane's own: never missing.
    assert set(found) == {"subjects[0]", "subjects[1]"}
    assert "does not exist in the cluster" in found["subjects[0]"]
    # A namespace nothing was listed from may have been filtered out (--k8s-namespace).
    assert "cannot be told" in found["subjects[1]"]
    on_manifests = run("rbac-service-account-missing", list(load_text(MISSING_ACCOUNTS, "crb.yaml")))
    assert [f.path for f in on_manifests] == ["subjects[0]", "subjects[1]"]
    assert all("is not in the selection" in f.message for f in on_manifests)


def test_admin_and_edit_grant_what_the_check_claims() -> None:
    # The check claims CIS 5.1.2 (secrets) and 5.1.4 (create pods) for every finding: both default
    # roles, bound in a namespace, must grant both there, as the authorizer decides.
    for name in ("admin", "edit"):
        hits = {hit.risk.id for hit in service_account_risks(name)}
        assert {"read-secrets", "create-pods", "pods-exec"} <= hits, name


def service_account_risks(role: str) -> list[SubjectHit]:
    """What a RoleBinding of the default ClusterRole ``role`` gives a service account."""
    binding = load_text(
        f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: ci, namespace: shop}}
roleRef: {{kind: ClusterRole, name: {role}}}
subjects: [{{kind: ServiceAccount, name: ci}}]
""",
        "rb.yaml",
    )
    bound = RbacModel.from_objects(binding, defaults=default_roles("latest"))
    [subject] = bound.bindings[0].subjects
    return subject_risks(bound.permissions(to_user(subject)))


def _data(check_id: str) -> list[Path]:
    return sorted((DATA / check_id).glob("*.yaml"))


@pytest.mark.parametrize("path", _data("rbac-risky-binding"), ids=lambda p: p.stem)
def test_risky_binding_reports_exactly_the_subjects_the_model_gives_risks(path: Path) -> None:
    # One rule, two entry points: the check's subjects are those whose permissions through the
    # binding (RbacModel.permissions, the authorizer's scope) add up to a catalog entry.
    objects = load_file(path)
    model = RbacModel.from_objects(objects, defaults=default_roles("latest"))
    reported = {(f.obj.ref, f.path) for f in run("rbac-risky-binding", list(objects)) if f.path.startswith("subjects[")}
    expected = set()
    for binding in model.bindings:
        if binding.obj is None or is_default_binding(binding.obj) or model.role(binding.role_ref) is None:
            continue
        for index, subject in enumerate(binding.subjects):
            perms = [p for p in model.permissions(to_user(subject)) if p.binding == binding.ref]
            if subject_risks(perms):
                expected.add((binding.obj.ref, f"subjects[{index}]"))
    assert reported == expected
