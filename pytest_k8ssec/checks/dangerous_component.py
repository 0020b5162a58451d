"""dangerous-component.

No Pod Security Standard names components. checkov (CKV_K8S_33/34), Trivy (KSV102) and Kubescape
(C-0014) report components known to hand out the cluster; this check reports the ones whose
configuration is the danger, not every installation of a tool:

- **Tiller**, Helm 2's in-cluster server (Helm 2 reached end of life in November 2020): its gRPC
  port (44134) takes install requests from anything that reaches it, without authentication
  unless TLS was set up, and runs them with Tiller's own ServiceAccount, usually cluster-admin.
  Every Tiller container is reported.
- **Kubernetes Dashboard** started with ``--enable-skip-login`` (the login page offers "Skip", and
  the skipper acts with the Dashboard's own ServiceAccount) or ``--enable-insecure-login`` (logins
  over plain HTTP), in ``args`` or ``command``, as ``--flag`` or ``--flag=true``; and Dashboard
  releases before v1.10.1, whose login could be skipped to act as the Dashboard's ServiceAccount
  and read Secrets (CVE-2018-18264). checkov reports any Dashboard; a Dashboard that requires a
  login is the supported way to run it, so it passes here.

Images are recognised by their parsed reference (``checks/_images.py``: the distribution grammar,
so ``tiller`` in a tag or a registry host does not match), by the last components of the
repository path, so mirrors match too: ``.../tiller``; ``.../kubernetesui/dashboard`` (v2),
``.../kubernetesui/dashboard-api``, ``-web`` and ``-auth`` (v7), and ``.../kubernetes-dashboard``
or ``.../kubernetes-dashboard-<arch>`` (v1). The release is read from the tag ``v1.2.3`` of a v1 or
v2 image (the v7 images carry versions of their own, 1.x for the web image); a digest alone or
another tag does not say it, and only the flags are judged then. An image that cannot be
parsed is reported as every image check reports it (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._images import ContainerImage, container_images
from pytest_k8ssec.model.credentials import safe_image
from pytest_k8ssec.model.images import ImageRef
from pytest_k8ssec.model.objects import K8sObject, as_list

_DASHBOARD_V2_V7: Final = frozenset({"dashboard", "dashboard-api", "dashboard-web", "dashboard-auth"})
_DASHBOARD_V1: Final = re.compile(r"^kubernetes-dashboard(-[a-z0-9]+)?$")
_VERSION: Final = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")
#: The first release whose login cannot be skipped by default (CVE-2018-18264).
FIXED: Final = (1, 10, 1)
FLAGS: Final = {
    "--enable-skip-login": "lets anyone skip the login and act as the Dashboard's ServiceAccount",
    "--enable-insecure-login": "accepts logins over plain HTTP",
}


def _components(image: ImageRef) -> list[str]:
    return image.path.split("/")


def is_tiller(image: ImageRef) -> bool:
    """The repository is Tiller's (``.../tiller``): Helm 2's server."""
    return _components(image)[-1] == "tiller"


def is_dashboard(image: ImageRef) -> bool:
    """The repository is the Kubernetes Dashboard's (v1, v2 or the v7 split images)."""
    parts = _components(image)
    if _DASHBOARD_V1.match(parts[-1]):
        return True
    return len(parts) >= 2 and parts[-2] == "kubernetesui" and parts[-1] in _DASHBOARD_V2_V7


def _version(image: ImageRef) -> tuple[int, int, int] | None:
    """The Dashboard release of a v1 or v2 image's tag (the v7 images are versioned on their own)."""
    parts = _components(image)
    if not (_DASHBOARD_V1.match(parts[-1]) or parts[-1] == "dashboard"):
        return None
    match = _VERSION.match(image.tag or "")
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _flags(item: ContainerImage) -> Iterator[tuple[str, str]]:
    """(field path, flag) for each dangerous flag the container turns on."""
    for field in ("command", "args"):
        for index, arg in enumerate(as_list(item.container.container.get(field))):
            if not isinstance(arg, str):
                continue
            flag, _, value = arg.partition("=")
            if flag in FLAGS and value.lower() in ("", "true"):
                yield f"{item.container.path}.{field}[{index}]", flag


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    for item in container_images(obj):
        image, name = item.image, item.container.name
        if image is None:
            yield item.unreadable()
        elif is_tiller(image):
            yield Violation(
                item.path,
                f'container "{name}" runs Tiller ({safe_image(image.raw)}), Helm 2\'s server: it installs whatever '
                "reaches its gRPC port, with its own (usually cluster-admin) ServiceAccount",
                name,
            )
        elif is_dashboard(image):
            version = _version(image)
            if version is not None and version < FIXED:
                yield Violation(
                    item.path,
                    f'container "{name}" runs Kubernetes Dashboard {image.tag}, older than v1.10.1: its login can be '
                    "skipped to act as the Dashboard's ServiceAccount (CVE-2018-18264)",
                    name,
                )
            for path, flag in _flags(item):
                yield Violation(
                    path, f'container "{name}" runs Kubernetes Dashboard with {flag}, which {FLAGS[flag]}', name
                )


CHECK = Check(
    id="dangerous-component",
    title="Known-dangerous component",
    summary=(
        "Workloads must not run components known to hand out the cluster: Tiller (Helm 2), or a Kubernetes "
        "Dashboard older than v1.10.1 or started with --enable-skip-login or --enable-insecure-login."
    ),
    remediation=(
        "Remove Tiller (migrate to Helm 3, which has no server); run Kubernetes Dashboard v2 or later without "
        "--enable-skip-login and --enable-insecure-login."
    ),
    category=Category.IMAGES,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    references=(
        "https://helm.sh/docs/faq/changes_since_helm2/#removal-of-tiller",
        "https://github.com/kubernetes/dashboard/blob/master/docs/common/arguments.md",
        "https://nvd.nist.gov/vuln/detail/CVE-2018-18264",
    ),
)
