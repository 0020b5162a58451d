"""The model's exact-type fast paths answer as the general paths do for mappings that are not dicts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.security import is_windows, pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef, pod_spec


class Frozen(Mapping[str, Any]):
    """A read-only mapping that is not a dict (as a caller's own manifest type might be)."""

    def __init__(self, **items: Any) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"privileged": True}, {"privileged": True}),
        (Frozen(privileged=True), Frozen(privileged=True)),
        (None, {}),
        (["privileged"], {}),
        ("privileged", {}),
    ],
)
def test_a_container_s_security_context_is_found_once_when_walked(value: object, expected: Mapping[str, Any]) -> None:
    ref = ContainerRef({"name": "app", "securityContext": value}, "spec.containers[0]", "containers", 0)
    assert dict(ref.security_context) == dict(expected)
    assert "security_context" in ContainerRef.__slots__  # an attribute now, not a property per read


def test_pod_specs_and_containers_of_mappings_that_are_not_dicts() -> None:
    raw = Frozen(
        apiVersion="apps/v1",
        kind="Deployment",
        metadata=Frozen(name="web"),
        spec=Frozen(
            template=Frozen(
                metadata=Frozen(labels={}),
                spec=Frozen(os=Frozen(name="windows"), containers=[Frozen(name="app", securityContext=Frozen(a=1))]),
            )
        ),
    )
    obj = K8sObject(raw, Provenance("web.yaml"))
    ref = pod_spec(obj)
    assert ref is not None and not ref.malformed
    assert (ref.path, ref.metadata_path) == ("spec.template.spec", "spec.template.metadata")
    assert is_windows(ref)
    [container] = containers(obj)
    assert container.path == "spec.template.spec.containers[0]"
    assert dict(container.security_context) == {"a": 1}


def test_a_pod_spec_s_security_context_and_os_are_found_once() -> None:
    ref = PodSpecRef(
        spec={"securityContext": {"runAsNonRoot": True}, "os": {"name": "windows"}},
        path="spec",
        metadata={},
        metadata_path="metadata",
        malformed=False,
    )
    assert pod_security_context(ref) == {"runAsNonRoot": True}
    assert is_windows(ref)
    bare = PodSpecRef(
        spec={"securityContext": [], "os": "windows"}, path="spec", metadata={}, metadata_path="m", malformed=False
    )
    assert pod_security_context(bare) == {}
    assert not is_windows(bare)
    assert {"security_context", "windows"} <= set(PodSpecRef.__slots__)  # attributes, not lookups per call
