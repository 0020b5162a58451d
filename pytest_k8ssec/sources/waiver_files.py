"""The waiver file and the baseline file: reading them (every entry validated, with its line) and
writing the baseline.

The waiver file is YAML read as Kubernetes reads YAML (``kube_yaml``, the project's one reader),
so ``expires: 2027-03-31`` unquoted is the string ``"2027-03-31"`` there, as it is in a manifest.
The baseline is JSON written sorted and indented: a reviewer reads its diff in a pull request.
"""

from __future__ import annotations

import datetime
import difflib
import fnmatch
import json
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.policy.waivers import Waiver, parse_date
from pytest_k8ssec.sources.kube_yaml import compose_all, construct

WAIVER_KEYS: Final = ("check", "control", "target", "context", "container", "reason", "expires", "owner", "ticket")
BASELINE_VERSION: Final = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{32}")
_BASELINE_FIELDS: Final = ("fingerprint", "check", "target", "object", "path")


class WaiverFileError(K8sSecError, ValueError):
    """A waiver or baseline file that cannot be used (the message names the file, entry and line)."""


# --- waivers ----------------------------------------------------------------------------------------


def read_waivers(
    path: Path, shown: str, known_checks: Collection[str], known_controls: Collection[str] | None = None
) -> list[Waiver]:
    """The waivers of the file at ``path`` (``shown`` is how messages and ``Waiver.source`` name
    it), in file order. ``known_checks`` are the check ids a ``check:`` may name; ``known_controls``
    (when given) the control ids a ``control:`` pattern must match at least one of.

    Raises:
        WaiverFileError: the file is unreadable, not YAML, not ``waivers:`` and a list, or an
            entry is malformed (the message names the entry's index and line).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverFileError(f"{shown}: cannot read the waiver file: {exc}") from None
    try:
        roots = list(compose_all(text))
        if len(roots) > 1:
            raise WaiverFileError(f"{shown}:{_line(roots[1])}: a waiver file holds one YAML document")
        document = construct(roots[0], text) if roots else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"{shown}:{mark.line + 1}" if mark is not None else shown
        problem = str(exc.problem or exc.context)
        if "alphabetic or numeric" in problem or "alias" in problem:
            # YAML reads a leading "*" as an alias: the commonest slip in a file of globs.
            problem += " (quote a value that starts with '*' or '&', e.g. target: \"*/*/web\")"
        raise WaiverFileError(f"{at}: invalid YAML: {problem}") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise WaiverFileError(f"{shown}: invalid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("waivers"), list):
        raise WaiverFileError(f"{shown}:1: a waiver file is a mapping with a 'waivers:' list")
    root = roots[0]
    assert isinstance(root, MappingNode)
    extra = sorted(set(document) - {"waivers"})
    if extra:
        raise WaiverFileError(f"{shown}:{_key_line(root, extra[0])}: unknown key {extra[0]!r} (only 'waivers:')")
    entries = _value_node(root, "waivers")
    assert isinstance(entries, SequenceNode)
    return [
        _waiver(
            entry,
            node,
            f"{shown}:{_line(node)}: waiver {index}",
            f"{shown}:{_line(node)}",
            known_checks,
            known_controls,
        )
        for index, (entry, node) in enumerate(zip(document["waivers"], entries.value))
    ]


def _waiver(
    entry: Any,
    node: Node,
    where: str,
    source: str,
    known_checks: Collection[str],
    known_controls: Collection[str] | None = None,
) -> Waiver:
    if not isinstance(entry, dict):
        raise WaiverFileError(f"{where}: an entry is a mapping (check or control, target, reason, expires)")
    assert isinstance(node, MappingNode)
    for key in entry:
        if key not in WAIVER_KEYS:
            near = difflib.get_close_matches(key, WAIVER_KEYS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; keys are {', '.join(WAIVER_KEYS)}"
            raise WaiverFileError(f"{where}: unknown key {key!r} (line {_key_line(node, key)}){hint}")
    values = {key: _text(entry, key, where) for key in WAIVER_KEYS if key != "expires"}
    check, control = values["check"], values["control"]
    if check is None and control is None:
        raise WaiverFileError(f"{where}: names neither a check nor a control (give 'check:' or 'control:')")
    if check is not None and check not in known_checks:
        near = difflib.get_close_matches(check, list(known_checks), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else " (docs/checks.md lists the check ids)"
        raise WaiverFileError(f"{where}: unknown check {check!r}{hint}")
    if control is not None and known_controls is not None and not fnmatch.filter(known_controls, control):
        # A typo would waive nothing and only surface as a stale waiver: say it now.
        near = difflib.get_close_matches(control, list(known_controls), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else " (docs/controls.md lists the control ids)"
        raise WaiverFileError(f"{where}: control {control!r} matches no known control{hint}")
    reason = values["reason"]
    if reason is None or not reason.strip():
        raise WaiverFileError(f"{where}: no reason (a waiver says why the finding is accepted)")
    expires = _expires(entry.get("expires"), where)
    kind, namespace, name = _target(values["target"] or "*/*/*", where)
    return Waiver(
        reason=reason.strip(),
        expires=expires,
        check=check,
        control=control,
        context=values["context"] or "*",
        kind=kind,
        namespace=namespace,
        name=name,
        container=values["container"],
        owner=values["owner"],
        ticket=values["ticket"],
        source=source,
    )


def _text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and key in ("owner", "ticket"):
        return str(value)  # ticket: 1234
    if not isinstance(value, str) or (not value.strip() and key != "reason"):
        raise WaiverFileError(f"{where}: {key!r} must be a non-empty string, not {value!r}")
    return value


def _expires(value: Any, where: str) -> datetime.date:
    if value is None:
        raise WaiverFileError(f"{where}: no expiry (give 'expires: YYYY-MM-DD'; every waiver ends)")
    if isinstance(value, datetime.date):  # a loader that builds dates (PyYAML's) hands one over
        return value
    date = parse_date(value) if isinstance(value, str) else None
    if date is None:
        raise WaiverFileError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)")
    return date


def _target(text: str, where: str) -> tuple[str, str, str]:
    """``Kind/namespace/name`` or ``Kind/name`` (a cluster-scoped object: no namespace)."""
    parts = text.split("/")
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    if len(parts) == 2 and all(parts):
        return parts[0], "", parts[1]
    raise WaiverFileError(
        f"{where}: target {text!r} is not Kind/namespace/name or Kind/name (globs allowed, e.g. Deployment/*/web)"
    )


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _value_node(node: MappingNode, key: str) -> Node:
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            found: Node = value_node
            return found
    raise KeyError(key)  # pragma: no cover - the constructed document has the key


def _key_line(node: MappingNode, key: str) -> int:
    for key_node, _ in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return _line(key_node)
    return _line(node)


# --- baseline ---------------------------------------------------------------------------------------


def read_baseline(path: Path, shown: str) -> list[dict[str, Any]]:
    """The entries of a baseline file (each with a ``fingerprint``).

    Raises:
        WaiverFileError: missing, unreadable, not JSON, another version, or a malformed entry.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WaiverFileError(
            f"{shown}: no such baseline file (write it with --k8s-baseline-update, then review and commit it)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverFileError(f"{shown}: cannot read the baseline file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WaiverFileError(f"{shown}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise WaiverFileError(f"{shown}: a baseline file is a JSON object with a 'findings' list")
    if data.get("version") != BASELINE_VERSION:
        raise WaiverFileError(
            f"{shown}: baseline version {data.get('version')!r} is not {BASELINE_VERSION} (rewrite it with --k8s-baseline-update)"
        )
    entries: list[dict[str, Any]] = data["findings"]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not _FINGERPRINT.fullmatch(str(entry.get("fingerprint", ""))):
            raise WaiverFileError(f"{shown}: finding {index}: no valid 'fingerprint' (32 hex digits)")
    return entries


def baseline_entries(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Baseline entries from finding records: one per fingerprint, sorted for a stable file."""
    entries: dict[str, dict[str, Any]] = {}
    for record in records:
        entry = {name: record.get(name) for name in _BASELINE_FIELDS}
        entries.setdefault(str(record["fingerprint"]), entry)
    return sorted(
        entries.values(),
        key=lambda e: (str(e["target"]), str(e["object"] or ""), str(e["check"]), str(e["path"]), e["fingerprint"]),
    )


def write_baseline(path: Path, entries: list[dict[str, Any]]) -> None:
    """Write the baseline file (through a temporary file: a crash never leaves half a baseline)."""
    text = json.dumps({"version": BASELINE_VERSION, "findings": entries}, indent=2, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
