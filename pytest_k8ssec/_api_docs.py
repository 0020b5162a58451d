"""Generate docs/api.md from ``pytest_k8ssec.__all__``: ``python -m pytest_k8ssec._api_docs docs/api.md``.

Each public name gets its signature and the first paragraph of its docstring, grouped by domain;
a test fails when the committed page differs from what this prints, so the page cannot go stale.
A public name without a docstring, or in a module no group claims, stops the generation: say
what it is and where it belongs before it ships.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import pkgutil
import re
import sys
import typing
from pathlib import Path
from typing import Any, Final

import pytest_k8ssec

HEADER: Final = """# API reference

<!-- Generated from `pytest_k8ssec.__all__` by `python -m pytest_k8ssec._api_docs docs/api.md`; do not edit. -->

Everything importable from `pytest_k8ssec` (its `__all__`); any other module is internal. Helpers
over objects take one `K8sObject`, a manifest dict or an iterable of them; helpers over a model
take it first (`k8s_rbac`, `k8s_network`); in-pod helpers take a testinfra host. Options come
after the subject and are keyword-only, and `allow=` is the one exemption keyword: the things a
helper's rule does not apply to (each helper says what a thing is). Every failure is a
`SecurityAssertionError` whose `.findings` lists the violations. The
[README](../README.md#assertion-helpers) shows them in use; [docs/checks.md](checks.md) lists
the checks behind them.
"""

#: Sections in page order: title and the module prefixes whose public names it lists.
GROUPS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("Workloads", ("pytest_k8ssec.asserts.workloads",)),
    ("Pod Security Standards", ("pytest_k8ssec.asserts.pod_security", "pytest_k8ssec.checks.pss")),
    ("Images", ("pytest_k8ssec.asserts.images", "pytest_k8ssec.model.images")),
    (
        "Vulnerabilities",
        (
            "pytest_k8ssec.asserts.vulnerabilities",
            "pytest_k8ssec.model.scan_reports",
            "pytest_k8ssec.sources.scan_reports",
        ),
    ),
    ("Credentials", ("pytest_k8ssec.asserts.credentials", "pytest_k8ssec.model.credentials")),
    (
        "RBAC",
        (
            "pytest_k8ssec.asserts.rbac",
            "pytest_k8ssec.model.rbac",
            "pytest_k8ssec.sources.default_roles",
            "pytest_k8ssec.fixtures.rbac",
        ),
    ),
    (
        "NetworkPolicy",
        (
            "pytest_k8ssec.asserts.network",
            "pytest_k8ssec.model.netpol",
            "pytest_k8ssec.fixtures.network",
            "pytest_k8ssec.reporting.network_page",
        ),
    ),
    ("Admission guardrails (live)", ("pytest_k8ssec.asserts.admission",)),
    ("In-pod (a running container)", ("pytest_k8ssec.asserts.inpod", "pytest_k8ssec.fixtures.pod_host")),
    ("Nodes and control plane (testinfra hosts)", ("pytest_k8ssec.asserts.nodes",)),
    ("Targets and live clusters", ("pytest_k8ssec.fixtures.targets", "pytest_k8ssec.fixtures.cluster")),
    (
        "Objects and manifests",
        (
            "pytest_k8ssec.model.objects",
            "pytest_k8ssec.model.inventory",
            "pytest_k8ssec.model.workloads",
            "pytest_k8ssec.model.containers",
            "pytest_k8ssec.sources.manifests",
        ),
    ),
    ("Checks and the engine", ("pytest_k8ssec.checks", "pytest_k8ssec.engine")),
    ("Ready suites", ("pytest_k8ssec.sources.profile",)),
    ("Errors and warnings", ("pytest_k8ssec.errors",)),
)


def group_of(module: str) -> str:
    """The section of a public name living in ``module`` (the longest matching prefix wins)."""
    best = ("", "")
    for title, prefixes in GROUPS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best[1]):
                best = (title, prefix)
    if not best[0]:
        raise LookupError(f"{module}: no section of docs/api.md lists this module; add it to GROUPS in {__name__}")
    return best[0]


def _annotation(annotation: Any) -> str:
    if isinstance(annotation, str):  # ``from __future__ import annotations``: as written
        return annotation
    return inspect.formatannotation(annotation)


def signature(name: str, func: Any) -> str:
    """``name(objs: Objects, *, allow: Iterable[str] = ()) -> None``, annotations as written in the source."""
    parts: list[str] = []
    star = False
    params = list(inspect.signature(func).parameters.values())
    for param in params:
        if param.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = param.name
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            text, star = "*" + text, True
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            text = "**" + text
        if param.annotation is not inspect.Parameter.empty:
            text += f": {_annotation(param.annotation)}"
        if param.default is not inspect.Parameter.empty:
            text += (
                f" = {param.default!r}" if param.annotation is not inspect.Parameter.empty else f"={param.default!r}"
            )
        parts.append(text)
        if param.kind is inspect.Parameter.POSITIONAL_ONLY and (
            param is params[-1] or params[params.index(param) + 1].kind is not inspect.Parameter.POSITIONAL_ONLY
        ):
            parts.append("/")
    returns = inspect.signature(func).return_annotation
    tail = "" if returns is inspect.Signature.empty else f" -> {_annotation(returns)}"
    return f"{name}({', '.join(parts)}){tail}"


def _definition(module: str, name: str) -> tuple[list[str], int]:
    """The source lines holding ``name = ...`` and its line index: in ``module``, else in the
    package module that defines it (a package re-exports what its submodules define)."""
    candidates = [module]
    home = importlib.import_module(module)
    if hasattr(home, "__path__"):
        candidates += [info.name for info in pkgutil.walk_packages(home.__path__, module + ".")]
    for candidate in candidates:
        lines = inspect.getsource(importlib.import_module(candidate)).splitlines()
        for i, line in enumerate(lines):
            if re.match(rf"{re.escape(name)}\s*(:[^=]*)?=", line):
                return lines, i
    raise LookupError(f"{module}.{name}: no line defines this alias")


def _alias_comment(module: str, name: str) -> str:
    """The ``#:`` comment above ``name = ...``: a type alias's documentation."""
    lines, i = _definition(module, name)
    comment: list[str] = []
    for above in reversed(lines[:i]):
        if not above.startswith("#:"):
            break
        comment.insert(0, above[2:].strip())
    return " ".join(comment)


def summary(name: str, value: Any, module: str) -> str:
    """The first paragraph of the documentation of a public name, on one line."""
    if typing.get_origin(value) is not None:  # a type alias such as Literal[...]
        text = _alias_comment(module, name)
    else:
        text = inspect.cleandoc(value.__doc__ or "") if "__doc__" in vars(value) or callable(value) else ""
    first = " ".join(text.split("\n\n", 1)[0].split())
    first = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", first)  # Sphinx roles read as code on GitHub
    if not first:
        raise LookupError(f"{module}.{name} is public but undocumented: give it a docstring (or a #: comment)")
    return first


def entry(name: str, value: Any, module: str) -> list[str]:
    """Markdown for one public name: its heading line, then its summary."""
    if typing.get_origin(value) is not None:
        head = f"`{name} = {_alias_source(module, name)}`"
    elif inspect.isclass(value):
        bases = ", ".join(b.__name__ for b in value.__bases__ if b is not object)
        kind = "exception" if issubclass(value, BaseException) else "class"
        head = f"{kind} `{name}{f'({bases})' if bases else ''}`"
    else:
        head = f"`{signature(name, value)}`"
    lines = [f"### `{name}`", "", head, "", summary(name, value, module), ""]
    members = _members(value) if inspect.isclass(value) and not issubclass(value, BaseException) else []
    if members:
        lines += ["Members: " + ", ".join(f"`{m}`" for m in members) + ".", ""]
    return lines


def _members(cls: type) -> list[str]:
    """The public fields, properties and methods a class defines itself (or its enum members)."""
    if issubclass(cls, enum.Enum):
        return [member.name for member in cls]
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("pytest_k8ssec"):
            names += [n for n, v in vars(klass).items() if not n.startswith("_") and _defined_in(klass, v)]
    return list(dict.fromkeys(names))


def _defined_in(klass: type, value: Any) -> bool:
    """False for what another module attaches to the class (its presence depends on import order)."""
    function = getattr(value, "fget", None) or getattr(value, "__func__", None) or value
    module = getattr(function, "__module__", None) if callable(function) else None
    return module is None or module == klass.__module__


def _alias_source(module: str, name: str) -> str:
    lines, i = _definition(module, name)
    text = lines[i].split("=", 1)[1].strip()
    # A definition spanning lines (a long Union) is shown as its first line's value plus the rest.
    j = i + 1
    while text.count("[") > text.count("]") and j < len(lines):
        text += " " + lines[j].strip()
        j += 1
    return text.replace("[ ", "[").replace(", ]", "]").replace(" ]", "]")


def render() -> str:
    """The API page for the ``pytest_k8ssec`` being imported."""
    sections: dict[str, list[str]] = {title: [] for title, _ in GROUPS}
    for name in sorted(pytest_k8ssec.__all__, key=lambda n: (n.startswith("assert_") is False, n.lower())):
        module = pytest_k8ssec._HOME[name]
        sections[group_of(module)] += entry(name, getattr(pytest_k8ssec, name), module)
    lines = [
        HEADER,
        "Sections: " + ", ".join(f"[{t}](#{_anchor(t)})" for t, body in sections.items() if body) + ".",
        "",
    ]
    for title, body in sections.items():
        if body:
            lines += [f"## {title}", "", *body]
    renamed = sorted(pytest_k8ssec._DEPRECATED)
    if renamed:
        lines += [
            "## Old names",
            "",
            "They work until pytest-k8ssec 0.3.0 and warn (`DeprecationWarning`) naming the new one.",
            "",
            "| old name | new name |",
            "|---|---|",
        ]
        for old in renamed:
            new = getattr(importlib.import_module(pytest_k8ssec._DEPRECATED[old]), old).__wrapped__.__name__
            lines.append(f"| `{old}` | [`{new}`](#{_anchor(new)}) |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def main(argv: list[str]) -> int:
    """Write the API page to ``argv[0]`` (or print it)."""
    text = render()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
