"""What the network selection checks share: the model of a selection and the direction parameter."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.model.netpol import NetworkModel, NetworkPolicyError
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import is_workload, pod_spec

# The last selection's model: the engine runs every network selection check on the same
# selection, and building the model (and its class index) is most of their cost.
_last: tuple[tuple[K8sObject, ...], NetworkModel] | None = None


def workload_model(objects: Sequence[K8sObject]) -> NetworkModel:
    """The selection's model with one endpoint per workload object (findings are about objects)."""
    global _last
    snapshot = tuple(objects)
    if _last is not None and len(_last[0]) == len(snapshot) and all(a is b for a, b in zip(_last[0], snapshot)):
        return _last[1]
    model = NetworkModel.from_objects(snapshot, endpoints="workloads")
    _last = (snapshot, model)
    return model


def is_endpoint(obj: K8sObject) -> bool:
    """Objects the model makes endpoints of (PodTemplates are never endpoints)."""
    return is_workload(obj) and obj.kind != "PodTemplate"


def unjudged(
    objects: Sequence[K8sObject], judged: Callable[[K8sObject], bool], error: NetworkPolicyError
) -> Iterator[tuple[K8sObject, Violation]]:
    """Fail closed when the selection has no model: every object the check judges gets the reason."""
    message = f"the selection's NetworkPolicy model cannot be built, so this cannot be judged: {error}"
    for obj in objects:
        if judged(obj):
            yield obj, Violation("", message)


def labels_path(obj: K8sObject) -> str:
    """Where a workload's pod labels are (what a NetworkPolicy selects on)."""
    ref = pod_spec(obj)
    return ref.metadata_path + ".labels" if ref is not None else "metadata.labels"
