"""The YAML tables that a unit test pins without a server and a live test sends to the real API
server (tests/data/yaml-semantics, tests/data/duplicate-keys), and what both sides do with a row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
# The API group of the probe CRD the live tests install (tests/live/dryrun.py says the same).
PROBE_GROUP = "k8ssec.test"


def cases(table: str) -> list[dict[str, Any]]:
    """The rows of ``tests/data/<table>/cases.json``."""
    rows: list[dict[str, Any]] = json.loads((DATA / table / "cases.json").read_text())
    return rows


def probe_document(case: dict[str, Any], group: str = PROBE_GROUP) -> str:
    """A yaml-semantics row as a Probe object whose ``spec`` is the row's YAML."""
    return f"apiVersion: {group}/v1\nkind: Probe\nmetadata:\n  name: {case['id']}\nspec: {case['spec']}\n"


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON type at every level (1 is not 1.0, True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)
