"""Helm charts and kustomize folders are rendered by the real tools, and a missing tool is a clear error.

The data lives in tests/data/charts/web (a tiny chart) and tests/data/kustomize/{base,overlays/prod}.
These tests need ``helm`` and ``kubectl`` (or ``kustomize``); they fail, not skip, without them,
because CI installs both and a silently skipped renderer test proves nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.sources.manifests import LoadOptions, ToolMissingError, load

REPO = Path(__file__).resolve().parent.parent.parent
CHART = "tests/data/charts/web"
OVERLAY = "tests/data/kustomize/overlays/prod"
BASE = "tests/data/kustomize/base"
HELM_VERSION = "v3.22.0"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the checkout so paths (and provenance) are the relative ones a user would type."""
    monkeypatch.chdir(REPO)


def _go_bin_dirs() -> list[Path]:
    dirs = [Path(os.environ["GOBIN"])] if os.environ.get("GOBIN") else []
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    dirs += [Path(part) / "bin" for part in gopath.split(os.pathsep) if part]
    return dirs


@pytest.fixture
def helm(monkeypatch: pytest.MonkeyPatch) -> str:
    """The helm binary, put on PATH if `go install` left it in ~/go/bin."""
    found = shutil.which("helm")
    if found:
        return found
    for directory in _go_bin_dirs():
        candidate = directory / "helm"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
            return str(candidate)
    pytest.fail(
        "helm is not installed (not on PATH, not in $GOBIN or ~/go/bin). Install it with "
        f"`go install helm.sh/helm/v3/cmd/helm@{HELM_VERSION}` (or see https://helm.sh/docs/intro/install/).",
        pytrace=False,
    )


@pytest.fixture
def kubectl_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A PATH holding kubectl and nothing else, so rendering goes through `kubectl kustomize`."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail(
            "kubectl is not installed; the kustomize tests need it (it has kustomize built in): "
            "https://kubernetes.io/docs/tasks/tools/",
            pytrace=False,
        )
    bin_dir = tmp_path / "kubectl-bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    return found


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with no helm, kustomize or kubectl on it."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# --- Helm ---------------------------------------------------------------------------------------


def test_chart_renders_with_values_and_release_name(helm: str) -> None:
    result = load([CHART])
    assert [o.ref for o in result.objects] == ["Service/default/web-web", "Deployment/default/web-web"]
    deployment = result.objects[1]
    assert deployment.raw["spec"]["replicas"] == 2  # .Values.replicaCount
    assert deployment.labels == {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web"}
    assert [c.container["image"] for c in containers(deployment)] == ["registry.example.com/web:1.0.0"]
    assert result.objects[0].raw["spec"]["ports"] == [{"port": 8080, "targetPort": 8080}]
    assert result.skipped == []  # values.yaml and Chart.yaml are never parsed as manifests


def test_chart_provenance_points_at_the_template_and_says_helm_template(helm: str) -> None:
    service, deployment = load([CHART]).objects
    # The line is one of helm's output, useless to a reader: the template file and document say where.
    assert (deployment.provenance.source, deployment.provenance.line, deployment.provenance.doc) == (
        "tests/data/charts/web/templates/deployment.yaml",
        None,
        1,
    )
    assert deployment.provenance.via == "helm template tests/data/charts/web"
    assert str(deployment.provenance) == (
        "tests/data/charts/web/templates/deployment.yaml#doc1 (helm template tests/data/charts/web)"
    )
    assert service.provenance.source == "tests/data/charts/web/templates/service.yaml"
    assert service.provenance.doc == 0


def test_chart_inside_a_scanned_folder_is_rendered_not_parsed(helm: str, tmp_path: Path) -> None:
    deploy = tmp_path / "deploy"
    shutil.copytree(REPO / CHART, deploy / "charts" / "web")
    (deploy / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n")
    result = load([str(deploy)])
    assert [o.ref for o in result.objects] == [
        "Namespace/web",
        "Service/default/web-web",
        "Deployment/default/web-web",
    ]
    assert result.objects[2].provenance.source == str(deploy / "charts" / "web" / "templates" / "deployment.yaml")
    assert result.skipped == []


def test_glob_into_a_chart_renders_the_chart(helm: str, tmp_path: Path) -> None:
    # "**/*.yaml" also matches templates/*.yaml, which are not YAML until rendered.
    deploy = tmp_path / "deploy"
    shutil.copytree(REPO / CHART, deploy / "charts" / "web")
    result = load([str(deploy / "**" / "*.yaml")])
    assert [o.ref for o in result.objects] == ["Service/default/web-web", "Deployment/default/web-web"]
    assert result.objects[0].provenance.via == f"helm template {deploy / 'charts' / 'web'}"


def test_chart_that_fails_to_render_is_an_error_with_helms_message(helm: str, tmp_path: Path) -> None:
    chart = tmp_path / "broken"
    shutil.copytree(REPO / CHART, chart)
    (chart / "templates" / "bad.yaml").write_text("kind: {{ .Values.missing.deeper }\n")
    with pytest.raises(ManifestError) as info:
        load([str(chart)])
    message = str(info.value)
    assert message.startswith(f"{chart}: `{helm} template broken {chart}` failed (exit 1): ")
    assert "web/templates/bad.yaml:1" in message  # helm names templates by the chart's name


def test_missing_helm_is_an_error_that_says_how_to_get_it(empty_path: None) -> None:
    with pytest.raises(ToolMissingError) as info:
        load([CHART])
    assert str(info.value) == (
        f"{CHART}: holds Chart.yaml, a Helm chart, but `helm` is not on PATH. Install Helm "
        "(https://helm.sh/docs/intro/install/, or `go install helm.sh/helm/v3/cmd/helm@latest`), "
        f"or render it yourself: `helm template {CHART} > rendered.yaml` and pass that file."
    )
    assert isinstance(info.value, ManifestError)


def test_missing_helm_for_a_chart_found_while_scanning_is_an_error_too(empty_path: None, tmp_path: Path) -> None:
    shutil.copytree(REPO / CHART, tmp_path / "deploy" / "web")
    with pytest.raises(ToolMissingError, match=r"`helm` is not on PATH"):
        load([str(tmp_path / "deploy")])


# --- kustomize ----------------------------------------------------------------------------------


def test_overlay_renders_with_its_patch_applied(kubectl_only: str) -> None:
    result = load([OVERLAY])
    assert [o.ref for o in result.objects] == ["Deployment/prod/api"]
    (deployment,) = result.objects
    assert deployment.labels == {"app": "api", "env": "prod"}
    (app,) = containers(deployment)
    assert (app.path, app.name) == ("spec.template.spec.containers[0]", "api")
    assert app.container["image"] == "registry.example.com/api:1.0.0"
    assert app.security_context == {"allowPrivilegeEscalation": False, "runAsNonRoot": True}
    assert (deployment.provenance.source, deployment.provenance.line, deployment.provenance.doc) == (OVERLAY, None, 0)
    assert str(deployment.provenance) == f"{OVERLAY}#doc0 (kubectl kustomize)"


def test_base_renders_without_the_overlay(kubectl_only: str) -> None:
    (deployment,) = load([BASE]).objects
    assert deployment.ref == "Deployment/default/api"
    assert deployment.labels == {"app": "api"}
    (app,) = containers(deployment)
    assert app.security_context == {}


def test_each_kustomization_in_a_scanned_folder_is_rendered(kubectl_only: str) -> None:
    # The base and the overlay are both kustomizations; a scan renders each (base first, by name).
    result = load(["tests/data/kustomize"])
    assert [o.ref for o in result.objects] == ["Deployment/default/api", "Deployment/prod/api"]
    assert [o.provenance.source for o in result.objects] == [
        "tests/data/kustomize/base",
        "tests/data/kustomize/overlays/prod",
    ]


def _kustomize() -> str:
    found = shutil.which("kustomize")
    if found:
        return found
    for directory in _go_bin_dirs():
        candidate = directory / "kustomize"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.fail(
        "kustomize is not installed (not on PATH, not in $GOBIN or ~/go/bin). Install it with "
        "`go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0` (bash .ci/install does).",
        pytrace=False,
    )


def test_standalone_kustomize_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kustomize = _kustomize()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kustomize").symlink_to(kustomize)
    monkeypatch.setenv("PATH", str(bin_dir))
    (deployment,) = load([OVERLAY]).objects
    assert deployment.provenance.via == "kustomize build"
    assert deployment.labels == {"app": "api", "env": "prod"}


def test_kustomization_that_fails_to_build_is_an_error(kubectl_only: str, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(ManifestError) as info:
        load([str(tmp_path)])
    assert str(info.value).startswith(
        f"{tmp_path}: `{tmp_path / 'kubectl-bin' / 'kubectl'} kustomize {tmp_path}` failed (exit 1): "
    )
    assert "missing.yaml" in str(info.value)


def test_missing_kustomize_and_kubectl_is_an_error_that_says_how_to_get_them(empty_path: None) -> None:
    with pytest.raises(ToolMissingError) as info:
        load([OVERLAY])
    assert str(info.value) == (
        f"{OVERLAY}: holds a kustomization, but neither `kustomize` nor `kubectl` is on PATH. "
        "Install kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl, "
        f"or render it yourself: `kustomize build {OVERLAY} > rendered.yaml` and pass that file."
    )


def test_rendered_output_counts_against_the_size_limit(kubectl_only: str) -> None:
    with pytest.raises(ManifestError, match=rf"^{OVERLAY} \(rendered\): .* MiB is larger than the .* limit"):
        load([OVERLAY], LoadOptions(max_bytes=100))


@pytest.mark.parametrize(("folder", "release"), [("my_chart", "my-chart"), ("MyChart", "mychart")])
def test_chart_in_a_folder_that_is_no_release_name_renders(
    helm: str, tmp_path: Path, folder: str, release: str
) -> None:
    # `helm template my_chart my_chart` fails with "invalid release name"; the name is derived valid.
    chart = tmp_path / folder
    shutil.copytree(REPO / CHART, chart)
    result = load([str(chart)])
    assert [o.ref for o in result.objects] == [f"Service/default/{release}-web", f"Deployment/default/{release}-web"]


def test_release_name_can_be_given(helm: str) -> None:
    result = load([CHART], LoadOptions(helm_release="shop"))
    assert [o.ref for o in result.objects] == ["Service/default/shop-web", "Deployment/default/shop-web"]
