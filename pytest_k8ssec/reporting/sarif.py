"""The run's findings as SARIF 2.1.0, for code scanning (GitHub, GitLab, any SARIF viewer).

Pure over ``RunResults`` and the registry (no pytest). One run per target, each with its own
``automationDetails.id``: GitHub code scanning refuses several runs of one tool and category in
one upload, and a cluster's findings are not the manifests' findings. Manifest findings point at
the line of the field (``region.startLine``), with a URI relative to the repository root; live
objects and requirements about no object (who may do what, a connection) have logical locations.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from pytest_k8ssec.checks import Registry
from pytest_k8ssec.checks._check import Check, Severity
from pytest_k8ssec.model.objects import MANIFESTS_TARGET
from pytest_k8ssec.reporting.results import RunResults

SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION: Final = "2.1.0"
TOOL_NAME: Final = "pytest-k8ssec"
INFORMATION_URI: Final = "https://pypi.org/project/pytest-k8ssec/"
FINGERPRINT_KEY: Final = "k8ssecFinding/v1"
SRCROOT: Final = "%SRCROOT%"

# GitHub reads properties["security-severity"] as a CVSS-like score: over 9.0 critical, 7.0-8.9
# high, 4.0-6.9 medium, 0.1-3.9 low. Info findings get no score (GitHub then goes by level).
_SECURITY_SEVERITY: Final = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}


def _level(state: str, severity: str) -> str:
    """What the gate made of a finding, in SARIF's words: a failing finding is an error, an
    advisory one a warning (a note when info or low), a waived one a note (it is suppressed
    too), a baselined one a warning (known, still there)."""
    if state == "fail":
        return "error"
    if state == "advisory":
        return "note" if severity in ("info", "low") else "warning"
    if state == "waived":
        return "note"
    return "warning"


def _rule(check: Check | None, check_id: str, fail_on: Severity) -> dict[str, Any]:
    if check is None:  # a check the registry no longer knows (a record from elsewhere)
        return {"id": check_id, "name": check_id, "shortDescription": {"text": check_id}}
    controls = list(check.controls)
    help_text = check.remediation
    markdown = check.remediation
    if controls:
        help_text += " Controls: " + "; ".join(controls) + "."
        markdown += "\n\n**Controls**\n\n" + "\n".join(f"- {control}" for control in controls)
    if check.references:
        help_text += " References: " + " ".join(check.references)
        markdown += "\n\n**References**\n\n" + "\n".join(f"- <{ref}>" for ref in check.references)
    properties: dict[str, Any] = {
        "tags": ["security", str(check.category), *controls],
        "severity": str(check.severity),
    }
    if check.severity in _SECURITY_SEVERITY:
        properties["security-severity"] = _SECURITY_SEVERITY[check.severity]
    rule: dict[str, Any] = {
        "id": check.id,
        "name": "".join(part.capitalize() for part in check.id.split("-")),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.summary},
        "help": {"text": help_text, "markdown": markdown},
        "defaultConfiguration": {"level": "error" if check.severity >= fail_on else "warning"},
        "properties": properties,
    }
    links = [ref for ref in check.references if ref.startswith(("https://", "http://"))]
    if links:
        rule["helpUri"] = links[0]
    return rule


@functools.lru_cache(maxsize=4096)
def _uri(file: str, base: Path, root: Path) -> tuple[str, bool]:
    """A manifest path as a URI relative to the repository root (``True``), or an absolute file
    URI when the file lies outside it (``False``). Cached: a file's findings share it."""
    path = Path(file)
    path = (path if path.is_absolute() else base / path).resolve()
    try:
        return path.relative_to(root.resolve()).as_posix(), True
    except ValueError:
        return path.as_uri(), False


def _message(record: Mapping[str, Any], check: Check | None) -> str:
    subject = record.get("object") or record.get("path") or record["check"]
    text = f"{subject}: {record['message']}"
    container = record.get("container")
    if container and f'"{container}"' not in text:
        text += f' (container "{container}")'
    if check is not None:
        text += f" Fix: {check.remediation}"
    return text


def _fingerprint(record: Mapping[str, Any]) -> str:
    known = record.get("fingerprint")
    if known:
        return str(known)
    parts = (record["check"], record["target"], record.get("object") or "", record.get("path") or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _physical(file: str, line: object, base: Path, root: Path) -> dict[str, Any]:
    uri, relative = _uri(file, base, root)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = SRCROOT
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if isinstance(line, int) and line > 0:
        physical["region"] = {"startLine": line}
    return physical


def _result(
    record: Mapping[str, Any], check: Check | None, index: int, base: Path, root: Path, baseline: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": record["check"],
        "ruleIndex": index,
        "level": _level(record.get("state", "fail"), record["severity"]),
        "message": {"text": _message(record, check)},
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(record)},
        "properties": {
            "target": record["target"],
            "state": record.get("state", "fail"),
            "severity": record["severity"],
            "controls": list(record.get("controls", ())),
            "fieldPath": record.get("path"),
        },
    }
    location: dict[str, Any] = {}
    # A manifest finding points at its field; a result about no file (a live object, an access
    # question) at the test that states the requirement: code scanning refuses an upload holding
    # a result without a file location.
    if record.get("file"):
        location["physicalLocation"] = _physical(
            record["file"], record.get("field_line") or record.get("line"), base, root
        )
    elif record.get("test_file"):
        location["physicalLocation"] = _physical(record["test_file"], record.get("test_line"), base, root)
    if record.get("object"):
        namespace = record.get("namespace")
        qualified = "/".join(str(p) for p in (record["kind"], namespace, record["name"]) if p)
        location["logicalLocations"] = [{"name": record["name"], "fullyQualifiedName": qualified, "kind": "resource"}]
    else:
        # A requirement about no object (an access question, a connection): what it was about.
        location["logicalLocations"] = [
            {"name": str(record.get("path") or record["check"]), "kind": "resource"},
        ]
    result["locations"] = [location]
    if record.get("state") == "waived" and record.get("waiver"):
        waiver = record["waiver"]
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": str(waiver.get("reason", ""))}
        ]
    if baseline:
        result["baselineState"] = "unchanged" if record.get("state") == "baselined" else "new"
    return result


def _checks_of(results: RunResults, target: str) -> list[str]:
    """Checks that ran on ``target`` (judged something there, or found something there)."""
    ran = dict.fromkeys(check for check, where in results.judged if where == target)
    ran.update(dict.fromkeys(str(f["check"]) for f in results.findings if f["target"] == target and f["check"]))
    return list(ran)


def sarif_log(
    results: RunResults,
    registry: Registry,
    *,
    version: str,
    base: Path,
    root: Path,
    fail_on: Severity = Severity.INFO,
    baseline: bool = False,
) -> dict[str, Any]:
    """The SARIF log of a run: ``base`` is where relative manifest paths start (the invocation
    directory), ``root`` the repository root URIs are relative to; ``baseline`` says a baseline
    was in use (then every result says whether it is new)."""
    runs = []
    targets: Iterable[str] = results.targets or [MANIFESTS_TARGET]
    for target in targets:
        order = {check.id: position for position, check in enumerate(registry)}
        check_ids = sorted(_checks_of(results, target), key=lambda i: (order.get(i, len(order)), i))
        index = {check_id: position for position, check_id in enumerate(check_ids)}
        rules = [_rule(registry.get(i) if i in registry else None, i, fail_on) for i in check_ids]
        seen: set[tuple[str, str, str]] = set()
        sarif_results = []
        for record in results.findings:
            if record["target"] != target or not record["check"]:
                continue
            # The same finding judged by two tests is one alert.
            key = (record["check"], _fingerprint(record), str(record["message"]))
            if key in seen:
                continue
            seen.add(key)
            check = registry.get(record["check"]) if record["check"] in registry else None
            sarif_results.append(_result(record, check, index[record["check"]], base, root, baseline))
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"k8ssec/{target}/"},
                "originalUriBaseIds": {SRCROOT: {"uri": root.resolve().as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        )
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}
