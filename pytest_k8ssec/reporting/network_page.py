"""The reachability picture: one self-contained HTML page per network model.

The page shows the endpoint-by-endpoint reachability that the NetworkPolicy model
(pytest_k8ssec.model.netpol, ``networking.k8s.io/v1`` semantics) computes, with the internet as an
extra row and column, per port class. A port class is a port/protocol that appears in a policy
rule (a range is shown at its first port) or a container port, plus "any other port" per protocol
(a port no rule names: only port-less rules decide it). First one overview matrix: each cell
names the port classes on which the source reaches the destination. Then one matrix per group
of port classes whose verdicts and reasons are identical in every cell (a real set with a dozen
ports has a handful of groups, not a dozen sections). Every cell there says allowed or denied and
carries, in its tooltip and in a legend keyed from the cell, which policies isolate each side and
which rule allows it (tooltips up to ``TOOLTIP_ENDPOINTS`` endpoints). Column headers are turned
upright inside their own cell and clipped to it (the full name is the cell's tooltip), so they
never reach into the text above the table. Inline CSS, no script, no external resource: the file
reads the same from a CI artifact, a mail attachment or a browser with JavaScript off.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Final

from pytest_k8ssec import _deprecation
from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.model.netpol import INTERNET, PROTOCOLS, Endpoint, NetworkModel, Pod, Verdict, port_classes

#: Cell classes: allowed, denied, denied but hanging on an unknown pod IP, not applicable.
ALLOW: Final = "allow"
DENY: Final = "deny"
UNCERTAIN: Final = "uncertain"
NA: Final = "na"
#: Up to this many endpoints every cell repeats its explanation as a tooltip; beyond, the legend
#: key alone keeps the page small (100 endpoints x 12 port classes with tooltips: 27 MB).
TOOLTIP_ENDPOINTS: Final = 25

_CSS: Final = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em;color:#1a1a1a}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #bbb;padding:2px 6px;text-align:center;white-space:nowrap}
th.row{text-align:left;font-weight:600}
thead th{background:#f0f0f0}
thead th.col{vertical-align:bottom;padding:4px 2px}
thead th.col span{display:inline-block;writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:16em;overflow:hidden;text-overflow:ellipsis}
td.partial{background:#eaf4d6;color:#3d5a0a}
td.allow{background:#d9f2d9;color:#135f13}
td.deny{background:#f8d7d7;color:#8a1111}
td.uncertain{background:#fde9c4;color:#7a4b00}
td.na{background:#eee;color:#888}
td sup{font-size:.7em;margin-left:2px}
table.legend td,table.policies td,table.lint td{text-align:left;white-space:pre-wrap}
p.counts{color:#444}
"""


def drawn_port_classes(model: NetworkModel) -> list[tuple[str, int, str]]:
    """``(protocol, port, label)`` per class the page draws, from the model's port classes: each
    rule port (a range at its first port) and container port, then "any other port" for each
    protocol that some rule or container mentions (TCP always)."""
    classes = port_classes(model)
    listed = sorted((c for c in classes if c.listed), key=lambda c: (c.protocol, c.first))
    drawn = [
        (c.protocol, c.first, f"{c.protocol} {c.first}" + (f" ({', '.join(c.names)})" if c.names else ""))
        for c in listed
    ]
    # A rule for every port of a protocol mentions it too, though it starts no class of its own.
    protocols = {"TCP"} | {c.protocol for c in listed}
    protocols |= {
        spec.protocol for p in model.policies for r in p.ingress + p.egress for spec in r.ports if spec.port is None
    }
    for protocol in PROTOCOLS:
        if protocol in protocols:
            # The ports no rule and no container names share one verdict: the lowest stands for them.
            other = next((c.first for c in classes if c.protocol == protocol and not c.covered), None)
            if other is not None:
                drawn.append((protocol, other, f"{protocol} any other port (e.g. {other})"))
    return drawn


def _side(text: str, names: tuple[str, ...], allowed_by: list[str], allowed: bool) -> str:
    if not names:
        return f"{text}: not isolated (no policy selects it for this direction)"
    head = f"{text}: isolated by {', '.join(names)}"
    if allowed:
        return f"{head}; allowed by {'; '.join(allowed_by)}"
    return f"{head}; no rule allows it"


def _cell_text(verdict: Verdict) -> str:
    if not isinstance(verdict.src, Pod):
        egress = "egress: from outside the cluster (no policy applies)"
    else:
        egress = _side(
            "egress",
            verdict.egress.isolated_by,
            [f"{m.policy} {m.rule}" for m in verdict.egress.allowed_by],
            verdict.egress.allowed,
        )
    if not isinstance(verdict.dst, Pod):
        ingress = "ingress: outside the cluster (no policy applies)"
    else:
        ingress = _side(
            "ingress",
            verdict.ingress.isolated_by,
            [f"{m.policy} {m.rule}" for m in verdict.ingress.allowed_by],
            verdict.ingress.allowed,
        )
    state = (
        "ALLOWED"
        if verdict.allowed
        else "DENIED" + (" (uncertain: an ipBlock could admit the unknown pod IP)" if verdict.uncertain else "")
    )
    return f"{state}\n{egress}\n{ingress}"


def network_report_html(model: NetworkModel, *, title: str = "Network reachability", target: str | None = None) -> str:
    """The page as a string (see the module docstring)."""
    endpoints: list[Endpoint] = [*model.pods, INTERNET]
    esc = html.escape
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if target:
        parts.append(f'<p class="target">Target: <b>{esc(target)}</b></p>')
    parts.append(
        f'<p class="summary">{len(model.pods)} endpoints, {len(model.policies)} NetworkPolicies, '
        f"{len(model.namespaces)} namespaces. Rows are sources, columns destinations; "
        "&#10003; allowed, &#10007; denied, ? denied unless an ipBlock admits a pod whose IP is unknown. "
        "Hover a cell for the policies that make it, or look its key up in the legend below the table.</p>"
    )
    classes = drawn_port_classes(model)
    tooltips = len(endpoints) <= TOOLTIP_ENDPOINTS
    matrices = [_matrix(model, endpoints, protocol, port) for protocol, port, _ in classes]
    # Port classes with the same verdict and the same reason in every cell share one matrix.
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for number, matrix in enumerate(matrices):
        groups.setdefault(tuple(matrix), []).append(number)
    header = "".join(
        f'<th class="col" scope="col" title="{esc(dst.ref)}"><span>{esc(dst.ref)}</span></th>' for dst in endpoints
    )
    parts.append(_overview(endpoints, classes, matrices, header, tooltips))
    for group_number, members in enumerate(groups.values(), start=1):
        matrix = matrices[members[0]]
        legend: dict[str, str] = {}
        counts = {ALLOW: 0, DENY: 0, UNCERTAIN: 0, NA: 0}
        rows: list[str] = []
        for row, src in enumerate(endpoints):
            cells: list[str] = []
            for column in range(len(endpoints)):
                kind, text = matrix[row * len(endpoints) + column]
                counts[kind] += 1
                if kind == NA:
                    cells.append(f'<td class="{NA}" title="{esc(text)}">&#8211;</td>')
                    continue
                ref = legend.setdefault(text, f"{group_number}.{len(legend) + 1}")
                mark = {ALLOW: "&#10003;", DENY: "&#10007;", UNCERTAIN: "?"}[kind]
                # Big pages carry the explanation once, in the legend: per-cell text made a
                # 100-workload page tens of megabytes.
                title = f' title="{esc(text)}"' if tooltips else ""
                cells.append(f'<td class="{kind}"{title}>{mark}<sup>{esc(ref)}</sup></td>')
            rows.append(f'<tr><th class="row" scope="row">{esc(src.ref)}</th>{"".join(cells)}</tr>')
        labels = [classes[n][2] for n in members]
        denied = counts[DENY] + counts[UNCERTAIN]
        ports = " ".join(f"{classes[n][0]}/{classes[n][1]}" for n in members)
        parts.extend([
            f'<section class="port" id="ports-{group_number}" data-ports="{esc(ports)}">',
            f"<h2>{esc(', '.join(labels))}</h2>",
            f'<p class="counts">allowed: <span class="n-allow">{counts[ALLOW]}</span>, denied: <span class="n-deny">{denied}</span>'
            f' (uncertain: <span class="n-uncertain">{counts[UNCERTAIN]}</span>), not applicable: <span class="n-na">{counts[NA]}</span>'
            + (f" on each of these {len(members)} port classes" if len(members) > 1 else "") + "</p>",
            f'<table class="matrix"><thead><tr><th scope="col">source \\ destination</th>{header}</tr></thead>',
            f"<tbody>{''.join(rows)}</tbody></table>",
            '<table class="legend"><thead><tr><th>key</th><th>verdict and the policies that make it</th></tr></thead><tbody>',
            *(f"<tr><td>{esc(ref)}</td><td>{esc(text)}</td></tr>" for text, ref in legend.items()),
            "</tbody></table></section>",
        ])  # fmt: skip
    parts.append(_policies_section(model))
    parts.append("</body></html>")
    return "\n".join(parts)


def _matrix(model: NetworkModel, endpoints: list[Endpoint], protocol: str, port: int) -> list[tuple[str, str]]:
    """``(kind, explanation)`` per cell of one port class, rows are sources (row-major)."""
    index = model._class_index()
    cache: dict[tuple[int, int], tuple[str, str]] = {}
    cells: list[tuple[str, str]] = []
    for src in endpoints:
        for dst in endpoints:
            if not isinstance(src, Pod) and not isinstance(dst, Pod):
                cells.append((NA, "outside the cluster on both ends"))
                continue
            # Endpoints of one class (namespace, labels, ports, ipBlocks hit) share verdicts.
            key = (index.class_of(src), index.class_of(dst))
            if key not in cache:
                verdict = model.reachable(src, dst, port, protocol)
                kind = ALLOW if verdict.allowed else UNCERTAIN if verdict.uncertain else DENY
                cache[key] = (kind, _cell_text(verdict))
            cells.append(cache[key])
    return cells


def _short(protocol: str, port: int, label: str) -> str:
    """``TCP 8080``, ``UDP 53``, ``other TCP``: port class names short enough for a cell."""
    return f"other {protocol}" if "any other port" in label else f"{protocol} {port}"


def _overview(
    endpoints: list[Endpoint],
    classes: list[tuple[str, int, str]],
    matrices: list[list[tuple[str, str]]],
    header: str,
    tooltips: bool,
) -> str:
    """One matrix for every port class: each cell names the classes on which src reaches dst."""
    esc = html.escape
    rows = []
    for row, src in enumerate(endpoints):
        cells = []
        for column in range(len(endpoints)):
            at = row * len(endpoints) + column
            kinds = [matrix[at][0] for matrix in matrices]
            if kinds and all(kind == NA for kind in kinds):
                cells.append(f'<td class="{NA}">&#8211;</td>')
                continue
            allowed = [_short(*classes[n]) for n, kind in enumerate(kinds) if kind == ALLOW]
            if len(allowed) == len(classes):
                kind, text = ALLOW, "&#10003; all"
            elif not allowed:
                kind, text = (UNCERTAIN, "?") if UNCERTAIN in kinds else (DENY, "&#10007;")
            else:
                kind = "partial"
                text = "&#10003; " + (
                    esc(", ".join(allowed)) if len(allowed) <= 3 else f"{len(allowed)} of {len(classes)}"
                )
            title = f' title="allowed on: {esc(", ".join(allowed) or "none")}"' if tooltips else ""
            cells.append(f'<td class="{kind}"{title}>{text}</td>')
        rows.append(f'<tr><th class="row" scope="row">{esc(src.ref)}</th>{"".join(cells)}</tr>')
    return (
        '<section class="overview"><h2>All port classes</h2>'
        f'<p class="counts">{len(classes)} port classes: {esc(", ".join(label for _, _, label in classes))}. '
        "Each cell names the port classes on which the source reaches the destination; the matrices below "
        "explain every verdict.</p>"
        f'<table class="overview"><thead><tr><th scope="col">source \\ destination</th>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _policies_section(model: NetworkModel) -> str:
    esc = html.escape
    rows = []
    for policy in model.policies:
        selected = sum(1 for pod in model.pods if policy.selects(pod))
        rules = [r.describe(policy.namespace) for r in policy.ingress + policy.egress]
        rows.append(
            "<tr>"
            f"<td>{esc(policy.ref)}</td><td>{esc(policy.source or '-')}</td><td>{esc(str(policy.pod_selector))}</td>"
            f"<td>{esc(', '.join(sorted(policy.policy_types)))}</td><td>{selected}</td><td>{esc(chr(10).join(rules) or 'no rules')}</td>"
            "</tr>"
        )
    problems = model.lint()
    lint = "".join(f"<tr><td>{esc(str(problem))}</td></tr>" for problem in problems) or "<tr><td>none</td></tr>"
    return (
        '<h2>NetworkPolicies</h2><table class="policies"><thead><tr><th>policy</th><th>source</th><th>podSelector</th>'
        "<th>policyTypes</th><th>endpoints selected</th><th>rules</th></tr></thead><tbody>"
        + ("".join(rows) or '<tr><td colspan="6">no NetworkPolicy: every connection is allowed</td></tr>')
        + '</tbody></table><h2>Policies and peers that match nothing</h2><table class="lint"><tbody>'
        + lint
        + "</tbody></table>"
    )


@keyword_only("title", "target")
def write_network_report(
    model: NetworkModel, path: str | Path, *, title: str = "Network reachability", target: str | None = None
) -> Path:
    """Write :func:`network_report_html` to ``path`` (parents created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(network_report_html(model, title=title, target=target), encoding="utf-8")
    return out


def _deprecated_html_report(self: NetworkModel, title: str = "Network reachability", target: str | None = None) -> str:
    _deprecation.warn("NetworkModel.html_report()", "pytest_k8ssec.network_report_html(model)")
    return network_report_html(self, title=title, target=target)


# The model must not import its own picture (this module imports the model), so the deprecated
# method is attached from here. The k8s_network fixture imports this module, so the documented
# ``k8s_network.html_report()`` keeps working; a model built by hand has it once this is imported.
setattr(NetworkModel, "html_report", _deprecated_html_report)  # noqa: B010  (mypy refuses a plain assignment)

__all__ = ("drawn_port_classes", "network_report_html", "write_network_report")
