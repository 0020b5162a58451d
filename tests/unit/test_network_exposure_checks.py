"""The network exposure checks of issue 16: what their data folders cannot show.

Pass/fail manifests for each check are in ``tests/data/checks/<id>/``; here are the egress
record's equivalence with the variant it names, why it is a record of its own, the variants'
argument checking and the upstream rules each check restates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_k8ssec.checks import builtin_registry, network_not_isolated
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.policy.gate import subject_of
from pytest_k8ssec.sources.manifests import load_file

DATA = Path(__file__).parents[1] / "data" / "checks"


def _obj(raw: dict[str, object]) -> K8sObject:
    return K8sObject(raw, Provenance("t.yaml", 1))


WEB = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}}},
}


# --- network-egress-not-isolated --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted((DATA / "network-not-isolated").glob("*.yaml"))
    + sorted((DATA / "network-egress-not-isolated").glob("*.yaml")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_egress_record_is_the_egress_variant(path: Path) -> None:
    # Same model, same evaluation: the record and configure("egress") report the same objects,
    # paths and messages on every network-not-isolated and network-egress-not-isolated file.
    objects = load_file(path)
    record = builtin_registry().get("network-egress-not-isolated")
    variant = network_not_isolated.configure("egress")

    def found(check: object) -> list[tuple[str, str, str]]:
        return [(f.obj.ref, f.path, f.message) for f in evaluate([check], objects)]  # type: ignore[list-item]

    assert found(record) == found(variant)


def test_one_id_for_both_directions_would_merge_their_findings_in_baselines() -> None:
    # Why a record of its own: both directions report at the pod labels, and a baseline
    # fingerprint has no message. Under the variant, the ingress and egress findings of one
    # workload are the same finding to a baseline (and to a waiver naming the check id).
    ingress = evaluate([builtin_registry().get("network-not-isolated")], [_obj(WEB)])
    variant = evaluate([network_not_isolated.configure("egress")], [_obj(WEB)])
    record = evaluate([builtin_registry().get("network-egress-not-isolated")], [_obj(WEB)])
    assert len(ingress) == len(variant) == len(record) == 1

    def fingerprint(findings: list[object]) -> str:
        return subject_of(findings[0], "manifests").fingerprint  # type: ignore[arg-type]

    assert fingerprint(ingress) == fingerprint(variant)
    assert fingerprint(ingress) != fingerprint(record)


def test_egress_record_fails_closed_when_the_model_cannot_be_built() -> None:
    bad = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "bad", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Sideways"]},
    }
    findings = evaluate([builtin_registry().get("network-egress-not-isolated")], [_obj(WEB), _obj(bad)])
    assert [(f.obj.name, f.path) for f in findings] == [("web", "")]
    assert "cannot be judged" in findings[0].message
