"""Settings, built once from command line, ini file and environment; every module reads them here."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from pytest_k8ssec.sources.manifests import DEFAULT_MAX_BYTES, LoadOptions, NonK8sPolicy

NON_K8S_CHOICES: Final = ("warn", "error", "ignore")
MANIFESTS_ENV: Final = "K8SSEC_MANIFESTS"
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?)?\s*$", re.IGNORECASE)


def add_options(parser: pytest.Parser) -> None:
    """Register the manifest options (group ``k8ssec``) and their ini keys."""
    group = parser.getgroup("k8ssec", "k8ssec: Kubernetes security tests (pytest-k8ssec)")
    group.addoption(
        "--k8s-manifests",
        action="append",
        default=[],
        metavar="PATH",
        help="manifests to test: a file, a directory (recursive *.yaml/*.yml/*.json; Helm charts and "
        "kustomize dirs are rendered), a glob, or - for stdin. Repeatable. ini: k8s_manifests; "
        f"env: {MANIFESTS_ENV} ({os.pathsep}-separated).",
    )
    group.addoption(
        "--k8s-non-k8s-yaml",
        choices=NON_K8S_CHOICES,
        default=None,
        help="what to do with YAML that is not a Kubernetes object in a scanned directory "
        "(e.g. a Helm values.yaml): warn and skip (default), error, or ignore. ini: k8s_non_k8s_yaml.",
    )
    group.addoption(
        "--k8s-max-manifest-size",
        default=None,
        metavar="SIZE",
        help="largest manifest file (or rendered output) to load, e.g. 64MiB (default). "
        "ini: k8s_max_manifest_size.",
    )
    parser.addini("k8s_manifests", "manifests to test (one path, directory or glob per line)", type="linelist", default=[])
    parser.addini("k8s_non_k8s_yaml", "warn | error | ignore for non-Kubernetes YAML in scanned directories", default="warn")
    parser.addini("k8s_max_manifest_size", "largest manifest file to load (bytes, or with KiB/MiB/GiB)", default="")


def parse_size(text: str) -> int:
    """``"64MiB"`` -> 67108864; plain digits are bytes. Binary units whatever the spelling."""
    match = _SIZE.match(text)
    if not match:
        raise pytest.UsageError(f"k8s_max_manifest_size: {text!r} is not a size such as 64MiB or 1048576")
    number, unit = int(match.group(1)), (match.group(2) or "").lower()
    return number * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit[:1]]


@dataclass(frozen=True)
class Settings:
    """The run's pytest-k8ssec settings."""

    manifests: tuple[str, ...]
    non_k8s: NonK8sPolicy
    max_manifest_bytes: int

    def load_options(self, stdin: bytes | None) -> LoadOptions:
        """Options for the manifest loader."""
        return LoadOptions(max_bytes=self.max_manifest_bytes, non_k8s=self.non_k8s, stdin=stdin)


def _ini_base(config: pytest.Config) -> Path:
    return config.inipath.parent if config.inipath is not None else config.rootpath


def build_settings(config: pytest.Config) -> Settings:
    """Command line wins over the ini file, which wins over the environment.

    Relative ini paths are relative to the ini file's folder, as pytest resolves its own paths.
    """
    manifests: list[str] = list(config.getoption("k8s_manifests") or [])
    if not manifests:
        base = _ini_base(config)
        ini: list[str] = config.getini("k8s_manifests")
        manifests = [spec if spec == "-" or os.path.isabs(spec) else str(base / spec) for spec in ini]
    if not manifests and os.environ.get(MANIFESTS_ENV):
        manifests = [part for part in os.environ[MANIFESTS_ENV].split(os.pathsep) if part]
    non_k8s = config.getoption("k8s_non_k8s_yaml") or config.getini("k8s_non_k8s_yaml") or "warn"
    if non_k8s not in NON_K8S_CHOICES:
        raise pytest.UsageError(f"k8s_non_k8s_yaml: {non_k8s!r} is not one of {', '.join(NON_K8S_CHOICES)}")
    size_text = config.getoption("k8s_max_manifest_size") or config.getini("k8s_max_manifest_size")
    max_bytes = parse_size(size_text) if size_text else DEFAULT_MAX_BYTES
    return Settings(tuple(manifests), non_k8s, max_bytes)  # type: ignore[arg-type]
