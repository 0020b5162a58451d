"""malformed-object's plain pass: the generated exact-type test that spares well-formed objects
the spec walk. It must never call sound what the walk would not."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import pytest

from pytest_k8ssec.checks import malformed_object as schema
from pytest_k8ssec.model.objects import K8sObject, Provenance
from tests.unit.test_bad_input import COMPLIANT_POD, WRONG, _put

RICH_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "nginx:1.27",
    "securityContext": {
        "privileged": False,
        "runAsUser": 1000,
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL", None]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "ports": [{"containerPort": 80, "name": "http"}, None],
    "resources": {"requests": {"cpu": "1"}, "limits": None},
    "livenessProbe": {"httpGet": {"host": None}},
}


def _pod(spec: dict[str, Any]) -> K8sObject:
    return K8sObject({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}, Provenance("p.yaml"))


def test_a_well_formed_pod_is_answered_by_the_plain_pass_without_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    def walked(value: object, spec: object) -> bool:
        raise AssertionError("the plain pass should have answered")

    monkeypatch.setattr(schema, "_sound", walked)
    spec = {
        "hostNetwork": False,
        "volumes": [{"name": "v", "hostPath": {"path": "/x"}}],
        "containers": [RICH_CONTAINER],
    }
    assert list(schema.CHECK.evaluate(_pod(spec))) == []


def test_what_is_not_plain_still_gets_the_walk() -> None:
    # A Mapping that is not a dict is sound, but only the walk knows: the plain pass says no.
    container = OrderedDict(RICH_CONTAINER)
    plain = schema._CONTAINER_COMPILED.plain
    assert plain is not None
    assert not plain(container)
    assert schema._sound(container, schema._CONTAINER_COMPILED)
    assert list(schema.CHECK.evaluate(_pod({"containers": [container]}))) == []


@pytest.mark.parametrize(("path", "value"), WRONG)
def test_the_plain_pass_never_calls_a_wrong_type_sound(path: tuple[str | int, ...], value: Any) -> None:
    document = copy.deepcopy(COMPLIANT_POD)
    document["spec"]["containers"][0] = copy.deepcopy(RICH_CONTAINER)
    _put(document, path, value)
    spec = document["spec"]
    for compiled, values in (
        (schema._POD_SPEC_COMPILED, [spec]),
        (schema._CONTAINER_COMPILED, [c for f in ("containers", "initContainers") for c in spec.get(f) or ()]),
    ):
        plain = compiled.plain
        assert plain is not None
        for item in values:
            if plain(item):
                assert schema._sound(item, compiled), (path, value)
    assert list(schema.CHECK.evaluate(_pod(spec)))  # and the wrong type is reported
