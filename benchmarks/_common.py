"""Shared plumbing of the benchmark scripts: the corpus cache, fresh-interpreter workers, medians."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"

sys.path.insert(0, str(HERE))
import corpus  # noqa: E402  (the sibling module, also run as a script)


def _corpus_version() -> str:
    """Changes whenever corpus.py changes, so a stale cached corpus is never reused."""
    return hashlib.sha256((HERE / "corpus.py").read_bytes()).hexdigest()[:10]


def ensure_corpus(
    n_objects: int, seed: int, *, workloads_only: bool, cache: Path | None
) -> tuple[Path, dict[str, Any]]:
    """The corpus directory for these parameters (generated unless cached) and its stats.

    The stats file sits beside the corpus directory, never inside it: the loader would read it.
    """
    base = cache if cache is not None else Path(os.environ.get("TMPDIR", "/tmp")) / "k8ssec-bench"
    name = f"{'workloads' if workloads_only else 'mixed'}-{n_objects}-seed{seed}-{_corpus_version()}"
    directory = base / name
    stats_file = base / f"{name}.json"
    if directory.is_dir() and stats_file.is_file():
        return directory, json.loads(stats_file.read_text())
    base.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    stats = corpus.generate(directory, n_objects, seed, workloads_only=workloads_only).as_dict()
    stats_file.write_text(json.dumps(stats, indent=2))
    print(f"  generated {directory} in {time.perf_counter() - start:.1f} s", flush=True)
    return directory, stats


def describe_corpus(stats: dict[str, Any]) -> str:
    return (
        f"{stats['objects']} objects, {stats['workloads']} workloads ({stats['problem_workloads']} with problems), "
        f"{stats['files']} files, {stats['bytes'] / 2**20:.1f} MiB ({stats['bytes_per_object'] / 1000:.2f} KB/object)"
    )


def child_env() -> dict[str, str]:
    """Environment of child interpreters: the checkout importable, whether or not it is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_worker(script: Path, args: Sequence[str]) -> dict[str, Any]:
    """Run ``script --worker ...`` in a fresh interpreter; it prints one JSON line as its last line."""
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=str(REPO),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def yaml_files(directory: Path) -> list[str]:
    """The corpus files in the order the loader walks them (sorted dirs, sorted files)."""
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(os.path.join(root, name) for name in sorted(files) if name.endswith((".yaml", ".yml")))
    return found


def parse_floor(directory: Path) -> tuple[float, list[Any]]:
    """The floor every loading figure is measured against: read each corpus file and
    ``yaml.load_all(data, Loader=yaml.CSafeLoader)`` it, keeping the documents; nothing else.
    Returns the seconds it took and the documents."""
    import yaml

    files = yaml_files(directory)
    documents: list[Any] = []
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as handle:
            data = handle.read()
        documents.extend(yaml.load_all(data, Loader=yaml.CSafeLoader))
    return time.perf_counter() - start, documents


def parse_sizes(text: Sequence[str]) -> list[int]:
    sizes: list[int] = []
    for item in text:
        item = item.lower().replace("_", "")
        factor = 1000 if item.endswith("k") else 1
        sizes.append(int(item.rstrip("k")) * factor)
    return sizes


def code_env(code: Path) -> dict[str, str]:
    """Environment of child interpreters that import the package from ``code`` (another checkout).

    ``code`` goes first on ``PYTHONPATH``: ahead of site-packages, so an installed or editable
    copy of the package does not shadow it.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [env.get("PYTHONPATH")])])
    return env


@dataclass(frozen=True)
class Measured:
    """One child process: wall seconds (interpreter start included), exit code, output, peak RSS."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    peak_rss_kib: int


def run_measured(argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> Measured:
    """Run ``argv`` to its end; its peak RSS comes from ``wait4`` on that one child.

    ``wait4`` reports the child's own rusage (with its reaped children, e.g. xdist workers, as a
    maximum), not the maximum over every child this driver ever ran, as ``RUSAGE_CHILDREN`` would.
    Output goes to files, not pipes: nothing has to read them while the child runs.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=str(cwd), env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Measured(
            seconds=elapsed,
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            peak_rss_kib=int(usage.ru_maxrss),  # Linux reports KiB
        )
