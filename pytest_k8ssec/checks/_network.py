"""What the network selection checks share: the model of a selection and the direction parameter.

The NetworkPolicy model is imported when a check runs, not when the registry loads: every pytest
run loads the registry, and a run that never judges a network must not pay the model's import at
start-up (about 40 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import is_workload, pod_spec

if TYPE_CHECKING:
    from pytest_k8ssec.model.netpol import Direction, NetworkModel

Findings = Iterator[tuple[K8sObject, Violation]]

# The last selection's model: the engine runs every network selection check on the same
# selection, and building the model (and its class index) is most of their cost.
_last: tuple[tuple[K8sObject, ...], NetworkModel] | None = None


def workload_model(objects: Sequence[K8sObject]) -> NetworkModel:
    """The selection's model with one endpoint per workload object (findings are about objects)."""
    global _last
    snapshot = tuple(objects)
    if _last is not None and len(_last[0]) == len(snapshot) and all(a is b for a, b in zip(_last[0], snapshot)):
        return _last[1]
    from pytest_k8ssec.model.netpol import NetworkModel

    model = NetworkModel.from_objects(snapshot, endpoints="workloads")
    _last = (snapshot, model)
    return model


def is_endpoint(obj: K8sObject) -> bool:
    """Objects the model makes endpoints of (PodTemplates are never endpoints)."""
    return is_workload(obj) and obj.kind != "PodTemplate"


def directions(direction: str) -> tuple[Direction, ...]:
    """The model's reading of a ``direction`` parameter (a wrong one is a NetworkPolicyError)."""
    from pytest_k8ssec.model.netpol import directions as read

    return read(direction)


def over_model(
    objects: Sequence[K8sObject], judged: Callable[[K8sObject], bool], judge: Callable[[NetworkModel], Findings]
) -> Findings:
    """``judge`` the selection's model; when the model cannot be built, fail closed: every object
    the check judges gets the reason."""
    from pytest_k8ssec.model.netpol import NetworkPolicyError

    try:
        model = workload_model(objects)
    except NetworkPolicyError as error:
        message = f"the selection's NetworkPolicy model cannot be built, so this cannot be judged: {error}"
        for obj in objects:
            if judged(obj):
                yield obj, Violation("", message)
        return
    yield from judge(model)


def labels_path(obj: K8sObject) -> str:
    """Where a workload's pod labels are (what a NetworkPolicy selects on)."""
    ref = pod_spec(obj)
    return ref.metadata_path + ".labels" if ref is not None else "metadata.labels"
