"""What evaluating every Pod Security Standards control adds to manifest loading.

On the 10k-object benchmark corpus (corpus.py, cached like bench_load.py's), each in a fresh
interpreter: ``load`` is ``pytest_k8ssec.sources.manifests.load([corpus_dir])``; ``load + PSS`` is
load, then ``evaluate_pod_security(obj, level, "latest")`` for every workload at ``baseline`` and at
``restricted`` (between them every one of the 19 controls runs). Imports happen before the clock
starts. Medians of ``--repeat`` runs. Target: PSS adds at most 50% to load. The figures are
printed, never asserted.

    python benchmarks/bench_pss.py [--sizes 10k] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import CACHE, describe_corpus, ensure_corpus, median, parse_sizes, run_worker

SCRIPT = Path(__file__).resolve()
TARGET_ADDED = 0.50


def worker(directory: str, with_pss: bool) -> dict[str, Any]:
    from pytest_k8ssec.checks.pss import evaluate_pod_security
    from pytest_k8ssec.model.workloads import pod_spec
    from pytest_k8ssec.sources.manifests import load

    start = time.perf_counter()
    result = load([directory])
    loaded = time.perf_counter()
    judged = forbidden = 0
    if with_pss:
        for obj in result.objects:
            ref = pod_spec(obj)
            if ref is None or ref.malformed:
                continue
            judged += 1
            for level in ("baseline", "restricted"):
                forbidden += not evaluate_pod_security(obj, level, "latest").allowed
    done = time.perf_counter()
    return {
        "load_s": loaded - start,
        "total_s": done - start,
        "objects": len(result.objects),
        "workloads": judged,
        "forbidden": forbidden,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        print(json.dumps(worker(argv[1], argv[2] == "pss")))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["10000"], help="object counts (10k = 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are shown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-cache", action="store_true", help="generate corpora in a temp dir instead of benchmarks/.cache"
    )
    args = parser.parse_args(argv)
    cache = None if args.no_cache else CACHE
    print(f"Python {sys.version.split()[0]}; corpora under {cache or 'a temp dir'}", flush=True)
    rows = []
    for size in parse_sizes(args.sizes):
        directory, stats = ensure_corpus(size, args.seed, workloads_only=False, cache=cache)
        print(f"  {size}: {describe_corpus(stats)}", flush=True)
        plain, pss = [], []
        for _ in range(args.repeat):  # interleaved, so a noisy neighbour hurts both alike
            plain.append(run_worker(SCRIPT, [str(directory), "load"]))
            pss.append(run_worker(SCRIPT, [str(directory), "pss"]))
        load_s = median([r["total_s"] for r in plain])
        total_s = median([r["total_s"] for r in pss])
        rows.append((pss[0], load_s, total_s))
    print()
    print(
        f"load vs. load + all PSS checks (baseline and restricted at latest), median of {args.repeat}; "
        f"target: PSS adds <= {TARGET_ADDED:.0%}"
    )
    header = (
        f"{'objects':>8} {'workloads':>9} {'load s':>8} {'load+PSS s':>11} {'PSS s':>7} {'added':>7} {'forbidden':>10}"
    )
    print(header)
    print("-" * len(header))
    for run, load_s, total_s in rows:
        added = (total_s - load_s) / load_s
        flag = "" if added <= TARGET_ADDED else "  > target"
        print(
            f"{run['objects']:>8} {run['workloads']:>9} {load_s:>8.2f} {total_s:>11.2f} {total_s - load_s:>7.2f} "
            f"{added:>7.1%} {run['forbidden']:>10}{flag}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
