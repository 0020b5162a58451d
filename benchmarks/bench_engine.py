"""What the checks cost after loading: every built-in check through the engine, and the 11 workload
helpers over every workload, each asked twice (the second time reads the engine's memo).

On the benchmark corpus (corpus.py, cached like bench_load.py's), each run in a fresh interpreter
with the corpus loaded (and ``gc.freeze()``-d, as the plugin does) before the clock starts:

- object checks: ``engine.evaluate(checks, objects)`` with every built-in object check except
  image-vulnerable (it needs scan reports), first call, then the same call again;
- selection checks: ``evaluate`` with every built-in selection check (network, RBAC);
- helpers: the 11 helpers of ``asserts/workloads.py`` (``assert_not_privileged`` ...
  ``assert_resources``) each called once on the list of every workload (their failures caught),
  then the same 11 calls again. Target (issue 15): <= 0.5 s for the 11.

CPU seconds of the worker (``time.process_time``), medians of ``--repeat`` runs; findings counts are
sanity figures (they must not move when only speed work is done); RSS is the worker's peak.

    python benchmarks/bench_engine.py [--sizes 10k] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from _common import CACHE, describe_corpus, ensure_corpus, median, parse_sizes, run_worker

SCRIPT = Path(__file__).resolve()
HELPER_TARGET_S = 0.5


def worker(directory: str, mode: str, profile: bool) -> dict[str, Any]:
    import cProfile
    import gc
    import io
    import pstats
    import resource
    import time

    import pytest_k8ssec as api
    from pytest_k8ssec.checks import CheckKind, load_builtin_checks
    from pytest_k8ssec.engine import evaluate
    from pytest_k8ssec.model.workloads import is_workload
    from pytest_k8ssec.sources.manifests import load

    helpers = [
        api.assert_not_privileged,
        api.assert_no_privilege_escalation,
        api.assert_runs_as_non_root,
        api.assert_read_only_root_filesystem,
        api.assert_capabilities,
        api.assert_no_host_namespaces,
        api.assert_no_host_path,
        api.assert_no_host_ports,
        api.assert_seccomp,
        api.assert_no_service_account_token_automount,
        api.assert_resources,
    ]
    checks = load_builtin_checks()
    per_object = [c for c in checks if c.kind is CheckKind.OBJECT and c.id != "image-vulnerable"]
    selections = [c for c in checks if c.kind is CheckKind.SELECTION]
    objects = load([directory]).objects
    gc.freeze()
    workloads = [obj for obj in objects if is_workload(obj)]
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def run_helpers() -> int:
        found = 0
        for helper in helpers:
            try:
                helper(workloads)
            except api.SecurityAssertionError as exc:
                found += len(exc.findings)
        return found

    profiler = cProfile.Profile() if profile else None
    out: dict[str, Any] = {"objects": len(objects), "workloads": len(workloads)}
    # Helpers and checks in separate interpreters: each first call meets objects nothing has judged.
    steps = (
        (("helpers_s", run_helpers), ("helpers_again_s", run_helpers))
        if mode == "helpers"
        else (
            ("object_s", lambda: len(evaluate(per_object, objects))),
            ("object_again_s", lambda: len(evaluate(per_object, objects))),
            ("selection_s", lambda: len(evaluate(selections, objects))),
        )
    )
    for name, step in steps:
        if profiler is not None and name in ("helpers_s", "object_s"):  # the first round only
            profiler.enable()
        start = time.process_time()
        count = step()
        out[name] = time.process_time() - start
        if profiler is not None:
            profiler.disable()
        out[name.replace("_s", "_findings")] = count
    out["rss_loaded_mib"] = rss_loaded / 1024
    out["rss_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(10)
        out["profile"] = text.getvalue()
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        print(json.dumps(worker(argv[1], argv[2], argv[3] == "profile")))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["10000"], help="object counts (10k = 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are shown")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="one more run under cProfile: top 10 by own time")
    parser.add_argument(
        "--no-cache", action="store_true", help="generate corpora in a temp dir instead of benchmarks/.cache"
    )
    args = parser.parse_args(argv)
    cache = None if args.no_cache else CACHE
    print(f"Python {sys.version.split()[0]}; corpora under {cache or 'a temp dir'}", flush=True)
    columns = ("helpers_s", "helpers_again_s", "object_s", "object_again_s", "selection_s")
    header = (
        f"{'objects':>8} {'workloads':>9} {'11 helpers s':>12} {'again s':>8} {'object s':>9} {'again s':>8} "
        f"{'select. s':>9} {'obj. findings':>13} {'sel. findings':>13} {'+RSS MiB':>9}"
    )
    rows = []
    profiles = []
    for size in parse_sizes(args.sizes):
        directory, stats = ensure_corpus(size, args.seed, workloads_only=False, cache=cache)
        print(f"  {size}: {describe_corpus(stats)}", flush=True)
        runs: list[dict[str, Any]] = []
        for _ in range(args.repeat):  # interleaved, so a noisy neighbour hurts both alike
            helpers = run_worker(SCRIPT, [str(directory), "helpers", "plain"])
            runs.append({**helpers, **run_worker(SCRIPT, [str(directory), "checks", "plain"])})
        figures = {column: median([run[column] for run in runs]) for column in columns}
        # The checks' worker ran every built-in check: its peak is the memo's whole size.
        added = median([run["rss_peak_mib"] - run["rss_loaded_mib"] for run in runs])
        rows.append((runs[0], figures, added))
        if args.profile:
            for mode in ("helpers", "checks"):
                profiles.append((size, mode, run_worker(SCRIPT, [str(directory), mode, "profile"])["profile"]))
    print()
    print(f"CPU s after load, median of {args.repeat}; target: the 11 helpers <= {HELPER_TARGET_S} s")
    print(header)
    print("-" * len(header))
    for run, figures, added in rows:
        flag = "" if figures["helpers_s"] <= HELPER_TARGET_S else "  > target"
        print(
            f"{run['objects']:>8} {run['workloads']:>9} {figures['helpers_s']:>12.2f} {figures['helpers_again_s']:>8.2f} "
            f"{figures['object_s']:>9.2f} {figures['object_again_s']:>8.2f} {figures['selection_s']:>9.2f} "
            f"{run['object_findings']:>13} {run['selection_findings']:>13} {added:>9.0f}{flag}"
        )
    for size, mode, text in profiles:
        print(f"\nprofile at {size} objects, {mode} (first round / first call):\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
