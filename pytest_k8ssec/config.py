"""Settings, built once from command line, ini file and environment; every module reads them here."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from pytest_k8ssec.sources.cluster_options import DEFAULT_PAGE_SIZE, DEFAULT_TIMEOUT_S, ClusterOptions
from pytest_k8ssec.sources.default_roles import default_versions
from pytest_k8ssec.sources.manifests import (
    DEFAULT_MAX_BYTES,
    HELM_RELEASE_MAX,
    HELM_RELEASE_NAME,
    LoadOptions,
    NonK8sPolicy,
)

NON_K8S_CHOICES: Final = ("warn", "error", "ignore")
MANIFESTS_ENV: Final = "K8SSEC_MANIFESTS"
DEFAULT_DELETE_WAIT_S: Final = 30.0
# A namespace name is a DNS-1123 label.
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?)?\s*$", re.IGNORECASE)


def add_options(parser: pytest.Parser) -> None:
    """Register the options (group ``k8ssec``) and their ini keys."""
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
        "--k8s-exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave paths out of directory scans and --k8s-manifests patterns (repeatable). A GLOB "
        "without '/' matches a file or folder name at any depth ('*.tpl.yaml', 'examples'); one with "
        "'/' matches the path relative to the scanned folder (or the fixed leading folders of a "
        "pattern) and the path as given ('deploy/legacy/**'); '**' spans folders. Files named "
        "explicitly are always loaded. ini: k8s_exclude.",
    )
    group.addoption(
        "--k8s-helm-release",
        default=None,
        metavar="NAME",
        help="release name Helm charts are rendered as (default: the chart's folder name made a "
        "valid release name, e.g. my_chart -> my-chart). ini: k8s_helm_release.",
    )
    group.addoption(
        "--k8s-non-k8s-yaml",
        choices=NON_K8S_CHOICES,
        default=None,
        help="what to do with YAML that is not a Kubernetes object in a scanned directory "
        "(e.g. a Helm values.yaml): warn and skip (default), error (a failing k8ssec::manifests[FILE] "
        "test, the rest is still judged), or ignore. ini: k8s_non_k8s_yaml.",
    )
    group.addoption(
        "--k8s-max-manifest-size",
        default=None,
        metavar="SIZE",
        help="largest manifest file (or rendered output) to load, e.g. 64MiB (default). ini: k8s_max_manifest_size.",
    )
    group.addoption(
        "--k8s-context",
        action="append",
        default=[],
        metavar="NAME",
        help="a kubeconfig context to test live; repeatable, every context is a target and tests "
        "that use target fixtures run once per target. ini: k8s_contexts.",
    )
    group.addoption(
        "--k8ssec-kubeconfig",
        default=None,
        metavar="PATH",
        help="kubeconfig file(s) for --k8s-context (default: $KUBECONFIG, files merged as kubectl "
        "merges them, else ~/.kube/config). ini: k8ssec_kubeconfig.",
    )
    group.addoption(
        "--k8s-in-cluster",
        action="store_true",
        default=None,
        help="test the cluster this run is in (the pod's service-account token) as target 'in-cluster'. "
        "ini: k8s_in_cluster.",
    )
    group.addoption(
        "--k8s-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="read only these namespaces (repeatable): live targets list only them, manifests keep only "
        "objects in them (cluster-scoped objects stay). ini: k8s_namespaces.",
    )
    group.addoption(
        "--k8s-exclude-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="leave these namespaces out (repeatable), on live targets and manifests alike. "
        "ini: k8s_exclude_namespaces.",
    )
    group.addoption(
        "--k8s-default-namespace",
        default=None,
        metavar="NS",
        help="manifests: the namespace of namespaced objects that declare none, as `kubectl apply -n NS` "
        "gives them (default: default). ini: k8s_default_namespace.",
    )
    group.addoption(
        "--k8s-request-timeout",
        default=None,
        metavar="SECONDS",
        help=f"live targets: bound on one whole API request, connect, headers and body (default {DEFAULT_TIMEOUT_S:g}). ini: k8s_request_timeout.",
    )
    group.addoption(
        "--k8s-page-size",
        default=None,
        metavar="N",
        help=f"live targets: objects per list page (default {DEFAULT_PAGE_SIZE}). ini: k8s_page_size.",
    )
    group.addoption(
        "--k8s-keep-namespaces",
        action="store_true",
        default=None,
        help="keep the namespaces k8s_namespace created (for debugging). ini: k8s_keep_namespaces.",
    )
    group.addoption(
        "--k8s-namespace-delete-timeout",
        default=None,
        metavar="SECONDS",
        help=f"how long the end of the run waits for the namespaces k8s_namespace deleted to be gone "
        f"before warning about each one still Terminating, with the cause (default {DEFAULT_DELETE_WAIT_S:g}; "
        "0 does not wait). ini: k8s_namespace_delete_timeout.",
    )
    group.addoption(
        "--k8s-rbac-defaults",
        default=None,
        metavar="VERSION",
        help="manifest targets: the Kubernetes version whose default ClusterRoles (admin, edit, view, "
        "system:*) bindings resolve to, e.g. 1.37; 'latest' (default) is the newest shipped, 'none' adds "
        "none. Live targets list their own. ini: k8s_rbac_defaults.",
    )
    group.addoption(
        "--k8s-network-report",
        default=None,
        metavar="PATH",
        help="write a self-contained HTML page with the NetworkPolicy reachability matrix (per port "
        "class) at the end of the run; with several targets one page each, PATH with the target's "
        "name before the suffix. ini: k8s_network_report.",
    )
    parser.addini(
        "k8s_manifests", "manifests to test (one path, directory or glob per line)", type="linelist", default=[]
    )
    parser.addini(
        "k8s_exclude",
        "paths to leave out of directory scans and patterns (one glob per line)",
        type="linelist",
        default=[],
    )
    parser.addini("k8s_helm_release", "release name Helm charts are rendered as", default="")
    parser.addini("k8s_contexts", "kubeconfig contexts to test live (one per line)", type="linelist", default=[])
    parser.addini("k8ssec_kubeconfig", "kubeconfig file(s) for the contexts", default="")
    parser.addini("k8s_in_cluster", "test the cluster this run is in", type="bool", default=False)
    parser.addini(
        "k8s_namespaces", "namespaces to read, live and manifests (one per line)", type="linelist", default=[]
    )
    parser.addini("k8s_exclude_namespaces", "namespaces to leave out (live and manifests)", type="linelist", default=[])
    parser.addini("k8s_default_namespace", "manifests: namespace of namespaced objects that declare none", default="")
    parser.addini(
        "k8s_namespace_delete_timeout", "seconds to wait for deleted test namespaces before warning", default=""
    )
    parser.addini("k8s_request_timeout", "live targets: bound on one whole API request in seconds", default="")
    parser.addini("k8s_page_size", "live targets: objects per list page", default="")
    parser.addini("k8s_keep_namespaces", "keep namespaces created by k8s_namespace", type="bool", default=False)
    parser.addini(
        "k8s_non_k8s_yaml", "warn | error | ignore for non-Kubernetes YAML in scanned directories", default="warn"
    )
    parser.addini(
        "k8s_rbac_defaults",
        "manifest targets: Kubernetes version of the default ClusterRoles (latest | none | 1.37)",
        default="",
    )
    parser.addini("k8s_network_report", "write the NetworkPolicy reachability page (HTML) to this path", default="")
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
    contexts: tuple[str, ...] = ()
    in_cluster: bool = False
    cluster: ClusterOptions = field(default_factory=ClusterOptions)
    keep_namespaces: bool = False
    rbac_defaults: str | None = "latest"
    network_report: str | None = None
    default_namespace: str | None = None
    namespace_delete_wait: float = DEFAULT_DELETE_WAIT_S
    exclude: tuple[str, ...] = ()
    # Where manifest paths from the ini file were resolved (exclude patterns match as written there).
    manifests_base: str | None = None
    helm_release: str | None = None

    def load_options(self, stdin: bytes | None, cache_dir: str | None = None) -> LoadOptions:
        """Options for the manifest loader: a source that cannot be read is collected (and fails
        its own test item), never a reason to stop loading the others."""
        return LoadOptions(
            max_bytes=self.max_manifest_bytes,
            non_k8s=self.non_k8s,
            stdin=stdin,
            cache_dir=cache_dir,
            exclude=self.exclude,
            exclude_base=self.manifests_base,
            helm_release=self.helm_release,
            collect_errors=True,
        )


def _ini_base(config: pytest.Config) -> Path:
    return config.inipath.parent if config.inipath is not None else config.rootpath


def build_settings(config: pytest.Config) -> Settings:
    """Command line wins over the ini file, which wins over the environment.

    Relative ini paths are relative to the ini file's folder, as pytest resolves its own paths.
    """
    manifests: list[str] = list(config.getoption("k8s_manifests") or [])
    manifests_base = None
    if not manifests:
        base = _ini_base(config)
        manifests_base = str(base)
        ini: list[str] = config.getini("k8s_manifests")
        manifests = [spec if spec == "-" or os.path.isabs(spec) else str(base / spec) for spec in ini]
    if not manifests and os.environ.get(MANIFESTS_ENV):
        manifests = [part for part in os.environ[MANIFESTS_ENV].split(os.pathsep) if part]
    non_k8s = config.getoption("k8s_non_k8s_yaml") or config.getini("k8s_non_k8s_yaml") or "warn"
    if non_k8s not in NON_K8S_CHOICES:
        raise pytest.UsageError(f"k8s_non_k8s_yaml: {non_k8s!r} is not one of {', '.join(NON_K8S_CHOICES)}")
    size_text = config.getoption("k8s_max_manifest_size") or config.getini("k8s_max_manifest_size")
    max_bytes = parse_size(size_text) if size_text else DEFAULT_MAX_BYTES
    contexts = tuple(config.getoption("k8s_context") or config.getini("k8s_contexts"))
    kubeconfig = config.getoption("k8ssec_kubeconfig") or config.getini("k8ssec_kubeconfig") or None
    if kubeconfig and not os.path.isabs(kubeconfig) and not config.getoption("k8ssec_kubeconfig"):
        kubeconfig = str(_ini_base(config) / kubeconfig)
    cluster = ClusterOptions(
        kubeconfig=kubeconfig,
        timeout=_number(config, "k8s_request_timeout", float, DEFAULT_TIMEOUT_S),
        page_size=int(_number(config, "k8s_page_size", int, DEFAULT_PAGE_SIZE)),
        namespaces=tuple(config.getoption("k8s_namespace") or config.getini("k8s_namespaces")),
        exclude_namespaces=tuple(config.getoption("k8s_exclude_namespace") or config.getini("k8s_exclude_namespaces")),
    )
    return Settings(
        manifests=tuple(manifests),
        non_k8s=non_k8s,  # type: ignore[arg-type]
        max_manifest_bytes=max_bytes,
        contexts=contexts,
        in_cluster=bool(config.getoption("k8s_in_cluster") or config.getini("k8s_in_cluster")),
        cluster=cluster,
        keep_namespaces=bool(config.getoption("k8s_keep_namespaces") or config.getini("k8s_keep_namespaces")),
        network_report=_network_report(config),
        exclude=tuple(config.getoption("k8s_exclude") or config.getini("k8s_exclude")),
        manifests_base=manifests_base,
        helm_release=_helm_release(config.getoption("k8s_helm_release") or config.getini("k8s_helm_release") or None),
        rbac_defaults=_rbac_defaults(
            config.getoption("k8s_rbac_defaults") or config.getini("k8s_rbac_defaults") or "latest"
        ),
        default_namespace=_default_namespace(config),
        namespace_delete_wait=_number(
            config, "k8s_namespace_delete_timeout", float, DEFAULT_DELETE_WAIT_S, allow_zero=True
        ),
    )


def _default_namespace(config: pytest.Config) -> str | None:
    name = config.getoption("k8s_default_namespace") or config.getini("k8s_default_namespace") or None
    if name is not None and not _NAMESPACE.match(name):
        raise pytest.UsageError(f"k8s_default_namespace: {name!r} is not a namespace name (a DNS-1123 label)")
    return name


def _helm_release(name: str | None) -> str | None:
    if name is not None and (len(name) > HELM_RELEASE_MAX or not HELM_RELEASE_NAME.match(name)):
        raise pytest.UsageError(
            f"k8s_helm_release: {name!r} is not a release name Helm accepts (lowercase letters, digits, "
            f"'-' and '.', starting and ending with a letter or digit, at most {HELM_RELEASE_MAX} characters)"
        )
    return name


def _network_report(config: pytest.Config) -> str | None:
    # Relative to where pytest was started on the command line, to the ini file's folder in the ini.
    given = config.getoption("k8s_network_report")
    if given:
        return str(config.invocation_params.dir / given)
    ini = config.getini("k8s_network_report")
    return str(_ini_base(config) / ini) if ini else None


def _rbac_defaults(text: str) -> str | None:
    if text.lower() == "none":
        return None
    if text == "latest":
        return text
    shipped = default_versions()
    if text.removeprefix("v") not in shipped:
        raise pytest.UsageError(
            f"k8s_rbac_defaults: no default ClusterRoles shipped for Kubernetes {text!r}; "
            f"use one of: latest, none, {', '.join(shipped) or '(none shipped)'}"
        )
    return text.removeprefix("v")


def _number(
    config: pytest.Config, name: str, kind: type[float] | type[int], default: float, allow_zero: bool = False
) -> float:
    text = config.getoption(name) or config.getini(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise pytest.UsageError(f"{name}: {text!r} is not a number") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise pytest.UsageError(f"{name}: must be {'zero or ' if allow_zero else ''}positive, got {text!r}")
    return value
