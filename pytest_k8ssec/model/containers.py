"""The one container walker: init, regular, then ephemeral containers, as PSA's visitor orders them.

Every check that looks at containers goes through ``containers()``, so none can forget init or
ephemeral containers (kube-score's seccomp check once skipped init containers; see the research).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pytest_k8ssec.model.objects import K8sObject, as_list
from pytest_k8ssec.model.workloads import pod_spec

CONTAINER_FIELDS: Final = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A container of a workload and its field path, e.g. ``spec.template.spec.containers[1]``."""

    container: Mapping[str, Any]
    path: str
    field: str
    index: int
    #: ``securityContext`` of the container (empty if missing or malformed). Found once when the
    #: container is walked: nearly every check reads it, of every container.
    security_context: Mapping[str, Any] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        value = self.container.get("securityContext")
        if type(value) is not dict:  # the common case, without abc's __instancecheck__
            value = value if isinstance(value, Mapping) else {}
        object.__setattr__(self, "security_context", value)

    @property
    def name(self) -> str:
        """The container's name (``""`` if it has none)."""
        name = self.container.get("name")
        return name if isinstance(name, str) else ""


def _walk(obj: K8sObject) -> tuple[ContainerRef, ...]:
    ref = pod_spec(obj)
    if ref is None:
        return ()
    found: list[ContainerRef] = []
    for field in CONTAINER_FIELDS:
        entries = ref.spec.get(field)
        if entries is None:
            continue
        prefix = f"{ref.path}.{field}"
        for index, container in enumerate(as_list(entries)):
            # Non-mapping entries are malformed; malformed-object reports them, checks skip them.
            if type(container) is dict or isinstance(container, Mapping):
                found.append(ContainerRef(container, f"{prefix}[{index}]", field, index))
    return tuple(found)


def containers(obj: K8sObject) -> tuple[ContainerRef, ...]:
    """Every container of a workload (init, regular, ephemeral), each with its field path."""
    # As pod_spec: the container checks' first question, read from the object's cache directly.
    cache = obj._cache
    if "containers" in cache:
        found: tuple[ContainerRef, ...] = cache["containers"]
        return found
    return obj.memo("containers", _walk)  # type: ignore[no-any-return]
