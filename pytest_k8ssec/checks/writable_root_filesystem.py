"""writable-root-filesystem.

NSA/CISA Kubernetes Hardening Guide, "Immutable container file systems": by default, containers
are permitted mostly unrestricted execution within their own context; a threat actor who has
gained execution in a container can create files, download scripts and modify the application
within the container. Kubernetes can lock down a container's file system by setting
``securityContext.readOnlyRootFilesystem: true`` on every container (init, regular and ephemeral
ones alike: each runs in the pod with its own root file system).

Pod Security Standards has no such control.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import is_windows
from pytest_k8ssec.model.workloads import pod_spec


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    # The API server rejects readOnlyRootFilesystem when spec.os.name is windows, so a Windows
    # pod cannot comply; demanding it there would make the check unfixable.
    if pod is None or is_windows(pod):
        return
    for ref in containers(obj):
        # Only a real boolean true counts; a string "true" is malformed and must not pass.
        if ref.security_context.get("readOnlyRootFilesystem") is not True:
            yield Violation(
                f"{ref.path}.securityContext.readOnlyRootFilesystem",
                f'container "{ref.name}" must set securityContext.readOnlyRootFilesystem=true',
                ref.name,
            )


CHECK = Check(
    id="writable-root-filesystem",
    title="Writable root file system",
    summary=(
        "Containers must run with a read-only root file system, so an attacker cannot change the "
        "application or drop tools into the image."
    ),
    remediation=(
        "Set securityContext.readOnlyRootFilesystem: true on every container and mount an "
        "emptyDir where the application must write."
    ),
    category=Category.PRIVILEGES,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("NSA-pod-immutable-fs",),
    references=(
        "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ),
)
