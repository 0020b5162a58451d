"""Helm charts and kustomizations: rendered by their own tool (never parsed raw), with errors that
name the tool and never echo the inputs' values, and rendered documents traced back to templates."""

from __future__ import annotations

import bisect
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.credentials import leaf_values, scrub
from pytest_k8ssec.model.objects import Provenance
from pytest_k8ssec.sources.manifests.options import DEFAULT_MAX_BYTES, LoadOptions, _check_size
from pytest_k8ssec.sources.manifests.paths import CHART_FILE, KUSTOMIZATION_FILES

RENDER_TIMEOUT_S = 300


class ToolMissingError(ManifestError):
    """A Helm chart or kustomize directory was given but its renderer is not installed."""


def _run_renderer(argv: list[str], what: str, options: LoadOptions) -> bytes:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ManifestError(f"{what}: `{' '.join(argv)}` did not finish in {RENDER_TIMEOUT_S} s") from None
    except OSError as exc:  # found on PATH but not runnable (permissions, wrong architecture)
        raise ManifestError(f"{what}: cannot run `{argv[0]}`: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()[-2000:]
        raise ManifestError(
            f"{what}: `{' '.join(argv)}` failed (exit {proc.returncode}): {scrub(stderr, _input_values(what))}"
        )
    _check_size(len(proc.stdout), f"{what} (rendered)", options)
    return proc.stdout


def _render_helm(chart: str, options: LoadOptions) -> bytes:
    helm = shutil.which("helm")
    if helm is None:
        raise ToolMissingError(
            f"{chart}: holds {CHART_FILE}, a Helm chart, but `helm` is not on PATH. Install Helm "
            "(https://helm.sh/docs/intro/install/, or `go install helm.sh/helm/v3/cmd/helm@latest`), "
            f"or render it yourself: `helm template {chart} > rendered.yaml` and pass that file."
        )
    release = options.helm_release or release_name(chart)
    return _run_renderer([helm, "template", release, chart], chart, options)


# Helm's own rule for release names (pkg/chartutil: a DNS-1123 subdomain of at most 53 characters).
HELM_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HELM_RELEASE_MAX = 53


def release_name(chart: str) -> str:
    """A release name Helm accepts, from the chart's folder: ``my_chart`` and ``MyChart`` are
    refused as they are (``invalid release name``), ``my-chart`` and ``mychart`` are not."""
    name = re.sub(r"[^a-z0-9]+", "-", Path(chart).resolve().name.lower())
    return name[:HELM_RELEASE_MAX].strip("-") or "release"


def _render_kustomize(directory: str, options: LoadOptions) -> bytes:
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return _run_renderer([kustomize, "build", directory], directory, options)
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return _run_renderer([kubectl, "kustomize", directory], directory, options)
    raise ToolMissingError(
        f"{directory}: holds a kustomization, but neither `kustomize` nor `kubectl` is on PATH. "
        "Install kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl, "
        f"or render it yourself: `kustomize build {directory} > rendered.yaml` and pass that file."
    )


def _input_values(directory: str) -> list[str]:
    """The values a renderer's error may echo (issue 12 item 17: Helm ``fail()`` messages, kustomize's
    ``invalid literal source DB_PASSWORD:...``): every leaf of the chart's ``values.yaml`` and of the
    kustomization, so that ``scrub`` can take them out of the message."""
    found: list[str] = []
    for name in ("values.yaml", *KUSTOMIZATION_FILES):
        try:
            with open(os.path.join(directory, name), "rb") as handle:
                document = yaml.safe_load(handle.read(DEFAULT_MAX_BYTES))
        except (OSError, yaml.YAMLError):
            continue  # an unreadable input file: the renderer's own error says so
        found.extend(leaf_values(document, skip=("apiVersion", "kind", "resources", "bases", "components")))
    return found


_HELM_SOURCE = re.compile(r"^# Source: (.+?)\s*$", re.MULTILINE)


def _helm_sources(text: str, where: Provenance) -> list[tuple[int, str]]:
    """``(line, template file)`` of every ``# Source:`` comment in ``helm template`` output, in order.

    Indexed once per output: looking back from every document would be quadratic in big charts.
    """
    if not (where.via or "").startswith("helm"):
        return []
    found: list[tuple[int, str]] = []
    line, counted = 1, 0
    for match in _HELM_SOURCE.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        # "<chart>/templates/x.yaml" -> "<chart dir>/templates/x.yaml"
        _, _, rest = match.group(1).partition("/")
        found.append((line, os.path.join(where.source, rest) if rest else match.group(1)))
    return found


def _helm_source(sources: list[tuple[int, str]], line: int) -> str | None:
    """The template named by the last ``# Source:`` comment above ``line``."""
    index = bisect.bisect_left(sources, (line, "")) - 1
    return sources[index][1] if index >= 0 else None
