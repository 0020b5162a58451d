"""K8sCluster.can_i spells a request as k8s_rbac.can does; the old positional order still works one release.

The source stands in for the API server only to record what can_i asks it; the answers of the
real server are tested in tests/live (test_live.py, test_read_only_audit.py).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, cast

import pytest

from pytest_k8ssec.fixtures.cluster import K8sCluster
from pytest_k8ssec.fixtures.targets import Target
from pytest_k8ssec.model.inventory import Inventory
from pytest_k8ssec.sources.cluster import ClusterSource


class _Recorder:
    context = "test"
    server = "https://127.0.0.1:1"

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    def can_i(self, verb: str, resource: str, namespace: str | None, group: str, subresource: str, name: str) -> bool:
        self.asked.append((verb, resource, namespace, group, subresource, name))
        return True


def _cluster() -> tuple[K8sCluster, _Recorder]:
    source = _Recorder()
    target = Target("test", Inventory([]), cast(ClusterSource, source))
    return K8sCluster(target, cast(ClusterSource, source)), source


def test_can_i_takes_verb_and_resource_by_position_and_the_rest_by_keyword() -> None:
    cluster, source = _cluster()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cluster.can_i("update", "deployments", namespace="shop", name="web", subresource="scale", group="apps")
    assert source.asked == [("update", "deployments", "shop", "apps", "scale", "web")]
    params = inspect.signature(K8sCluster.can_i).parameters
    assert [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY] == [
        "namespace",
        "name",
        "subresource",
        "group",
    ]


def test_can_i_options_by_position_keep_their_old_order_with_a_warning() -> None:
    cluster, source = _cluster()
    # The old order was namespace, group, subresource, name.
    with pytest.warns(
        DeprecationWarning,
        match=r"passing namespace, group, subresource, name to K8sCluster\.can_i\(\) by position is deprecated "
        r".* use K8sCluster\.can_i\(\.\.\., namespace=\.\.\.\)",
    ) as record:
        cluster.can_i("update", "deployments", "shop", "apps", "scale", "web")
    assert record[0].filename == __file__, "the warning points at the caller's line"
    assert source.asked == [("update", "deployments", "shop", "apps", "scale", "web")]
    with pytest.raises(TypeError, match="multiple values for argument 'namespace'"):
        cluster.can_i("get", "pods", "shop", namespace="shop")
