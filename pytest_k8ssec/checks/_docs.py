"""Generate docs/checks.md from the check registry: ``python -m pytest_k8ssec.checks._docs docs/checks.md``.

The docs never restate a check by hand; a test fails when the committed file is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from pytest_k8ssec.checks import RENAMED_IDS, Check, builtin_registry

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
            lines += ["", "Controls: " + "; ".join(check.controls) + "."]
        if check.references:
            lines += ["", "References: " + ", ".join(f"<{ref}>" for ref in check.references)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Write the checks page to ``argv[0]`` (or print it)."""
    text = render(builtin_registry())
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
