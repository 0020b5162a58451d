"""The ready suites on a live cluster (``--k8s-context``) give the verdicts they give on the manifests.

The demo shop, insecure or hardened, is applied to a real control plane of its own: the RBAC
verdicts are about every ClusterRoleBinding of the cluster, so the session's plane (other tests'
bindings) or the other variant's cluster-admin binding would change them. Every suite then runs
twice, on the same
manifests and on the cluster: each test's outcome must be the same, except the tests about what
only a cluster shows (they skip on manifests and run live) and the one about committed Secrets
(a cluster's Secrets are where they belong, so it skips live).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# See tests/plugin/test_suites.py: imported before any in-process run.
import pytest_k8ssec.suites.cis
import pytest_k8ssec.suites.images
import pytest_k8ssec.suites.network
import pytest_k8ssec.suites.nsa
import pytest_k8ssec.suites.pss
import pytest_k8ssec.suites.rbac  # noqa: F401
from pytest_k8ssec.fixtures.local_control_plane import apply_in_order
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.cluster_options import ClusterOptions
from pytest_k8ssec.sources.local_control_plane import Binaries, LocalControlPlane
from pytest_k8ssec.sources.manifests import load

DEMO = Path(__file__).resolve().parents[2] / "example_suites" / "manifests"
SUITES = ("pss", "cis", "nsa", "images", "rbac", "network")
VARIANTS = ("insecure", "hardened")

# Tests whose live verdict differs from the manifest one by design: test name -> (manifests, live)
# outcome per variant.
LIVE_ONLY: dict[str, dict[str, tuple[str, str]]] = {
    # Pod Security admission's dry-run probes: the unlabelled insecure namespace admits them.
    "test_5_2_1_admission_refuses_what_the_level_forbids": {
        "insecure": ("skipped", "failed"),
        "hardened": ("skipped", "passed"),
    },
    "test_no_secrets_committed": {"insecure": ("failed", "skipped"), "hardened": ("passed", "skipped")},
}


def _owned(owner: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
    }


def _make_pod(admin: ClusterSource, workload: dict[str, Any]) -> None:
    """What the workload's controller would create: a Pod from its template (a CronJob's through a Job)."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": f"{workload['metadata']['name']}-1", "ownerReferences": [_owned(workload)]},
            "spec": spec["jobTemplate"]["spec"],
        }
        workload = admin.apply(job, "shop")
        spec = workload["spec"]
    template = spec["template"]
    pod_spec = dict(template["spec"])
    # A StatefulSet's controller adds a volume per claim template; the API server refuses a mount without one.
    claims = [c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", ())]
    pod_spec["volumes"] = [
        *pod_spec.get("volumes", ()),
        *({"name": c, "persistentVolumeClaim": {"claimName": f"{c}-{workload['metadata']['name']}-0"}} for c in claims),
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{workload['metadata']['name']}-0",
            "labels": template["metadata"]["labels"],
            "ownerReferences": [_owned(workload)],
        },
        "spec": pod_spec,
    }
    admin.apply(pod, "shop")


@pytest.fixture(scope="module", params=VARIANTS)
def shop(request: pytest.FixtureRequest, binaries: Binaries) -> Iterator[tuple[str, LocalControlPlane]]:
    """A control plane holding one variant of the demo shop (pytest runs one variant's tests, then the other's)."""
    variant = str(request.param)
    with LocalControlPlane.start(binaries) as plane:
        admin = ClusterSource.from_kubeconfig("admin", ClusterOptions(kubeconfig=str(plane.kubeconfig)))
        apply_in_order(admin, load([str(DEMO / variant)]).objects)
        # Live NetworkPolicy endpoints are Pods, and this control plane runs no workload controllers:
        # one pod per workload, owned as its controller would own it.
        for obj in load([str(DEMO / variant)]).objects:
            if obj.kind in ("Deployment", "StatefulSet", "CronJob"):
                _make_pod(admin, admin.apply(obj.raw))
        yield variant, plane


def _outcomes(xml: Path) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        outcome = "passed"
        for tag, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            if case.find(tag) is not None:
                outcome = name
                break
        outcomes[str(case.get("name"))] = outcome
    return outcomes


@pytest.mark.parametrize("suite", SUITES)
def test_suite_verdicts_live_match_the_manifests(
    pytester: pytest.Pytester, shop: tuple[str, LocalControlPlane], suite: str
) -> None:
    variant, plane = shop
    common = ["-p", "no:randomly", "-p", "no:cacheprovider", "--pyargs", f"pytest_k8ssec.suites.{suite}"]
    common.append(f"--k8s-profile={DEMO.parent / 'shop-profile.yaml'}")
    on_disk = pytester.path / "manifests.xml"
    pytester.runpytest(*common, f"--k8s-manifests={DEMO / variant}", f"--junitxml={on_disk}")
    live = pytester.path / "live.xml"
    result = pytester.runpytest(
        *common,
        f"--k8ssec-kubeconfig={plane.kubeconfig}",
        "--k8s-context=admin",
        "--k8s-namespace=shop",
        f"--junitxml={live}",
        "-rs",
    )
    manifests, cluster = _outcomes(on_disk), _outcomes(live)
    assert "error" not in cluster.values(), result.stdout.str()[-5000:]
    assert set(manifests) == set(cluster), "the same test cases (the same workloads and namespaces)"
    differing = {name: (manifests[name], cluster[name]) for name in manifests if manifests[name] != cluster[name]}
    expected = {case: LIVE_ONLY[case.split("[")[0]][variant] for case in manifests if case.split("[")[0] in LIVE_ONLY}
    assert differing == expected, f"{differing}\n{result.stdout.str()[-5000:]}"
    if variant == "hardened":
        assert "failed" not in cluster.values(), result.stdout.str()[-5000:]
