"""Report files for auditors: JSON, Markdown or HTML, per target, per control and per check.

Pure over ``RunResults`` and the registry (no pytest): the pytest layer (``report_options``)
gathers the run's facts and writes the text this module renders. The three formats say the same
thing; JSON is the one machines read. Messages never carry values (checks name fields, not what
is in them), so a report is as safe to publish as the test output.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pytest_k8ssec.checks import Registry
from pytest_k8ssec.checks import _controls as controls_catalog
from pytest_k8ssec.reporting.results import COLUMNS, STATES, RunResults, case_state

FORMATS: Final = {".json": "json", ".md": "markdown", ".html": "html"}
REPORT_SCHEMA: Final = "k8ssec-report/v1"


@dataclass(frozen=True)
class RunFacts:
    """What the run was: when, against what, under which gate, waivers and baseline."""

    date: str
    version: str
    fail_on: str
    waivers: str | None = None
    baseline: str | None = None
    tests: Mapping[str, int] = field(default_factory=dict)


def control_info(control: str) -> tuple[str, str | None]:
    """(framework, title) of a control id from the catalog (``CIS-5.2.2`` -> ("CIS", its title));
    an id the catalog does not know (a team test's, if its ini key was removed) keeps its prefix
    as the framework and no title."""
    if controls_catalog.known(control):
        found = controls_catalog.control(control)
        return found.framework, found.title
    return control.split("-", 1)[0], None


def _controls_of(registry: Registry) -> dict[str, tuple[str, ...]]:
    return {check.id: check.controls for check in registry}


def _finding_controls_of(registry: Registry) -> dict[str, tuple[str, ...]]:
    return {check.id: check.finding_controls for check in registry if check.finding_controls}


def _finding(record: Mapping[str, Any]) -> dict[str, Any]:
    waiver = record.get("waiver") or None
    return {
        "test": record.get("test"),
        "check": record["check"],
        "severity": record["severity"],
        "controls": list(record.get("controls", ())),
        "state": record.get("state", "fail"),
        "object": record.get("object"),
        "file": record.get("file"),
        "line": record.get("field_line") or record.get("line"),
        "document_line": record.get("line"),
        "path": record.get("path"),
        "container": record.get("container"),
        "message": record["message"],
        "fix": None,
        "fingerprint": record.get("fingerprint"),
        "waiver": None
        if waiver is None
        else {k: waiver.get(k) for k in ("reason", "expires", "owner", "ticket", "source", "expired")},
    }


def report_data(results: RunResults, registry: Registry, facts: RunFacts) -> dict[str, Any]:
    """The report as data (what the JSON file holds and the other formats render)."""
    controls_of, finding_controls_of = _controls_of(registry), _finding_controls_of(registry)
    targets = []
    for target in results.targets:
        controls = []
        for control, row in sorted(results.control_counts(controls_of, target, finding_controls_of).items()):
            framework, title = control_info(control)
            controls.append({"framework": framework, "id": control, "title": title, **row})
        checks = []
        order = {check.id: position for position, check in enumerate(registry)}
        counts = results.check_counts(target)
        for check_id in sorted(counts, key=lambda i: (order.get(i, len(order)), i)):
            check = registry.get(check_id) if check_id in registry else None
            checks.append(
                {
                    "id": check_id,
                    "title": None if check is None else check.title,
                    "severity": None if check is None else str(check.severity),
                    "controls": [] if check is None else list(check.controls),
                    **counts[check_id],
                }
            )
        findings = []
        for record in results.findings:
            if record["target"] != target:
                continue
            finding = _finding(record)
            if record["check"] in registry:
                finding["fix"] = registry.get(record["check"]).remediation
            findings.append(finding)
        findings.sort(key=lambda f: (STATES.index(f["state"]), f["check"], f["object"] or "", f["path"] or ""))
        targets.append({"name": target, "controls": controls, "checks": checks, "findings": findings})
    return {
        "schema": REPORT_SCHEMA,
        "run": {
            "date": facts.date,
            "tool": f"pytest-k8ssec {facts.version}",
            "targets": results.targets,
            "gate": {"fail_on": facts.fail_on},
            "waivers": facts.waivers,
            "baseline": facts.baseline,
            "tests": dict(facts.tests),
            "findings": results.state_totals(),
        },
        "targets": targets,
        "tests": [
            {"test": test.nodeid, "controls": list(test.controls), "severity": test.severity, "state": case_state(test)}
            for test in results.tests.values()
            if test.controls or test.severity
        ],
    }


def render(data: Mapping[str, Any], kind: str) -> str:
    """``data`` (from :func:`report_data`) as ``json``, ``markdown`` or ``html`` text."""
    if kind == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    if kind == "markdown":
        return _markdown(data)
    if kind == "html":
        return _html(data)
    raise ValueError(f"unknown report format {kind!r}")


# --- the tables both text formats show ------------------------------------------------------------


def _where(finding: Mapping[str, Any]) -> str:
    if finding["file"]:
        return f"{finding['file']}:{finding['line']}" if finding["line"] else str(finding["file"])
    return ""


def _waiver_text(finding: Mapping[str, Any]) -> str:
    waiver = finding["waiver"]
    if not waiver:
        return ""
    parts = [str(waiver["reason"]), f"expires {waiver['expires']}"]
    parts += [f"{name} {waiver[name]}" for name in ("owner", "ticket") if waiver.get(name)]
    if waiver.get("expired"):
        parts.append("EXPIRED")
    return "; ".join(parts)


def _tables(data: Mapping[str, Any]) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(target, table title, header, rows) of every table, in reading order."""
    tables = []
    counts = list(COLUMNS)
    for target in data["targets"]:
        name = target["name"]
        tables.append(
            (
                name,
                "Controls",
                ["framework", "control", "title", *counts],
                [[c["framework"], c["id"], c["title"] or "", *(str(c[k]) for k in counts)] for c in target["controls"]],
            )
        )
        tables.append(
            (
                name,
                "Checks",
                ["check", "title", "severity", *counts],
                [
                    [c["id"], c["title"] or "", c["severity"] or "", *(str(c[k]) for k in counts)]
                    for c in target["checks"]
                ],
            )
        )
        tables.append(
            (
                name,
                "Findings",
                ["state", "check", "severity", "object", "where", "field", "container", "message", "fix", "waiver"],
                [
                    [
                        f["state"],
                        f["check"],
                        f["severity"],
                        f["object"] or "",
                        _where(f),
                        f["path"] or "",
                        f["container"] or "",
                        f["message"],
                        f["fix"] or "",
                        _waiver_text(f),
                    ]
                    for f in target["findings"]
                ],
            )
        )
    return tables


def _facts(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    run = data["run"]
    tests = ", ".join(f"{n} {outcome}" for outcome, n in run["tests"].items()) or "none"
    findings = ", ".join(f"{run['findings'][state]} {state}" for state in STATES)
    return [
        ("date", run["date"]),
        ("tool", run["tool"]),
        ("targets", ", ".join(run["targets"]) or "none"),
        ("gate", f"fail on {run['gate']['fail_on']} and above; findings below are advisory"),
        ("waivers", run["waivers"] or "none"),
        ("baseline", run["baseline"] or "none"),
        ("tests", tests),
        ("findings", findings),
    ]


# --- Markdown -------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _markdown(data: Mapping[str, Any]) -> str:
    lines = ["# Kubernetes security report", ""]
    lines += [f"- **{name}**: {_md_cell(value)}" for name, value in _facts(data)]
    lines.append("")
    current = None
    for target, title, header, rows in _tables(data):
        if target != current:
            lines += [f"## Target {_md_cell(target)}", ""]
            current = target
        lines += [f"### {title}", ""]
        lines += _md_table(header, rows)
    if data["tests"]:
        lines += ["## Marked tests", ""]
        rows = [[t["test"], ", ".join(t["controls"]), t["severity"] or "", t["state"]] for t in data["tests"]]
        lines += _md_table(["test", "controls", "severity", "state"], rows)
    return "\n".join(lines)


# --- HTML -----------------------------------------------------------------------------------------

_CSS: Final = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1f23; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 2px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail td:first-child { background: #fde2e1; } tr.advisory td:first-child { background: #fff4ce; }
tr.waived td:first-child, tr.baselined td:first-child { background: #e8eef9; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: 600; }
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], state_column: bool = False) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{html.escape(cell)}</td>' if cell.isdigit() else f"<td>{html.escape(cell)}</td>"
            for cell in row
        )
        css = f' class="{html.escape(row[0])}"' if state_column else ""
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html(data: Mapping[str, Any]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Kubernetes security report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Kubernetes security report</h1>",
        "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in _facts(data)) + "</dl>",
    ]
    current = None
    for target, title, header, rows in _tables(data):
        if target != current:
            parts.append(f"<h2>Target {html.escape(target)}</h2>")
            current = target
        parts.append(f"<h3>{html.escape(title)}</h3>")
        parts.append(_html_table(header, rows, state_column=title == "Findings"))
    if data["tests"]:
        parts.append("<h2>Marked tests</h2>")
        rows = [[t["test"], ", ".join(t["controls"]), t["severity"] or "", t["state"]] for t in data["tests"]]
        parts.append(_html_table(["test", "controls", "severity", "state"], rows))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
