"""Live objects owned by a custom-resource controller are judged (issue 12, item 5).

A CRD ``Rollout`` owns a privileged ReplicaSet (``ownerReferences`` with ``controller: true`` and
the Rollout's real uid, so the garbage collector keeps it). Nothing we judge carries that pod
spec but the ReplicaSet itself: leaving it out as "controlled" was a false pass.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from pytest_k8ssec.errors import ClusterError
from pytest_k8ssec.sources.cluster import ClusterSource

OWNER = {"app.kubernetes.io/managed-by": "pytest-k8ssec-tests"}


@pytest.fixture
def rollout_namespace(admin: ClusterSource) -> Iterator[str]:
    suffix = secrets.token_hex(3)
    group = f"t{suffix}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"rollouts.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "rollouts", "singular": "rollout", "kind": "Rollout"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }  # fmt: skip
    ns = f"k8ssec-own-{suffix}"
    admin.apply(crd)
    admin.create_namespace(ns, OWNER)
    try:
        deadline = time.monotonic() + 60
        while True:  # the CRD is served once it is established
            try:
                rollout = admin.apply(
                    {"apiVersion": f"{group}/v1", "kind": "Rollout", "metadata": {"name": "web"}, "spec": {}}, ns
                )
                break
            except ClusterError:
                assert time.monotonic() < deadline, f"the CRD rollouts.{group} was not served within 60 s"
                time.sleep(0.2)
        admin.apply({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "ownerReferences": [
                {"apiVersion": f"{group}/v1", "kind": "Rollout", "name": "web", "uid": rollout["metadata"]["uid"], "controller": True}]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.example.com/web:1",
                                                           "securityContext": {"privileged": True}}]}}},
        }, ns)  # fmt: skip
        yield ns
    finally:
        admin.delete_namespace(ns, OWNER)
        admin.request("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rollouts.{group}")


def test_a_replica_set_owned_by_a_custom_resource_is_judged(
    pytester: pytest.Pytester, rollout_namespace: str, live_args: list[str]
) -> None:
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_not_privileged(k8s_workload):
            assert_not_privileged(k8s_workload)
        """
    )
    result = pytester.runpytest(*live_args, "--k8s-context", "admin", "--k8s-namespace", rollout_namespace)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*test_not_privileged*ReplicaSet/{rollout_namespace}/web-1*"])
    assert "privileged-container" in result.stdout.str()


@pytest.fixture
def stuck_rollout_namespace(admin: ClusterSource) -> Iterator[str]:
    """A Deployment whose template is hardened and the ReplicaSet of its previous revision, still
    scaled up with the privileged template (what a rollout stuck on unready new pods leaves)."""
    ns = f"k8ssec-roll-{secrets.token_hex(3)}"
    admin.create_namespace(ns, OWNER)

    def template(privileged: bool) -> dict[str, object]:
        return {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/web:1",
                                         "securityContext": {"privileged": privileged}}]}}  # fmt: skip

    try:
        deployment = admin.apply({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template(False)},
        }, ns)  # fmt: skip
        previous = template(True)
        previous["metadata"] = {"labels": {"app": "web", "pod-template-hash": "1"}}
        admin.apply({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": deployment["metadata"]["uid"], "controller": True}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "1"}}, "template": previous},
        }, ns)  # fmt: skip
        yield ns
    finally:
        admin.delete_namespace(ns, OWNER)


def test_the_previous_replica_set_of_a_stuck_rollout_is_judged(
    pytester: pytest.Pytester, stuck_rollout_namespace: str, live_args: list[str]
) -> None:
    # The Deployment passes; its previous ReplicaSet still runs privileged pods: the run must fail.
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_not_privileged(k8s_workload):
            assert_not_privileged(k8s_workload)
        """
    )
    result = pytester.runpytest(*live_args, "--k8s-context", "admin", "--k8s-namespace", stuck_rollout_namespace, "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"*test_not_privileged?Deployment/{stuck_rollout_namespace}/web? PASSED*",
                                 f"*test_not_privileged?ReplicaSet/{stuck_rollout_namespace}/web-1? FAILED*"])  # fmt: skip
