"""benchmarks/bench_speed.py (issue 15's table) runs end to end on a tiny corpus, so it cannot rot.

Figures are never asserted here: only that each row is measured, that its sanity figures agree
between the runs it compares (the script warns otherwise) and that the table reaches the JSON file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "bench_speed.py"


def _bench_speed() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import bench_speed
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return bench_speed


@pytest.mark.slow
def test_the_rows_run_on_a_tiny_corpus(tmp_path: Path) -> None:
    out = tmp_path / "table.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # --no-cache writes the corpus under TMPDIR
    argv = ["--sizes", "50", "--rows", "1,2,3,4,5,6,7,9", "--no-peers", "--no-cache", "--json", str(out)]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *argv],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if not k.startswith("PYTEST_")},
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = json.loads(out.read_text())
    assert table["warnings"] == []
    assert Path(table["meta"]["imported_from"]) == REPO
    rows = {(r["row"], r["label"]): r for r in table["rows"]}
    assert [key[0] for key in rows] == ["1", "1", "2", "3", "3", "4", "5", "6", "7", "9"]
    for row in table["rows"]:
        assert row["ours"] > 0, row
    by_row = {r["row"]: r for r in table["rows"]}
    assert by_row["2"]["notes"] == "50 objects"
    assert by_row["2"]["floor"] > 0 and by_row["2"]["met"] in (True, False)
    # The corpus plants problems: some helpers fail, and the findings are counted.
    assert "0 findings" not in by_row["5"]["notes"] and "/11 helpers failing" in by_row["5"]["notes"]
    assert "failed; floor: plugin-free" in by_row["6"]["notes"] and by_row["6"]["floor"] > 0
    assert by_row["7"]["floor"] is None and "kube-score skipped: --no-peers" in by_row["7"]["notes"]
    # Serial and -n 2 ran the same tests with the same findings (else a warning above).
    assert by_row["9"]["floor"] > 0 and by_row["9"]["notes"] == by_row["7"]["notes"].split(";")[0].replace(
        " checks,", " tests,"
    )
    assert any(line.startswith("row ") and "| met |" in line for line in proc.stdout.splitlines())


def test_targets() -> None:
    bench_speed = _bench_speed()
    Row, Target = bench_speed.Row, bench_speed.Target
    assert Row("2", "load", 1.1, 1.0, "s", Target("ratio", 1.15)).met is True
    assert Row("2", "load", 1.2, 1.0, "s", Target("ratio", 1.15)).met is False
    assert Row("5", "helpers", 0.6, None, "s", Target("max", 0.5)).met is False
    assert Row("7", "engine", 5.0, 6.0, "s", Target("faster")).met is True
    assert Row("7", "engine", 5.0, None, "s", Target("faster")).met is None  # peer not measured
    small = Row("9", "xdist", 3.1, 2.0, "s", Target("diff", 1.0))
    assert small.met is False and small.cells()[3] == "+1.10 s"
    assert bench_speed.parse_rows("1, 3,9") == {1, 3, 9}
