"""What the report writers add to a run: the same pytest run without and with every report.

For each size N (a workload-only corpus, so N tests) this times whole ``python -m pytest`` runs
(wall clock, fresh interpreter each, medians):

- base: two helpers per workload (``assert_not_privileged`` and ``assert_resources``, about 30%
  of the workloads failing), ``--tb=no``, no report;
- junit: the same with ``--junitxml`` (pytest's writer over the k8ssec properties, field lines);
- sarif: the same with ``--k8s-sarif`` alone;
- report: the same with ``--k8s-report x.json`` alone;
- json: ``--junitxml``, ``--k8s-sarif`` and ``--k8s-report x.json`` together;
- html: the same with ``--k8s-report x.html``.

Runs are warm (pytest's cache on, filled once before): the parse cache serves the manifests, so
the base run is as fast as a repeated CI run gets and the ratio is the strictest. Target: reports
add at most 10% (ratio <= 1.10). The figures are printed, never asserted.

    python benchmarks/bench_reports.py [--sizes 10k] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import describe_corpus, ensure_corpus, median, parse_sizes
from bench_pytest import plugin_args, run_pytest

TARGET_RATIO = 1.10

SUITE = """\
from pytest_k8ssec import assert_not_privileged, assert_resources


def test_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)


def test_resources(k8s_workload):
    assert_resources(k8s_workload)
"""


def measure(size: int, repeat: int, seed: int, workdir: Path, plugin: list[str]) -> dict[str, Any]:
    directory, stats = ensure_corpus(size, seed, workloads_only=True, cache=None)
    print(f"  {size}: {describe_corpus(stats)}", flush=True)
    (workdir / "test_suite.py").write_text(SUITE)
    base = [*plugin, "--tb=no", f"--k8s-manifests={directory}", "test_suite.py"]
    reports = ["--junitxml=junit.xml", "--k8s-sarif=out.sarif"]
    variants = {
        "base": base,
        "junit": [*base, "--junitxml=junit.xml"],
        "sarif": [*base, "--k8s-sarif=out.sarif"],
        "report": [*base, "--k8s-report=report.json"],
        "json": [*base, *reports, "--k8s-report=report.json"],
        "html": [*base, *reports, "--k8s-report=report.html"],
    }
    run_pytest(workdir, base, cache=True)  # fill the parse cache
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for _ in range(repeat):  # interleaved, so a noisy neighbour hurts every variant alike
        for name, args in variants.items():
            runs[name].append(run_pytest(workdir, args, cache=True))
    for name in variants:
        print(f"    {name:<6} {runs[name][0]['summary']}")
    sizes = {name: (workdir / name).stat().st_size for name in ("junit.xml", "out.sarif", "report.json", "report.html")}
    return {
        "size": size,
        "failed": runs["base"][0]["counts"].get("failed", 0),
        **{name: median([r["s"] for r in results]) for name, results in runs.items()},
        "bytes": sizes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["10k"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="k8ssec-bench-reports-") as tmp:
        workdir = Path(tmp)
        (workdir / "pytest.ini").write_text("[pytest]\n")
        plugin = plugin_args(workdir)
        for size in parse_sizes(args.sizes):
            rows.append(measure(size, args.repeat, args.seed, workdir, plugin))
    print()
    print(f"reports on vs. off (wall s, median of {args.repeat}, warm parse cache; target ratio <= {TARGET_RATIO:.2f})")
    names = ("junit", "sarif", "report", "json", "html")
    header = f"{'tests':>7} {'failed':>7} {'base s':>7} " + " ".join(f"{name + ' s':>9} {'ratio':>5}" for name in names)
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = " ".join(f"{row[name]:>9.2f} {row[name] / row['base']:>5.2f}" for name in names)
        print(f"{row['size'] * 2:>7} {row['failed']:>7} {row['base']:>7.2f} {cells}")
        print("  files: " + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in row["bytes"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
