"""Per-workload pytest runs, measured against pytest's own floor.

For each size N this times whole ``python -m pytest`` runs (wall clock, fresh interpreter each):

- floor: a plugin-free run (``-p no:k8ssec``) of one trivial test parametrized N times, with ids
  shaped like ours (``Deployment/ns/wN``). This is what pytest itself costs per test.
- ours: ``def test_w(k8s_workload): assert k8s_workload.kind`` with ``--k8s-manifests`` over a
  workload-only corpus of N workloads (corpus.py), so it also runs N tests. The time includes
  loading the manifests; the load alone is timed in a separate interpreter and shown as a share.
- helper: ``assert_not_privileged(k8s_workload)`` per workload, ~30% failing, once with
  ``--tb=no`` and once with pytest's default traceback style. pytest's failure summary can grow
  quadratically with failures x tests (pytest-dev/pytest#13360), so the default-``--tb`` run is
  the one that shows whether our failure output stays linear.

Every run uses ``-q -p no:cacheprovider`` in a temp directory that is also its rootdir, with its
own pytest.ini (the checkout's pytest configuration stays out). Target: ours <= 1.5x floor. The figures are
printed, never asserted.

    python benchmarks/bench_pytest.py [--sizes 1k 10k] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import CACHE, REPO, child_env, describe_corpus, ensure_corpus, median, parse_sizes, run_worker

SCRIPT = Path(__file__).resolve()
TARGET_RATIO = 1.5

FLOOR_TEST = """\
import pytest

N = {n}


@pytest.mark.parametrize("w", range(N), ids=[f"Deployment/ns/w{{i}}" for i in range(N)])
def test_w(w):
    assert w >= 0
"""

OURS_TEST = """\
def test_w(k8s_workload):
    assert k8s_workload.kind
"""

HELPER_TEST = """\
from pytest_k8ssec import assert_not_privileged


def test_w(k8s_workload):
    assert_not_privileged(k8s_workload)
"""

_COUNT = re.compile(r"(\d+) (passed|failed|error|errors|skipped)\b")


def worker_load(directory: str) -> dict[str, Any]:
    from pytest_k8ssec.sources.manifests import load

    start = time.perf_counter()
    result = load([directory])
    return {"load_s": time.perf_counter() - start, "objects": len(result.objects)}


def plugin_args(workdir: Path) -> list[str]:
    """``-p pytest_k8ssec.plugin`` unless the ``k8ssec`` entry point already loads it (twice is an error)."""
    probe = (
        "import importlib.metadata as m; "
        "print(any(ep.value.split(':')[0] == 'pytest_k8ssec.plugin' for ep in m.entry_points(group='pytest11')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=child_env(), cwd=workdir, check=True
    ).stdout.strip()
    return [] if out == "True" else ["-p", "pytest_k8ssec.plugin"]


def run_pytest(workdir: Path, args: list[str], prefix: list[str] | None = None, cache: bool = False) -> dict[str, Any]:
    """One pytest run: wall time, outcome counts, size of the terminal output.

    ``cache=True`` keeps pytest's cache provider on (in ``workdir``), so the plugin's parse cache
    serves unchanged manifests: the figure of a repeated run.
    """
    base = [] if cache else ["-p", "no:cacheprovider"]
    argv = [*(prefix or [sys.executable]), "-m", "pytest", "-q", *base, f"--rootdir={workdir}", *args]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, env=child_env(), cwd=workdir, check=False)
    elapsed = time.perf_counter() - start
    tail = proc.stdout.decode(errors="replace").strip().splitlines()[-1:] or [""]
    counts = {word.rstrip("s") if word.startswith("error") else word: int(num) for num, word in _COUNT.findall(tail[0])}
    if proc.returncode not in (0, 1) or not counts:
        raise RuntimeError(
            f"pytest {' '.join(args)} exited {proc.returncode}:\n"
            f"{proc.stdout.decode(errors='replace')[-3000:]}\n{proc.stderr.decode(errors='replace')[-3000:]}"
        )
    return {"s": elapsed, "counts": counts, "output_bytes": len(proc.stdout), "summary": tail[0]}


def measure(size: int, repeat: int, seed: int, cache: Path | None, workdir: Path, plugin: list[str]) -> dict[str, Any]:
    directory, stats = ensure_corpus(size, seed, workloads_only=True, cache=cache)
    print(f"  {size}: {describe_corpus(stats)}", flush=True)
    (workdir / "test_floor.py").write_text(FLOOR_TEST.format(n=size))
    # "--opt=value", not "--opt value": pytest takes every existing path among the arguments it
    # does not know yet (plugin options included) as a rootdir candidate, and would pick up the
    # checkout's pyproject.toml above the corpus.
    manifests = [f"--k8s-manifests={directory}"]
    runs: dict[str, list[dict[str, Any]]] = {
        "floor": [],
        "ours": [],
        "ours_warm": [],
        "helper_tbno": [],
        "helper_tb": [],
        "load": [],
    }
    # Fill the parse cache once (a first run); the warm runs below then read unchanged files from it.
    run_pytest(workdir, [*plugin, "--tb=no", *manifests, "test_ours.py"], cache=True)
    for _ in range(repeat):  # interleaved, so a noisy neighbour hurts every variant alike
        runs["floor"].append(run_pytest(workdir, ["-p", "no:k8ssec", "--tb=no", "test_floor.py"]))
        runs["ours"].append(run_pytest(workdir, [*plugin, "--tb=no", *manifests, "test_ours.py"]))
        runs["ours_warm"].append(run_pytest(workdir, [*plugin, "--tb=no", *manifests, "test_ours.py"], cache=True))
        runs["helper_tbno"].append(run_pytest(workdir, [*plugin, "--tb=no", *manifests, "test_helper.py"]))
        runs["helper_tb"].append(run_pytest(workdir, [*plugin, *manifests, "test_helper.py"]))
        runs["load"].append(run_worker(SCRIPT, ["load", str(directory)]))
    for name in ("floor", "ours", "ours_warm", "helper_tbno", "helper_tb"):
        summary = runs[name][0]["summary"]
        print(f"    {name:<12} {summary}")
    row: dict[str, Any] = {
        "size": size,
        "directory": directory,
        "failed": runs["helper_tb"][0]["counts"].get("failed", 0),
    }
    for name, results in runs.items():
        key = "load_s" if name == "load" else "s"
        row[name] = median([r[key] for r in results])
    row["output_tbno"] = runs["helper_tbno"][0]["output_bytes"]
    row["output_tb"] = runs["helper_tb"][0]["output_bytes"]
    return row


def print_tables(rows: list[dict[str, Any]], repeat: int) -> None:
    print()
    print(
        f"one test per workload vs. plugin-free trivial tests (wall s, median of {repeat}; target ratio <= {TARGET_RATIO:g})"
    )
    print("cold: every file parsed (no cache); warm: unchanged files from the parse cache (a repeated run)")
    header = (
        f"{'tests':>7} {'floor s':>8} {'cold s':>8} {'ratio':>6} {'warm s':>8} {'ratio':>6} "
        f"{'parse s':>8} {'parse share':>11} {'cold w/o parse':>15}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio, warm = row["ours"] / row["floor"], row["ours_warm"] / row["floor"]
        flag = "" if warm <= TARGET_RATIO else "  warm > target"
        print(
            f"{row['size']:>7} {row['floor']:>8.2f} {row['ours']:>8.2f} {ratio:>6.2f} {row['ours_warm']:>8.2f} {warm:>6.2f} "
            f"{row['load']:>8.2f} {row['load'] / row['ours']:>10.0%} {(row['ours'] - row['load']) / row['floor']:>15.2f}{flag}"
        )
    print()
    print("assert_not_privileged per workload, ~30% failing (wall s; ratio vs. the same floor)")
    header = f"{'tests':>7} {'failed':>7} {'--tb=no s':>10} {'ratio':>6} {'default tb s':>13} {'ratio':>6} {'output tb=no':>13} {'output tb':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['size']:>7} {row['failed']:>7} {row['helper_tbno']:>10.2f} {row['helper_tbno'] / row['floor']:>6.2f} "
            f"{row['helper_tb']:>13.2f} {row['helper_tb'] / row['floor']:>6.2f} "
            f"{row['output_tbno'] / 1024:>10.0f} KiB {row['output_tb'] / 1024:>6.0f} KiB"
        )


def profile(workdir: Path, directory: Path, plugin: list[str], top: int) -> None:
    """cProfile the "ours" run (the whole pytest process) and print the top functions."""
    import pstats

    out = CACHE / "bench_pytest.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = [sys.executable, "-m", "cProfile", "-o", str(out)]
    result = run_pytest(workdir, [*plugin, "--tb=no", f"--k8s-manifests={directory}", "test_ours.py"], prefix)
    print(
        f"\ncProfile of the 'ours' run over {directory.name} ({result['s']:.1f} s under the profiler; saved to {out}):"
    )
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        print(json.dumps(worker_load(argv[2])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["1000", "10000"], help="test counts (10k = 10000); 50k works but is slow"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are shown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-cache", action="store_true", help="generate corpora in a temp dir instead of benchmarks/.cache"
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile the 'ours' run on the largest size")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    args = parser.parse_args(argv)
    cache = None if args.no_cache else CACHE
    rows = []
    with tempfile.TemporaryDirectory(prefix="k8ssec-bench-pytest-") as tmp:
        workdir = Path(tmp)
        (workdir / "pytest.ini").write_text("[pytest]\n")
        (workdir / "test_ours.py").write_text(OURS_TEST)
        (workdir / "test_helper.py").write_text(HELPER_TEST)
        plugin = plugin_args(workdir)
        how = (
            "loaded by -p pytest_k8ssec.plugin"
            if plugin
            else "loaded through its pytest11 entry point (installed or egg-info)"
        )
        print(f"Python {sys.version.split()[0]}; plugin {how}; checkout {REPO}", flush=True)
        for size in parse_sizes(args.sizes):
            rows.append(measure(size, args.repeat, args.seed, cache, workdir, plugin))
        print_tables(rows, args.repeat)
        if args.profile:
            profile(workdir, rows[-1]["directory"], plugin, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
