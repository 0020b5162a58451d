"""Issue 15's speed table in one command: every row with its target, the floor measured in the same run.

Rows (the issue's table, in its order; each is a whole measurement, each side in a fresh process):

1. parse, the floor: read each corpus file, ``list(yaml.load_all(data, Loader=yaml.CSafeLoader))``,
   documents kept. For reference also with the garbage collector paused (``gc.disable()``), as
   our loader pauses it. At every size.
2. ``pytest_k8ssec.sources.manifests.load([dir])`` alone, cold (no parse cache). <= 1.15x parse.
3. bulk, cold: one test calling the 11 privilege helpers of ``example_suites/workload_hardening``
   over ``k8s_workloads``; wall time of the whole pytest process and its peak RSS. At every size.
   <= 1.5x parse; <= 1 GB (1000 MB) peak RSS at 50k.
4. bulk, warm: the same with pytest's cache on, after one run filled the plugin's parse cache.
   <= 0.35x parse.
5. the 11 helper calls themselves, timed inside the cold bulk test. <= 0.5 s.
6. ``example_suites/workload_hardening`` per workload (``--tb=line``) vs a plugin-free run with the
   same numbers of tests and failures whose conftest parses the corpus first. <= 1.25x.
7. every built-in object and selection check (``image-vulnerable`` left out: it needs scanner
   reports), one ``assert_passes`` test each over ``k8s_inventory``, vs ``kube-score score`` on the
   same files. Ours faster.
8. row 7's suite warm, serial vs ``-n 2`` (pytest-xdist). ``-n 2`` <= 0.65x serial (the target is
   at 10k). At every size. With it, ``8 bound``: the best ``-n 2`` could do on this machine with
   this process model, ``X0 + (S - S0) / 2``: ``X0`` and ``S0`` are ``-n 2`` and serial runs of the
   same tests over the same objects that only take ``k8s_inventory`` (start-up, each process's
   load, shutdown: what a test cannot split), ``S`` the serial run; the tests' own time halved as
   if two workers shared it perfectly, nothing done twice and no core given to the controller.
9. the same suite over a 50-object corpus, cold, serial vs ``-n 2``. ``-n 2`` at most 1 s slower.

Rows 1, 3 and 8 run at every ``--sizes`` entry; the other rows at the first one (default 10k). Every
pytest run is ``python -m pytest -q`` in a temp directory that is its own rootdir (own
``pytest.ini``; ``XDG_CACHE_HOME`` inside it, so the parse cache's key never lands in the user's
home), ``-p no:cacheprovider`` unless warm, ``PYTEST_*`` and ``K8SSEC_*`` variables removed.
Sanity figures (objects, tests, failures, findings) are compared between the runs of a row and a
warning is printed when they differ. The figures are printed, never asserted.

    python benchmarks/bench_speed.py [--sizes 10k 50k] [--rows 1,2,3] [--repeat 1] [--code DIR]
                                     [--profile] [--no-peers] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from _common import (
    CACHE,
    REPO,
    Measured,
    child_env,
    code_env,
    describe_corpus,
    ensure_corpus,
    median,
    parse_floor,
    parse_sizes,
    run_measured,
    yaml_files,
)

SCRIPT = Path(__file__).resolve()
HARDENING_SUITE = REPO / "example_suites" / "workload_hardening"
KUBE_SCORE = "github.com/zegl/kube-score/cmd/kube-score"
KUBE_SCORE_VERSION = "v1.20.0"
SMALL_SET = 50  # row 9's corpus
ALL_ROWS = tuple(range(1, 10))
PACKAGE_FRAMES = f"pytest_k8ssec{os.sep}"

# --- test files written into the temp directories ---------------------------------------------

BULK_TEST = """\
import json
import time
from pathlib import Path

from pytest_k8ssec import (
    SecurityAssertionError,
    assert_capabilities,
    assert_no_host_namespaces,
    assert_no_host_path,
    assert_no_host_ports,
    assert_no_privilege_escalation,
    assert_no_service_account_token_automount,
    assert_not_privileged,
    assert_read_only_root_filesystem,
    assert_resources,
    assert_runs_as_non_root,
    assert_seccomp,
)

RESULTS = Path(__file__).parent / "results"


def test_bulk(k8s_workloads):
    w = k8s_workloads
    calls = (
        lambda: assert_not_privileged(w),
        lambda: assert_no_privilege_escalation(w),
        lambda: assert_runs_as_non_root(w),
        lambda: assert_read_only_root_filesystem(w),
        lambda: assert_capabilities(w, drop_all=True, allow=["NET_BIND_SERVICE"]),
        lambda: assert_no_host_namespaces(w),
        lambda: assert_no_host_path(w),
        lambda: assert_no_host_ports(w),
        lambda: assert_seccomp(w),
        lambda: assert_no_service_account_token_automount(w),
        lambda: assert_resources(w),
    )
    failed = findings = 0
    start = time.perf_counter()
    for call in calls:
        try:
            call()
        except SecurityAssertionError as exc:
            failed += 1
            findings += len(exc.findings)
    elapsed = time.perf_counter() - start
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bulk.json").write_text(json.dumps(
        {"helpers_s": elapsed, "helpers": len(calls), "failed": failed, "findings": findings, "workloads": len(w)}
    ))
"""

ENGINE_TEST = """\
import json
from pathlib import Path

import pytest

from pytest_k8ssec import SecurityAssertionError, assert_passes
from pytest_k8ssec.checks import CheckKind, load_builtin_checks

RESULTS = Path(__file__).parent / "results"
# image-vulnerable needs scanner reports (without them it fails closed on every container);
# requirement checks answer a question only their own helpers ask.
CHECK_IDS = [
    c.id
    for c in load_builtin_checks()
    if c.kind in (CheckKind.OBJECT, CheckKind.SELECTION) and c.id != "image-vulnerable"
]


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check(check_id, k8s_inventory):
    findings = 0
    try:
        assert_passes(check_id, k8s_inventory.objects)
    except SecurityAssertionError as exc:
        findings = len(exc.findings)
    RESULTS.mkdir(exist_ok=True)  # one file per test: xdist workers never write the same one
    (RESULTS / f"{check_id}.json").write_text(json.dumps({"findings": findings}))
"""

# Row 8's bound: the same tests over the same objects, judging nothing (what no test can split).
FIXED_TEST = """\
import pytest

from test_engine import CHECK_IDS  # row 7's suite, beside it: the same test ids


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check(check_id, k8s_inventory):
    assert k8s_inventory.objects
"""

FLOOR_CONFTEST = """\
import os

import yaml

DOCUMENTS = []


def pytest_sessionstart(session):
    # The parse our run pays, done the floor's way (row 1): every file, libyaml, documents kept.
    for root, dirs, files in os.walk({directory!r}):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(root, name), "rb") as handle:
                    DOCUMENTS.extend(yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))
"""

FLOOR_TEST = """\
import pytest

N = {tests}
F = {failures}


@pytest.mark.parametrize("i", range(N), ids=[f"test_requirement[Deployment/team-{{i % 97:03d}}/workload-{{i}}]" for i in range(N)])
def test_w(i):
    assert i >= F
"""

# --- workers (run in a fresh interpreter: `bench_speed.py --worker ...`) -----------------------


def _rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def worker_parse(directory: str, paused: bool) -> dict[str, Any]:
    if paused:
        gc.disable()
    elapsed, documents = parse_floor(Path(directory))
    return {"s": elapsed, "objects": sum(doc is not None for doc in documents), "rss_kib": _rss_kib()}


def worker_load(directory: str) -> dict[str, Any]:
    from pytest_k8ssec.sources.manifests import load

    start = time.perf_counter()
    result = load([directory])
    elapsed = time.perf_counter() - start
    return {"s": elapsed, "objects": len(result.objects), "errors": len(result.errors), "rss_kib": _rss_kib()}


def worker_probe() -> dict[str, Any]:
    """Which package the children import, and whether an entry point already loads the plugin."""
    import pytest_k8ssec

    loaded_by_entry_point = any(
        ep.value.split(":")[0] == "pytest_k8ssec.plugin" for ep in importlib.metadata.entry_points(group="pytest11")
    )
    return {
        "package_root": str(Path(pytest_k8ssec.__file__).resolve().parent.parent),
        "entry_point": loaded_by_entry_point,
    }


def worker_main(argv: list[str]) -> int:
    what, *rest = argv
    if what == "parse":
        out = worker_parse(rest[0], paused=False)
    elif what == "parse-paused":
        out = worker_parse(rest[0], paused=True)
    elif what == "load":
        out = worker_load(rest[0])
    elif what == "probe":
        out = worker_probe()
    else:
        raise SystemExit(f"unknown worker {what!r}")
    print(json.dumps(out))
    return 0


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """``ratio``: ours <= value x floor; ``max``: ours <= value; ``diff``: ours - floor <= value;
    ``faster``: ours < peer; ``none``: a reference figure."""

    kind: str
    value: float = 0.0

    def text(self, unit: str) -> str:
        if self.kind == "ratio":
            return f"<= {self.value:g}x"
        if self.kind == "max":
            return f"<= {self.value:g} {unit}"
        if self.kind == "diff":
            return f"<= +{self.value:g} {unit}"
        if self.kind == "faster":
            return "< peer"
        return "-"

    def met(self, ours: float | None, floor: float | None) -> bool | None:
        if ours is None or self.kind == "none":
            return None
        if self.kind == "max":
            return ours <= self.value
        if floor is None:
            return None
        if self.kind == "ratio":
            return ours <= self.value * floor
        if self.kind == "diff":
            return ours - floor <= self.value
        return ours < floor


@dataclass
class Row:
    row: str
    label: str
    ours: float | None
    floor: float | None
    unit: str
    target: Target
    notes: str = ""
    ratio: float | None = field(init=False)
    met: bool | None = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.ours / self.floor if self.ours is not None and self.floor else None
        self.met = self.target.met(self.ours, self.floor)

    def cells(self) -> list[str]:
        def value(x: float | None) -> str:
            if x is None:
                return "-"
            return f"{x:.0f} {self.unit}" if self.unit == "MB" else f"{x:.2f} {self.unit}"

        if self.target.kind == "diff" and self.ours is not None and self.floor is not None:
            ratio = f"{self.ours - self.floor:+.2f} {self.unit}"
        else:
            ratio = "-" if self.ratio is None else f"{self.ratio:.2f}x"
        met = {True: "yes", False: "NO", None: "-"}[self.met]
        return [
            f"{self.row} {self.label}",
            value(self.ours),
            value(self.floor),
            ratio,
            self.target.text(self.unit),
            met,
            self.notes,
        ]

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["target"] = self.target.text(self.unit)
        return out


def size_name(size: int) -> str:
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


# --- pytest runs --------------------------------------------------------------------------------

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")


@dataclass
class PytestRun:
    seconds: float
    rss_mb: float
    counts: dict[str, int]
    summary: str
    results: dict[str, Any]


class Bench:
    """What every row shares: the temp directory, the children's environment, the warnings."""

    def __init__(self, tmp: Path, code: Path | None, repeat: int) -> None:
        self.tmp = tmp
        self.repeat = repeat
        env = code_env(code) if code is not None else child_env()
        # A user's PYTEST_ADDOPTS or K8SSEC_* settings would change what is measured.
        # PYTHONDONTWRITEBYTECODE (set on some CI boxes) would make every child compile, and
        # pytest assertion-rewrite, the whole package again: a fixed cost per process that no
        # installed copy pays. Children write bytecode, and a warm-up run below fills it.
        self.env = {
            k: v for k, v in env.items() if not k.startswith(("PYTEST_", "K8SSEC_")) and k != "PYTHONDONTWRITEBYTECODE"
        }
        self.warnings: list[str] = []
        self.probe = self.worker(["probe"])
        self.plugin = [] if self.probe["entry_point"] else ["-p", "pytest_k8ssec.plugin"]
        self.warm_up()

    def warm_up(self) -> None:
        """Write the package's bytecode and pytest's assertion-rewritten modules once, as an
        installed package has them, so the first measured run does not pay for compiling."""
        directory = self.workdir("warm-up", {"test_nothing.py": "def test_nothing():\n    pass\n"})
        argv = [sys.executable, "-m", "pytest", "-q", f"--rootdir={directory}", *self.plugin]
        run_measured(argv, cwd=directory, env={**self.env, "XDG_CACHE_HOME": str(directory / "xdg")})

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        print(f"  WARNING: {text}", flush=True)

    def same(self, what: str, values: dict[str, Any]) -> None:
        """Warn unless every run being compared shows the same sanity figure."""
        if len({json.dumps(v, sort_keys=True) for v in values.values()}) > 1:
            self.warn(f"{what} differ: " + ", ".join(f"{name} {value}" for name, value in values.items()))

    def worker(self, args: list[str]) -> dict[str, Any]:
        done = run_measured([sys.executable, str(SCRIPT), "--worker", *args], cwd=REPO, env=self.env)
        if done.returncode != 0:
            raise RuntimeError(f"worker {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def workdir(self, name: str, files: dict[str, str]) -> Path:
        directory = self.tmp / name
        directory.mkdir()
        (directory / "pytest.ini").write_text("[pytest]\n")
        for file_name, text in files.items():
            (directory / file_name).write_text(text)
        return directory

    def pytest(
        self,
        workdir: Path,
        args: list[str],
        *,
        warm: bool = False,
        plugin: bool = True,
        profile: Path | None = None,
        expect: tuple[int, ...] = (0,),
    ) -> PytestRun:
        """One whole ``python -m pytest`` process: wall time, peak RSS, outcome counts, results files."""
        shutil.rmtree(workdir / "results", ignore_errors=True)
        prefix = [sys.executable, *(["-m", "cProfile", "-o", str(profile)] if profile else [])]
        argv = [
            *prefix,
            "-m",
            "pytest",
            "-q",
            *([] if warm else ["-p", "no:cacheprovider"]),
            f"--rootdir={workdir}",
            *(self.plugin if plugin else ["-p", "no:k8ssec"]),
            *args,
        ]
        env = {**self.env, "XDG_CACHE_HOME": str(workdir / "xdg")}
        done: Measured = run_measured(argv, cwd=workdir, env=env)
        lines = done.stdout.strip().splitlines()
        summary = lines[-1] if lines else ""
        counts = {word.rstrip("s") if word.startswith("error") else word: int(n) for n, word in _COUNT.findall(summary)}
        if done.returncode not in expect or not counts:
            raise RuntimeError(
                f"pytest {' '.join(args)} in {workdir} exited {done.returncode} (expected {expect}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        results: dict[str, Any] = {}
        if (workdir / "results").is_dir():
            results = {p.stem: json.loads(p.read_text()) for p in sorted((workdir / "results").glob("*.json"))}
        return PytestRun(done.seconds, done.peak_rss_kib * 1024 / 1e6, counts, summary, results)

    def fill_parse_cache(self, workdir: Path, args: list[str]) -> None:
        """A first run with pytest's cache on; warn if it left no parse cache entry (a warm row would measure a cold run)."""
        self.pytest(workdir, args, warm=True)
        entries = workdir / ".pytest_cache" / "d" / "k8ssec-parsed-manifests"
        if not (entries.is_dir() and any(entries.iterdir())):
            self.warn(f"the run that should fill the parse cache left nothing in {entries}: the warm rows are cold")

    def repeated(self, *sides: Callable[[], Any]) -> list[list[Any]]:
        """Each side ``repeat`` times, interleaved (a, b, a, b): a noisy neighbour hurts every side alike."""
        runs: list[list[Any]] = [[] for _ in sides]
        for _ in range(self.repeat):
            for out, side in zip(runs, sides):
                out.append(side())
        return runs


def _seconds(runs: list[Any]) -> float:
    return median([r.seconds if isinstance(r, PytestRun) else r["s"] for r in runs])


def _engine_findings(run: PytestRun) -> int:
    return sum(int(r["findings"]) for r in run.results.values())


def _outcomes(run: PytestRun) -> dict[str, int]:
    return {k: v for k, v in run.counts.items() if k != "deselected"}


# --- kube-score -------------------------------------------------------------------------------


def kube_score_binary() -> tuple[Path | None, str]:
    """kube-score v1.20.0 under benchmarks/.cache/bin, built with ``go install`` when missing."""
    bin_dir = CACHE / "bin"
    binary = bin_dir / "kube-score"
    go = shutil.which("go")
    if binary.is_file() and go is not None:
        # `go version -m` reads the module version the binary was built from.
        info = subprocess.run([go, "version", "-m", str(binary)], capture_output=True, text=True, check=False).stdout
        if f"\tmod\tgithub.com/zegl/kube-score\t{KUBE_SCORE_VERSION}\t" in info:
            return binary, f"{binary} ({KUBE_SCORE_VERSION})"
        print(f"  {binary} is not kube-score {KUBE_SCORE_VERSION}: rebuilding", flush=True)
    elif binary.is_file():
        return binary, f"{binary} (version not checked: no go)"
    if go is None:
        return (
            None,
            "skipped: `go` is not on PATH, so kube-score cannot be built (install Go, or put a kube-score binary there)",
        )
    bin_dir.mkdir(parents=True, exist_ok=True)
    print(f"  building kube-score: GOBIN={bin_dir} go install {KUBE_SCORE}@{KUBE_SCORE_VERSION}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run(
        [go, "install", f"{KUBE_SCORE}@{KUBE_SCORE_VERSION}"],
        env={**os.environ, "GOBIN": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0 or not binary.is_file():
        return None, f"skipped: `go install` failed after {took:.0f} s: {proc.stderr.strip()[-500:]}"
    print(f"  built kube-score in {took:.1f} s", flush=True)
    return binary, f"{binary} ({KUBE_SCORE_VERSION}, built in this run in {took:.1f} s)"


def run_kube_score(binary: Path, files: list[str], cwd: Path) -> dict[str, Any]:
    done = run_measured([str(binary), "score", *files], cwd=cwd, env=dict(os.environ))
    # It exits 1 when it has findings; anything else is a failure to score.
    if done.returncode not in (0, 1):
        raise RuntimeError(f"kube-score exited {done.returncode}: {done.stderr[-2000:]}")
    # Its human output opens each scored object with an unindented line ("apps/v1/Deployment web in shop").
    scored = sum(1 for line in done.stdout.splitlines() if line and not line[0].isspace())
    return {"s": done.seconds, "scored": scored, "bytes": len(done.stdout), "rss_mb": done.peak_rss_kib * 1024 / 1e6}


# --- rows ---------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, bench: Bench, rows: set[int]) -> tuple[list[Row], dict[str, Any]]:
    cache = None if args.no_cache else CACHE
    sizes = parse_sizes(args.sizes)
    main_size = sizes[0]
    corpora: dict[int, tuple[Path, dict[str, Any]]] = {}

    def corpus(size: int) -> tuple[Path, dict[str, Any]]:
        if size not in corpora:
            corpora[size] = ensure_corpus(size, args.seed, workloads_only=False, cache=cache)
            print(f"  corpus {size_name(size)}: {describe_corpus(corpora[size][1])}", flush=True)
        return corpora[size]

    out: list[Row] = []
    extra: dict[str, Any] = {}
    parse: dict[int, float] = {}
    parse_rss: dict[int, float] = {}
    bulk_dir = bench.workdir("bulk", {"test_bulk.py": BULK_TEST})
    bulk_cold: dict[int, list[PytestRun]] = {}

    # Rows 1-5: per size, the floor and the rows compared with it, interleaved.
    for size in sizes:
        is_main = size == main_size
        wants_parse = bool(rows & {1, 3}) or (is_main and bool(rows & {2, 4}))
        wants_bulk = 3 in rows or (is_main and bool(rows & {4, 5}))
        wants_load = is_main and 2 in rows
        if not (wants_parse or wants_bulk or wants_load):
            continue
        directory, stats = corpus(size)
        name = size_name(size)
        print(f"rows 1-5 at {name}", flush=True)
        sides: list[Callable[[], Any]] = []
        if wants_parse:
            sides.append(partial(bench.worker, ["parse", str(directory)]))
            sides.append(partial(bench.worker, ["parse-paused", str(directory)]))
        if wants_load:
            sides.append(partial(bench.worker, ["load", str(directory)]))
        if wants_bulk:
            sides.append(partial(bench.pytest, bulk_dir, [f"--k8s-manifests={directory}", "test_bulk.py"]))
        runs = bench.repeated(*sides)
        if wants_parse:
            floor_runs, paused_runs = runs[0], runs[1]
            parse[size] = _seconds(floor_runs)
            parse_rss[size] = max(r["rss_kib"] for r in floor_runs) * 1024 / 1e6
            bench.same(f"documents parsed at {name}", {"parse": floor_runs[0]["objects"], "corpus": stats["objects"]})
            out.append(Row("1", f"parse, the floor ({name})", parse[size], None, "s", Target("none")))
            out.append(
                Row(
                    "1",
                    f"parse, collector paused ({name})",
                    _seconds(paused_runs),
                    parse[size],
                    "s",
                    Target("none"),
                    "reference: our loader pauses the collector",
                )
            )
        if wants_load:
            load_runs = runs[2 if wants_parse else 0]
            bench.same(
                f"objects at {name}",
                {"corpus": stats["objects"], **{f"load() {i + 1}": r["objects"] for i, r in enumerate(load_runs)}},
            )
            if 2 in rows:
                out.append(
                    Row(
                        "2",
                        f"load() alone, cold ({name})",
                        _seconds(load_runs),
                        parse.get(size),
                        "s",
                        Target("ratio", 1.15),
                        f"{load_runs[0]['objects']} objects",
                    )
                )
        if wants_bulk:
            cold = runs[-1]
            bulk_cold[size] = cold
            bench.same(
                f"bulk cold runs at {name}",
                {f"run {i + 1}": [_outcomes(r), r.results.get("bulk", {}).get("findings")] for i, r in enumerate(cold)},
            )
            bench.same(
                f"workloads at {name}",
                {"corpus": stats["workloads"], "k8s_workloads": cold[0].results.get("bulk", {}).get("workloads")},
            )
            first = cold[0].results.get("bulk", {})
            note = f"{first.get('failed')}/11 helpers failing, {first.get('findings')} findings"
            if 3 in rows:
                out.append(
                    Row(
                        "3",
                        f"bulk, cold, whole run ({name})",
                        _seconds(cold),
                        parse.get(size),
                        "s",
                        Target("ratio", 1.5),
                        note,
                    )
                )
                out.append(
                    Row(
                        "3",
                        f"bulk, cold, peak RSS ({name})",
                        max(r.rss_mb for r in cold),
                        parse_rss.get(size),
                        "MB",
                        Target("max", 1000),
                        "target set for 50k; floor: the parse's RSS",
                    )
                )
            if is_main and 5 in rows:
                helpers = median([float(r.results["bulk"]["helpers_s"]) for r in cold])
                out.append(
                    Row("5", f"the 11 helpers themselves ({name})", helpers, None, "s", Target("max", 0.5), note)
                )
            if is_main and 4 in rows:
                # A first run with the cache on fills the parse cache; the measured runs read it back.
                manifests = [f"--k8s-manifests={directory}", "test_bulk.py"]
                bench.fill_parse_cache(bulk_dir, manifests)
                warm = bench.repeated(partial(bench.pytest, bulk_dir, manifests, warm=True))[0]
                bench.same(
                    f"bulk cold vs warm at {name}",
                    {
                        "cold": [_outcomes(cold[0]), cold[0].results.get("bulk", {}).get("findings")],
                        **{
                            f"warm {i + 1}": [_outcomes(r), r.results.get("bulk", {}).get("findings")]
                            for i, r in enumerate(warm)
                        },
                    },
                )
                out.append(
                    Row(
                        "4",
                        f"bulk, warm, whole run ({name})",
                        _seconds(warm),
                        parse.get(size),
                        "s",
                        Target("ratio", 0.35),
                        note,
                    )
                )

    name = size_name(main_size)
    if 6 in rows:
        directory, _ = corpus(main_size)
        print(f"row 6 at {name}", flush=True)
        suite = bench.workdir(
            "hardening",
            {
                "conftest.py": (HARDENING_SUITE / "conftest.py").read_text(),
                "test_workload_hardening.py": (HARDENING_SUITE / "test_workload_hardening.py").read_text(),
            },
        )
        ours_args = ["--tb=line", f"--k8s-manifests={directory}", "test_workload_hardening.py"]
        first = bench.pytest(suite, ours_args, expect=(0, 1))
        tests, failures = sum(_outcomes(first).values()), first.counts.get("failed", 0)
        floor_dir = bench.workdir(
            "floor6",
            {
                "conftest.py": FLOOR_CONFTEST.format(directory=str(directory)),
                "test_floor.py": FLOOR_TEST.format(tests=tests, failures=failures),
            },
        )
        # The run that counted the tests is the first of ours: ours, floor, ours, floor...
        ours, floor = [first], []
        for i in range(bench.repeat):
            floor.append(bench.pytest(floor_dir, ["--tb=line", "test_floor.py"], plugin=False, expect=(0, 1)))
            if i + 1 < bench.repeat:
                ours.append(bench.pytest(suite, ours_args, expect=(0, 1)))
        bench.same(
            f"row 6 outcomes at {name}",
            {
                **{f"ours {i + 1}": _outcomes(r) for i, r in enumerate(ours)},
                **{f"floor {i + 1}": _outcomes(r) for i, r in enumerate(floor)},
            },
        )
        out.append(
            Row(
                "6",
                f"per workload, --tb=line ({name})",
                _seconds(ours),
                _seconds(floor),
                "s",
                Target("ratio", 1.25),
                f"{tests} tests, {failures} failed; floor: plugin-free, same counts, + parse",
            )
        )

    engine_dir: Path | None = None
    engine_findings: int | None = None
    if 7 in rows:
        directory, _ = corpus(main_size)
        print(f"row 7 at {name}", flush=True)
        engine_dir = bench.workdir("engine", {"test_engine.py": ENGINE_TEST})
        engine_args = [f"--k8s-manifests={directory}", "test_engine.py"]
        binary, how = (None, "skipped: --no-peers") if args.no_peers else kube_score_binary()
        extra["kube_score"] = how
        print(f"  kube-score: {how}", flush=True)
        engine_sides: list[Callable[[], Any]] = [partial(bench.pytest, engine_dir, engine_args)]
        if binary is not None:
            engine_sides.append(partial(run_kube_score, binary, yaml_files(directory), bench.tmp))
        runs = bench.repeated(*engine_sides)
        ours = runs[0]
        engine_findings = _engine_findings(ours[0])
        bench.same(
            f"row 7 runs at {name}",
            {f"ours {i + 1}": [_outcomes(r), _engine_findings(r)] for i, r in enumerate(ours)},
        )
        checks = len(ours[0].results)
        if checks != sum(_outcomes(ours[0]).values()):
            bench.warn(f"row 7: {checks} results files for {sum(_outcomes(ours[0]).values())} tests")
        note = f"{checks} checks, {engine_findings} findings"
        peer = None
        if binary is not None:
            scored = [r["scored"] for r in runs[1]]
            peer = _seconds(runs[1])
            note += f"; kube-score scored {scored[0]} objects ({runs[1][0]['bytes'] / 2**20:.1f} MiB of output)"
            if not scored[0]:
                bench.warn("kube-score scored no object: its figure measures nothing")
            bench.same("kube-score objects scored", {f"run {i + 1}": s for i, s in enumerate(scored)})
        else:
            note += f"; kube-score {how}"
        out.append(
            Row(
                "7",
                f"every built-in check, cold, vs kube-score ({name})",
                _seconds(ours),
                peer,
                "s",
                Target("faster"),
                note,
            )
        )

    xdist = _xdist_version()
    if rows & {8, 9} and xdist is None:
        bench.warn("pytest-xdist is not installed: rows 8 and 9 are skipped")
        rows = rows - {8, 9}
    for size in sizes if 8 in rows else []:
        # At every size: the suite's fixed costs per process (start-up, each worker's load) weigh
        # less as the corpus grows.
        directory, _ = corpus(size)
        size_label = size_name(size)
        print(f"row 8 at {size_label}", flush=True)
        if engine_dir is None:
            engine_dir = bench.workdir("engine", {"test_engine.py": ENGINE_TEST})
        (engine_dir / "test_fixed.py").write_text(FIXED_TEST)
        engine_args = [f"--k8s-manifests={directory}", "test_engine.py"]
        fixed_args = [f"--k8s-manifests={directory}", "test_fixed.py"]
        bench.fill_parse_cache(engine_dir, engine_args)
        serial, parallel, fixed_serial, fixed_parallel = bench.repeated(
            partial(bench.pytest, engine_dir, engine_args, warm=True),
            partial(bench.pytest, engine_dir, ["-n", "2", *engine_args], warm=True),
            partial(bench.pytest, engine_dir, fixed_args, warm=True),
            partial(bench.pytest, engine_dir, ["-n", "2", *fixed_args], warm=True),
        )
        compared = {
            **{f"serial {i + 1}": [_outcomes(r), _engine_findings(r)] for i, r in enumerate(serial)},
            **{f"-n 2 run {i + 1}": [_outcomes(r), _engine_findings(r)] for i, r in enumerate(parallel)},
        }
        if engine_findings is not None and size == main_size:
            compared["row 7 (cold)"] = [_outcomes(serial[0]), engine_findings]
        bench.same(f"row 8 serial vs -n 2 at {size_label}", compared)
        out.append(
            Row(
                "8",
                f"xdist, warm, -n 2 vs serial ({size_label})",
                _seconds(parallel),
                _seconds(serial),
                "s",
                Target("ratio", 0.65),
                f"{sum(_outcomes(parallel[0]).values())} tests, {_engine_findings(parallel[0])} findings",
            )
        )
        fixed_x, fixed_s = _seconds(fixed_parallel), _seconds(fixed_serial)
        out.append(
            Row(
                "8",
                f"bound: -n 2's fixed costs + half the serial tests ({size_label})",
                fixed_x + (_seconds(serial) - fixed_s) / 2,
                _seconds(serial),
                "s",
                Target("none"),
                f"fixed costs: -n 2 {fixed_x:.2f} s, serial {fixed_s:.2f} s",
            )
        )
    if 9 in rows:
        directory, _ = corpus(SMALL_SET)
        print(f"row 9 at {SMALL_SET} objects", flush=True)
        small_dir = bench.workdir("engine-small", {"test_engine.py": ENGINE_TEST})
        small_args = [f"--k8s-manifests={directory}", "test_engine.py"]
        serial, parallel = bench.repeated(
            lambda: bench.pytest(small_dir, small_args),
            lambda: bench.pytest(small_dir, ["-n", "2", *small_args]),
        )
        bench.same(
            "row 9 serial vs -n 2",
            {
                **{f"serial {i + 1}": [_outcomes(r), _engine_findings(r)] for i, r in enumerate(serial)},
                **{f"-n 2 run {i + 1}": [_outcomes(r), _engine_findings(r)] for i, r in enumerate(parallel)},
            },
        )
        out.append(
            Row(
                "9",
                f"xdist, cold, -n 2 vs serial ({SMALL_SET} objects)",
                _seconds(parallel),
                _seconds(serial),
                "s",
                Target("diff", 1.0),
                f"{sum(_outcomes(parallel[0]).values())} tests, {_engine_findings(parallel[0])} findings",
            )
        )

    if args.profile:
        directory, _ = corpus(main_size)
        extra["profile"] = profile(bench, bulk_dir, directory, args.top)
    out.sort(key=lambda r: int(r.row))  # stable: sizes keep their order within a row
    return out, extra


def profile(bench: Bench, bulk_dir: Path, directory: Path, top: int) -> dict[str, Any]:
    """cProfile of the cold bulk run's whole pytest process; top functions by own and cumulative time."""
    import pstats

    commit = bench.probe.get("commit", "unknown")
    out = CACHE / f"bench_speed-{commit}.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    run = bench.pytest(bulk_dir, [f"--k8s-manifests={directory}", "test_bulk.py"], profile=out)
    print(
        f"\ncProfile of the cold bulk run over {directory.name} ({run.seconds:.1f} s under the profiler; saved to {out}):"
    )
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(top)
    # By cumulative time pytest's own frames (runpy, main, hooks) fill the top: the package's
    # functions are the ones that say where the time goes.
    print(f"by cumulative time, functions of the package ({PACKAGE_FRAMES}):")
    stats.sort_stats("cumulative").print_stats(PACKAGE_FRAMES, top)
    entries = stats.stats  # type: ignore[attr-defined]

    def best(index: int, package_only: bool = False) -> list[dict[str, Any]]:
        chosen = [item for item in entries.items() if not package_only or PACKAGE_FRAMES in item[0][0]]
        ranked = sorted(chosen, key=lambda item: item[1][index], reverse=True)[:top]
        return [
            {
                "function": f"{func[2]} ({func[0]}:{func[1]})",
                "calls": value[1],
                "own_s": value[2],
                "cumulative_s": value[3],
            }
            for func, value in ranked
        ]

    return {
        "file": str(out),
        "seconds": run.seconds,
        "by_own_time": best(2),
        "by_cumulative_time": best(3, package_only=True),
    }


# --- driver -------------------------------------------------------------------------------------


def _xdist_version() -> str | None:
    try:
        return importlib.metadata.version("pytest-xdist")
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit(directory: Path) -> str:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{commit}+dirty" if commit != "unknown" and git("status", "--porcelain", "--untracked-files=no") else commit


def header(bench: Bench, code: Path) -> dict[str, Any]:
    import pytest
    import yaml

    meta = {
        "python": sys.version.split()[0],
        "pyyaml": importlib.metadata.version("PyYAML"),
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "pytest": pytest.__version__,
        "xdist": _xdist_version(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "code": str(code),
        "commit": _git_commit(code),
        "imported_from": bench.probe["package_root"],
        "plugin_loaded_by": "-p pytest_k8ssec.plugin" if bench.plugin else "its pytest11 entry point",
        "driver_commit": _git_commit(REPO),
    }
    bench.probe["commit"] = meta["commit"]
    print(
        f"Python {meta['python']}; PyYAML {meta['pyyaml']} ({'with' if meta['libyaml'] else 'WITHOUT'} libyaml); "
        f"pytest {meta['pytest']}; pytest-xdist {meta['xdist'] or 'not installed'}; "
        f"{meta['cpus']} CPUs ({meta['cpus_usable']} usable)"
    )
    print(
        f"measuring {code} at {meta['commit']} (children import pytest_k8ssec from {meta['imported_from']}; "
        f"plugin loaded by {meta['plugin_loaded_by']}); driver and corpus from {REPO} at {meta['driver_commit']}",
        flush=True,
    )
    if Path(meta["imported_from"]) != code.resolve():
        bench.warn(f"the children import pytest_k8ssec from {meta['imported_from']}, not from {code}")
    if not meta["libyaml"]:
        bench.warn("PyYAML has no libyaml: the floor (CSafeLoader) cannot run")
    return meta


def print_table(rows: list[Row], repeat: int) -> None:
    head = ["row", "ours", "floor/peer", "ratio", "target", "met", "sanity / notes"]
    cells = [head, *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(head) - 1)]
    print()
    print(f"issue 15 (wall s; {'one run each' if repeat == 1 else f'medians of {repeat}'}):")
    for i, line in enumerate(cells):
        print(
            " | ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths)))
            + f" | {line[-1]}"
        )
        if i == 0:
            print("-+-".join("-" * w for w in widths) + "-+-" + "-" * 14)


def parse_rows(text: str) -> set[int]:
    rows = {int(item) for item in text.replace(" ", "").split(",") if item}
    unknown = rows - set(ALL_ROWS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown rows {sorted(unknown)}: rows are 1-9")
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["10k", "50k"],
        help="object counts; rows 1, 3 and 8 at each, the others at the first",
    )
    parser.add_argument(
        "--rows", type=parse_rows, default=set(ALL_ROWS), help="rows to measure, e.g. 1,2,3 (default all)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement, interleaved; medians are shown")
    parser.add_argument("--code", type=Path, help="measure the package of another checkout (its folder)")
    parser.add_argument("--profile", action="store_true", help="cProfile the cold bulk run at the first size")
    parser.add_argument("--top", type=int, default=5, help="functions shown by --profile")
    parser.add_argument("--no-peers", action="store_true", help="do not build or run kube-score")
    parser.add_argument("--json", type=Path, help="also write the table (and the profile's top) to this file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-cache", action="store_true", help="generate corpora in a temp dir instead of benchmarks/.cache"
    )
    args = parser.parse_args(argv)
    code = (args.code or REPO).resolve()
    with tempfile.TemporaryDirectory(prefix="k8ssec-bench-speed-") as tmp:
        bench = Bench(Path(tmp), code if args.code else None, args.repeat)
        meta = header(bench, code)
        rows, extra = measure(args, bench, set(args.rows))
    print_table(rows, args.repeat)
    if bench.warnings:
        print("\nwarnings:")
        for text in bench.warnings:
            print(f"  - {text}")
    if args.json:
        document = {
            "meta": {**meta, "argv": argv, "repeat": args.repeat},
            "rows": [r.as_json() for r in rows],
            "warnings": bench.warnings,
            **extra,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"\ntable written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
