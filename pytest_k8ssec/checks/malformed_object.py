"""malformed-object.

Kubernetes API schema (core/v1 PodSpec, Container, SecurityContext, PodSecurityContext): the API
server rejects objects whose fields have the wrong type. A manifest with ``containers: "x"`` or
``securityContext: []`` would never be admitted, and a check that cannot read a field must not
pass it: this check reports every field the security checks read that has the wrong shape, and
the assertion helpers always run it alongside the checks asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, Union

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import CONTAINER_FIELDS
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import PodSpecRef, pod_spec


class _List:
    def __init__(self, item: Spec) -> None:
        self.item = item


class _Map:
    """A mapping spec, compiled for the walk: most fields a spec names are unset in a manifest,
    so the walk visits only the keys present (one set intersection), in the spec's order."""

    __slots__ = ("fields", "names", "plain", "rank")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields: dict[str, Spec] = {key: _compiled(sub) for key, sub in fields.items()}
        self.names = frozenset(fields)
        self.rank = {key: index for index, key in enumerate(fields)}
        #: The plain pass of the specs _evaluate validates (see _plain).
        self.plain: Callable[[object], bool] | None = None


Spec = Union[type, dict[str, Any], _List, _Map]


def _compiled(spec: Spec) -> Spec:
    if type(spec) is dict:
        return _Map(spec)
    if type(spec) is _List:
        return _List(_compiled(spec.item))
    return spec


# Only the fields the checks read: the API server validates the rest, and we do not re-implement
# OpenAPI validation. int means an integer that is not a boolean (YAML's true is not a UID).
_SECCOMP: Final[dict[str, Any]] = {"type": str, "localhostProfile": str}
_SELINUX: Final[dict[str, Any]] = {"user": str, "role": str, "type": str, "level": str}
_APPARMOR: Final[dict[str, Any]] = {"type": str, "localhostProfile": str}
_WINDOWS: Final[dict[str, Any]] = {"hostProcess": bool}
_CONTAINER_SC: Final[dict[str, Any]] = {
    "privileged": bool,
    "allowPrivilegeEscalation": bool,
    "readOnlyRootFilesystem": bool,
    "runAsNonRoot": bool,
    "runAsUser": int,
    "runAsGroup": int,
    "procMount": str,
    "capabilities": {"add": _List(str), "drop": _List(str)},
    "seccompProfile": _SECCOMP,
    "seLinuxOptions": _SELINUX,
    "appArmorProfile": _APPARMOR,
    "windowsOptions": _WINDOWS,
}
_PROBE_HANDLER: Final[dict[str, Any]] = {"httpGet": {"host": str}, "tcpSocket": {"host": str}}
_CONTAINER: Final[dict[str, Any]] = {
    "name": str,
    "image": str,
    "securityContext": _CONTAINER_SC,
    "ports": _List({"containerPort": int, "hostPort": int, "name": str, "protocol": str}),
    "resources": {"requests": dict, "limits": dict},
    "livenessProbe": _PROBE_HANDLER,
    "readinessProbe": _PROBE_HANDLER,
    "startupProbe": _PROBE_HANDLER,
    "lifecycle": {"postStart": _PROBE_HANDLER, "preStop": _PROBE_HANDLER},
}
_POD_SPEC: Final[dict[str, Any]] = {
    "hostNetwork": bool,
    "hostPID": bool,
    "hostIPC": bool,
    "hostUsers": bool,
    "automountServiceAccountToken": bool,
    "serviceAccountName": str,
    "securityContext": {
        "runAsNonRoot": bool,
        "runAsUser": int,
        "runAsGroup": int,
        "fsGroup": int,
        "supplementalGroups": _List(int),
        "sysctls": _List({"name": str, "value": str}),
        "seccompProfile": _SECCOMP,
        "seLinuxOptions": _SELINUX,
        "appArmorProfile": _APPARMOR,
        "windowsOptions": _WINDOWS,
    },
    "volumes": _List({"name": str, "hostPath": {"path": str, "type": str}}),
    "os": {"name": str},
}


def _type_name(spec: Spec) -> str:
    if isinstance(spec, _List):
        return "a list"
    if isinstance(spec, (dict, _Map)) or spec is dict:
        return "a mapping"
    return {bool: "a boolean", int: "an integer", str: "a string"}[spec]


def _shown(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fits(value: object, spec: Spec) -> bool:
    # The exact-type tests first: YAML gives plain dicts, lists and scalars, and isinstance against
    # the Mapping ABC costs a call through abc's __instancecheck__ on every field.
    if type(spec) is _List:
        return isinstance(value, list)
    if type(spec) is _Map or spec is dict:
        return type(value) is dict or isinstance(value, Mapping)
    if spec is int:
        return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))
    return type(value) is spec or isinstance(value, spec)  # type: ignore[arg-type]


def _validate(value: object, spec: Spec, path: str) -> list[Violation]:
    """The fields of ``value`` that do not fit ``spec``, in the spec's order."""
    found: list[Violation] = []
    if value is None:
        return found  # null is "unset" to the API server
    plain = spec.plain if type(spec) is _Map else None
    if (plain is not None and plain(value)) or _sound(value, spec):
        return found
    if not _fits(value, spec):
        found.append(Violation(path, f"must be {_type_name(spec)}, not {_shown(value)}"))
        return found
    _collect(value, spec, path, found)
    return found


def _sound(value: Any, spec: Spec) -> bool:
    # Nearly every object is well-formed: that answer needs no field order, path or message, so
    # it is found first, and only an object with a fault is walked again by _collect.
    if not _fits(value, spec):
        return False
    if type(spec) is _Map:
        fields = spec.fields
        for key in spec.names.intersection(value):
            item = value[key]
            if item is None:
                continue
            sub = fields[key]
            if type(sub) is _Map or type(sub) is _List:
                if not _sound(item, sub):
                    return False
            elif not _fits(item, sub):
                return False
    elif type(spec) is _List:
        item_spec = spec.item
        for item in value:
            if item is not None and not _sound(item, item_spec):
                return False
    return True


def _collect(value: Any, spec: Spec, path: str, found: list[Violation]) -> None:
    # ``value`` fits ``spec``. A field path is formatted only for a violation or a nested spec.
    if type(spec) is _Map:
        present = spec.names.intersection(value)
        keys = sorted(present, key=spec.rank.__getitem__) if len(present) > 1 else present
        fields = spec.fields
        for key in keys:
            item = value[key]
            if item is None:
                continue  # null is "unset" to the API server
            sub = fields[key]
            if not _fits(item, sub):
                found.append(Violation(f"{path}.{key}", f"must be {_type_name(sub)}, not {_shown(item)}"))
            elif type(sub) is _Map or type(sub) is _List:
                _collect(item, sub, f"{path}.{key}", found)
    elif type(spec) is _List:
        item_spec = spec.item
        nested = type(item_spec) is _Map or type(item_spec) is _List
        for index, item in enumerate(value):
            if item is None:
                continue
            if not _fits(item, item_spec):
                found.append(Violation(f"{path}[{index}]", f"must be {_type_name(item_spec)}, not {_shown(item)}"))
            elif nested:
                _collect(item, item_spec, f"{path}[{index}]", found)


# The plain pass: one straight-line function per top-level spec, generated from it, that
# answers "sound" for a value built of exact dicts, lists and scalars whose fields all fit. It
# never answers "sound" when _sound would not (an exact type fits its spec); anything else (a
# subclass, a Mapping that is not a dict, a misfit) goes to _sound and _collect. Generated
# because the walk's own cost (a call, a set intersection, a type dispatch per field) was most of
# this check's time, and every helper runs this check on every object it is given.
_SCALARS: Final[dict[object, str]] = {bool: "bool", int: "int", str: "str", dict: "dict"}


def _plain_lines(spec: Spec, var: str, depth: int, indent: str) -> list[str]:
    lines: list[str] = []
    if type(spec) is _Map:
        lines.append(f"{indent}if type({var}) is not dict: return False")
        for key, sub in spec.fields.items():
            item = f"v{depth}"
            lines.append(f"{indent}{item} = {var}.get({key!r})")
            if type(sub) is _Map or type(sub) is _List:
                lines.append(f"{indent}if {item} is not None:")
                lines.extend(_plain_lines(sub, item, depth + 1, indent + "    "))
            else:
                lines.append(f"{indent}if {item} is not None and type({item}) is not {_SCALARS[sub]}: return False")
    elif type(spec) is _List:
        item = f"v{depth}"
        lines.append(f"{indent}if type({var}) is not list: return False")
        lines.append(f"{indent}for {item} in {var}:")
        if type(spec.item) is _Map or type(spec.item) is _List:
            lines.append(f"{indent}    if {item} is not None:")
            lines.extend(_plain_lines(spec.item, item, depth + 1, indent + "        "))
        else:
            lines.append(
                f"{indent}    if {item} is not None and type({item}) is not {_SCALARS[spec.item]}: return False"
            )
    else:
        raise TypeError(f"the plain pass starts at a mapping or a list, not {spec!r}")
    return lines


def _with_plain(fields: dict[str, Any], name: str) -> _Map:
    spec = _Map(fields)
    lines = [f"def {name}(v0):", *_plain_lines(spec, "v0", 1, "    "), "    return True"]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<malformed-object {name}>", "exec"), namespace)
    spec.plain = namespace[name]
    return spec


_POD_SPEC_COMPILED: Final = _with_plain(_POD_SPEC, "pod_spec")
_CONTAINER_COMPILED: Final = _with_plain(_CONTAINER, "container")


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    ref = pod_spec(obj)
    if ref is None:
        return ()
    if ref.malformed:
        return (
            Violation(
                ref.path, f"{obj.kind} must have a pod spec at {ref.path} (a mapping); nothing in it can be checked"
            ),
        )
    found = _validate(ref.spec, _POD_SPEC_COMPILED, ref.path)
    if not found and _plain_containers(ref.spec):
        return ()  # the common case, answered without a generator or a container path
    return _containers(ref, found)


def _plain_containers(spec: Mapping[str, Any]) -> bool:
    """True when a container is listed and every container list and container passes the plain
    pass: the loop in ``_containers`` would find nothing."""
    if not spec.get("containers"):
        return False
    plain = _CONTAINER_COMPILED.plain
    assert plain is not None  # _with_plain set it
    for field in CONTAINER_FIELDS:
        entries = spec.get(field)
        if entries is None:
            continue
        if type(entries) is not list:
            return False
        for entry in entries:
            if not plain(entry):  # a None entry too: it is not a container
                return False
    return True


def _containers(ref: PodSpecRef, found: list[Violation]) -> Iterator[Violation]:
    yield from found
    if not ref.spec.get("containers"):
        yield Violation(f"{ref.path}.containers", "a pod must list at least one container")
    for field in CONTAINER_FIELDS:
        entries = ref.spec.get(field)
        path = f"{ref.path}.{field}"
        if entries is None:
            continue
        if not isinstance(entries, list):
            yield Violation(path, f"must be a list of containers, not {_shown(entries)}")
            continue
        for index, container in enumerate(entries):
            where = f"{path}[{index}]"
            if not isinstance(container, Mapping):
                yield Violation(where, f"must be a container (a mapping), not {_shown(container)}")
                continue
            name = container.get("name")
            for violation in _validate(container, _CONTAINER_COMPILED, where):
                yield Violation(violation.path, violation.message, name if isinstance(name, str) else None)


CHECK = Check(
    id="malformed-object",
    title="Malformed object",
    summary="Fields the security checks read must have the types the Kubernetes API requires; "
    "the API server would reject the object, and no check can judge it.",
    remediation="Fix the field's type as the Kubernetes API reference gives it (kubectl apply --dry-run=server shows the same error).",
    category=Category.SCHEMA,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    references=("https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/",),
)
