"""Manifest loading and all built-in checks, measured against the libyaml parse floor.

For each corpus size (objects; realistic Helm-like manifests from corpus.py, ~2.9 KB/object, ~30%
of workloads with problems) this measures, each in a fresh interpreter, on the same files:

- parse: the floor. Read every file's bytes and ``yaml.load_all(data, Loader=yaml.CSafeLoader)``
  into a list; nothing else. No tool that reads YAML with PyYAML can load faster.
- load: ``pytest_k8ssec.sources.manifests.load([corpus_dir])`` (walk, parse, guards, provenance,
  validation, K8sObject views).
- load+checks: load, then ``engine.evaluate(checks, objects)`` with every built-in object check
  except ``image-vulnerable`` (it needs scanner reports the corpus does not have, and without them
  it fails closed on every container: a figure of nothing).
- selection s (a separate column, not in the ratio): the selection checks (network isolation,
  default deny, cluster-admin subjects...), each judging the whole corpus through a model built
  from it. Before 0.2.0 they were not registry checks and only their helpers ran them.

Imports (PyYAML, the package, the check modules) happen before the clock starts on both sides.
Medians of ``--repeat`` runs; peak RSS is the worker process's ``ru_maxrss``. Target: load+checks
<= 2x parse. The figures are printed, never asserted.

    python benchmarks/bench_load.py [--sizes 1k 10k 50k] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from _common import CACHE, describe_corpus, ensure_corpus, median, parse_floor, parse_sizes, run_worker

SCRIPT = Path(__file__).resolve()
TARGET_RATIO = 2.0


# --- workers (run in a fresh interpreter) --------------------------------------------------------


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def worker_parse(directory: str) -> dict[str, Any]:
    elapsed, docs = parse_floor(Path(directory))
    return {"parse_s": elapsed, "objects": sum(doc is not None for doc in docs), "rss_mib": _peak_rss_mib()}


def worker_ours(directory: str, profile: str | None = None) -> dict[str, Any]:
    from pytest_k8ssec.checks import CheckKind, load_builtin_checks
    from pytest_k8ssec.engine import evaluate
    from pytest_k8ssec.sources.manifests import load

    builtin = load_builtin_checks()
    checks = [c for c in builtin if c.kind is CheckKind.OBJECT and c.id != "image-vulnerable"]
    selection = [c for c in builtin if c.kind is CheckKind.SELECTION]
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    result = load([directory])
    loaded = time.perf_counter()
    findings = evaluate(checks, result.objects)
    done = time.perf_counter()
    rss = _peak_rss_mib()  # before the selection checks' models, so it compares with the floor's
    selection_findings = evaluate(selection, result.objects)
    selection_s = time.perf_counter() - done
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    return {
        "load_s": loaded - start,
        "checks_s": done - loaded,
        "total_s": done - start,
        "objects": len(result.objects),
        "findings": len(findings),
        "checks": len(checks),
        "selection_s": selection_s,
        "selection_checks": len(selection),
        "selection_findings": len(selection_findings),
        "rss_mib": rss,
    }


def worker_main(argv: list[str]) -> int:
    what, directory, *rest = argv
    if what == "parse":
        out = worker_parse(directory)
    elif what == "ours":
        out = worker_ours(directory, rest[0] if rest else None)
    else:
        raise SystemExit(f"unknown worker {what!r}")
    print(json.dumps(out))
    return 0


# --- driver -------------------------------------------------------------------------------------


def measure(size: int, repeat: int, seed: int, cache: Path | None) -> dict[str, Any]:
    directory, stats = ensure_corpus(size, seed, workloads_only=False, cache=cache)
    print(f"  {size}: {describe_corpus(stats)}", flush=True)
    parse, ours = [], []
    for _ in range(repeat):  # interleaved, so a noisy neighbour hurts both sides alike
        parse.append(run_worker(SCRIPT, ["parse", str(directory)]))
        ours.append(run_worker(SCRIPT, ["ours", str(directory)]))
    if parse[0]["objects"] != ours[0]["objects"]:
        print(f"  warning: the floor parsed {parse[0]['objects']} documents, we loaded {ours[0]['objects']} objects")
    return {
        "size": size,
        "directory": directory,
        "parse_s": median([r["parse_s"] for r in parse]),
        "load_s": median([r["load_s"] for r in ours]),
        "total_s": median([r["total_s"] for r in ours]),
        "objects": ours[0]["objects"],
        "findings": ours[0]["findings"],
        "checks": ours[0]["checks"],
        "selection_s": median([r["selection_s"] for r in ours]),
        "selection_checks": ours[0]["selection_checks"],
        "selection_findings": ours[0]["selection_findings"],
        "parse_rss": max(r["rss_mib"] for r in parse),
        "ours_rss": max(r["rss_mib"] for r in ours),
    }


def print_table(rows: list[dict[str, Any]], repeat: int) -> None:
    print()
    print(
        f"load + {rows[0]['checks']} built-in object checks vs. libyaml parse floor (median of {repeat}; target ratio <= {TARGET_RATIO:g});"
    )
    print(f"selection s: the {rows[0]['selection_checks']} selection checks over the whole corpus, not in the ratio")
    header = (
        f"{'objects':>8} {'parse s':>8} {'load s':>8} {'load+checks s':>14} {'ratio':>6} "
        f"{'objects/s':>10} {'findings':>9} {'parse RSS':>10} {'ours RSS':>9} {'selection s':>12} {'sel. findings':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = row["total_s"] / row["parse_s"]
        flag = "" if ratio <= TARGET_RATIO else "  > target"
        print(
            f"{row['objects']:>8} {row['parse_s']:>8.2f} {row['load_s']:>8.2f} {row['total_s']:>14.2f} "
            f"{ratio:>6.2f} {row['objects'] / row['total_s']:>10.0f} {row['findings']:>9} "
            f"{row['parse_rss']:>7.0f} MiB {row['ours_rss']:>5.0f} MiB {row['selection_s']:>12.2f} "
            f"{row['selection_findings']:>14}{flag}"
        )


def profile(directory: Path, top: int) -> None:
    import pstats

    out = CACHE / "bench_load.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    run_worker(SCRIPT, ["ours", str(directory), str(out)])
    print(f"\ncProfile of load + checks on {directory.name} (saved to {out}):")
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1000", "10000", "50000"], help="object counts (10k = 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are shown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-cache", action="store_true", help="generate corpora in a temp dir instead of benchmarks/.cache"
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile load + checks on the largest size")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    args = parser.parse_args(argv)
    cache = None if args.no_cache else CACHE
    rows = []
    print(f"Python {sys.version.split()[0]}; corpora under {cache or 'a temp dir'}", flush=True)
    for size in parse_sizes(args.sizes):
        rows.append(measure(size, args.repeat, args.seed, cache))
    print_table(rows, args.repeat)
    if args.profile:
        profile(rows[-1]["directory"], args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
