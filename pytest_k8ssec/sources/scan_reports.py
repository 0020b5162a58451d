"""Scan report files: Trivy and Grype JSON reports read from disk, parsed by ``model.scan_reports``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Union

from pytest_k8ssec.model.scan_reports import ScanReport, ScanReportError, parse_report

ReportPath = Union[str, "os.PathLike[str]"]
ReportPaths = Union[ReportPath, Iterable[ReportPath]]


def _report_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise ScanReportError(f"report directory {path} holds no .json report")
        return files
    if not path.exists():
        raise ScanReportError(f"report {path} does not exist")
    return [path]


def read_report(path: ReportPath) -> ScanReport:
    """Read one Trivy or Grype JSON report file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanReportError(f"report {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScanReportError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return parse_report(data, str(path))


def load_reports(report: ReportPaths) -> tuple[ScanReport, ...]:
    """Every report in ``report``: a file, a directory of ``*.json`` reports, or a list of either.

    A directory is read one level deep; every ``.json`` file in it must be a Trivy or Grype image
    report (fail closed: a stray file is an error, not a skipped report).
    """
    paths = [report] if isinstance(report, (str, os.PathLike)) else list(report)
    if not paths:
        raise ScanReportError("no scan report given (report=[]); pass a report file or directory")
    files: dict[Path, None] = {}
    for entry in paths:
        if not isinstance(entry, (str, os.PathLike)):
            raise TypeError(f"report paths must be str or os.PathLike, not {type(entry).__name__}")
        for file in _report_files(Path(entry)):
            files.setdefault(file, None)
    return tuple(read_report(file) for file in files)
