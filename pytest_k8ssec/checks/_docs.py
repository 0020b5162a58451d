"""Generate the check and control pages from the registry and the control catalog.

``python -m pytest_k8ssec.checks._docs docs/checks.md docs/controls.md``. The docs never restate a
check or a control by hand; a test fails when a committed page is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from pytest_k8ssec.checks import RENAMED_IDS, Check, builtin_registry
from pytest_k8ssec.checks._controls import BUILTIN_CONTROLS, FRAMEWORKS, PSS_UPSTREAM, Control

HEADER = """# Built-in checks

<!-- Generated from the check registry by `python -m pytest_k8ssec.checks._docs docs/checks.md`; do not edit. -->

Every check runs on every workload kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob, PodTemplate) and on init, regular and ephemeral containers.
Use a check by id with `assert_passes("<id>", objects)`, or through the named helpers in the
[README](../README.md#assertion-helpers).

**Ids name the fault a check finds**, so a finding reads as what is wrong:
`writable-root-filesystem in Deployment shop/web`. The one exception is the `pss-*` checks: their
id is `pss-` plus the upstream Pod Security control id (`pss-allow-privilege-escalation` for
`allowPrivilegeEscalation`), so it names the control, which they implement exactly as the API
server's Pod Security admission does. Each control is implemented once, there; an opinionated check
that judges the same thing builds on it (and says so in its module), or claims no control.

The *kind* column says what a check needs to reach a verdict:

- **object**: judges each object on its own; `assert_passes` runs it.
- **selection**: judges the objects it targets given the whole selection (a model built from all
  of them, such as every NetworkPolicy); `assert_passes` runs it with its default parameters.
- **requirement**: answers the test's own question (who may do what, which connection, which
  dry-run, which container); only its helpers can ask it, and `assert_passes` raises a
  `TypeError` naming them.

A check with *parameters* runs with the defaults listed; its helpers run it with yours.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(checks: Iterable[Check]) -> str:
    """Markdown for the given checks: a summary table, then one section per check."""
    checks = list(checks)
    lines = [HEADER]
    if RENAMED_IDS:
        lines += ["Renamed ids (the old id still works, with a DeprecationWarning, until 0.3.0):", ""]
        lines += [f"- `{old}` -> `{new}`" for old, new in RENAMED_IDS.items()]
        lines += [""]
    lines += ["| id | kind | severity | category | title |", "|---|---|---|---|---|"]
    for check in checks:
        lines.append(
            f"| [`{check.id}`](#{check.id}) | {check.kind} | {check.severity} | {check.category} | {_cell(check.title)} |"
        )
    for check in checks:
        lines += [
            "",
            f"## {check.id}",
            "",
            f"**{check.title}** — {check.kind} check, severity {check.severity}, category {check.category}.",
            "",
        ]
        lines += [check.summary, "", f"Fix: {check.remediation}"]
        if check.parameters:
            lines += [
                "",
                "Parameters (defaults): " + ", ".join(f"`{name}` = {value}" for name, value in check.parameters) + ".",
            ]
        if check.helpers:
            lines += ["", "Helpers: " + ", ".join(f"`{name}()`" for name in check.helpers) + "."]
        if check.pss is not None:
            lines += [
                "",
                f"Pod Security Standards: {check.pss.level} `{check.pss.control}` (since policy {check.pss.since}).",
            ]
        if check.controls:
            lines += ["", "Controls: " + "; ".join(_control_ref(c) for c in check.controls) + "."]
        if check.finding_controls:
            lines += [
                "",
                "Controls per finding (each finding carries the one it fails): "
                + "; ".join(f"[`{c}`](controls.md#{c.lower().replace('.', '')})" for c in check.finding_controls)
                + ".",
            ]
        if check.references:
            lines += ["", "References: " + ", ".join(f"<{ref}>" for ref in check.references)]
    return "\n".join(lines) + "\n"


def _control_ref(control_id: str) -> str:
    found = BUILTIN_CONTROLS.get(control_id)
    title = f" ({found.title})" if found is not None else ""
    return f"[`{control_id}`](controls.md#{control_id.lower().replace('.', '')}){title}"


CONTROLS_HEADER = """# Controls

<!-- Generated from the control catalog and the check registry by `python -m pytest_k8ssec.checks._docs docs/checks.md docs/controls.md`; do not edit. -->

Every control id a check or a test may claim, per framework, with the [built-in checks](checks.md)
that implement it. A check claims a control when each of its findings is a violation of that
control; a control no check implements is listed as *not covered by a check* (some need a live
cluster or are organisational: write a test of your own and mark it
`@pytest.mark.k8s_control("<id>")`). Select tests by control with `--k8s-controls` (fnmatch
patterns such as `CIS-5.2.*`); make a project's own ids known with `k8s_extra_controls`.

Id formats:

- `CIS-5.x.y`: CIS Kubernetes Benchmark **v1.12**, section 5, numbered as kube-bench's
  `cfg/cis-1.12/policies.yaml` carries it. Numbers drift between benchmark versions: v1.9 to v1.11
  had 13 items in 5.2 (5.2.9 "added capabilities", so HostProcess, HostPath volumes and HostPorts
  were 5.2.11 to 5.2.13), and v1.9/v1.10 put General Policies at 5.7 (v1.11 moved them to 5.6).
  v1.12 dropped "added capabilities". Ids here follow v1.12 only: a tool citing `5.7.1` means
  `CIS-5.6.1`.
- `NSA-<slug>`: a section of the NSA/CISA Kubernetes Hardening Guidance v1.2.
- `PSS-<level>-<slug>`: a Pod Security Standards control, named after the upstream page; each
  `pss-*` check implements exactly one (its Pod Security admission check id is shown).
- `MITRE-T<id>`: a technique of the MITRE ATT&CK Containers matrix the check mitigates.
"""


def render_controls(checks: Iterable[Check]) -> str:
    """Markdown for the control catalog: per framework and section, each control and its checks."""
    checks = list(checks)
    implementing: dict[str, list[str]] = {}
    for check in checks:
        for control_id in (*check.controls, *check.finding_controls):
            implementing.setdefault(control_id, []).append(check.id)
    upstream = {control_id: name for name, control_id in PSS_UPSTREAM.items()}
    by_framework: dict[str, list[Control]] = {}
    for found in BUILTIN_CONTROLS.values():
        by_framework.setdefault(found.framework, []).append(found)
    lines = [CONTROLS_HEADER]
    lines += ["| framework | controls | covered by a check |", "|---|---|---|"]
    for framework, controls in by_framework.items():
        covered = sum(1 for c in controls if c.id in implementing)
        lines.append(f"| [{FRAMEWORKS[framework]}](#{framework.lower()}) | {len(controls)} | {covered} |")
    for framework, controls in by_framework.items():
        lines += ["", f'<a id="{framework.lower()}"></a>', "", f"## {FRAMEWORKS[framework]}", ""]
        if controls[0].url:
            lines += [f"Source: <{controls[0].url.split('#')[0]}>"]
        section = None
        for found in controls:
            if found.section != section:
                section = found.section
                lines += ["", f"### {section}", "", "| id | title | checks |", "|---|---|---|"]
            names = implementing.get(found.id, [])
            cell = ", ".join(f"[`{name}`](checks.md#{name})" for name in names) or "*not covered by a check*"
            title = _cell(found.title)
            if found.id in upstream:
                title += f" (upstream `{upstream[found.id]}`)"
            anchor = found.id.lower().replace(".", "")
            lines.append(f'| <a id="{anchor}"></a>`{found.id}` | {title} | {cell} |')
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Write the checks page to ``argv[0]`` and the controls page to ``argv[1]`` (or print both)."""
    checks = list(builtin_registry())
    pages = [render(checks), render_controls(checks)]
    if argv:
        for path, text in zip(argv, pages):
            Path(path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write("\n".join(pages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
