"""run-as-low-id.

An opt-in policy, not a Pod Security Standard: PSS Restricted forbids only UID 0 (``run-as-user-root``)
and says nothing of groups. kube-score (``container-security-context-user-group-id``), checkov
(CKV_K8S_40) and Trivy (KSV020/KSV021) ask for user and group ids of 10000 and up, so that a process
that escapes its container does not share an id with an account of the node (system accounts and
the first human users sit below 10000 on most distributions) and gets none of their files.

Judged per container (init, regular and ephemeral) and per field, ``runAsUser`` and ``runAsGroup``,
on the effective value: the container's own ``securityContext`` wins over the pod's
(``spec.securityContext``), as the kubelet applies them. A value below the minimum (10000 by
default; ``configure(minimum=...)`` for another) is reported where it is written: a container's own
value on the container, an inherited pod-level value once on the pod, naming the containers that
inherit it. Unset on both is reported on the container, as kube-score, checkov and Trivy do: the
image's ``USER`` then decides, which a manifest does not show and which is root for most images.
Trivy's boundary is "> 10000"; ours, kube-score's and checkov's is ">= 10000", so 10000 passes.

Windows pods are exempt (``spec.os.name: windows``: the API server rejects ``runAsUser`` and
``runAsGroup`` there). A value that is not an integer is left to malformed-object.
``supplementalGroups`` and ``fsGroup`` are not judged (no peer asks for them to be high; the root
group is ``run-as-group-root``'s business).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Evaluate, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import is_windows, pod_security_context
from pytest_k8ssec.model.workloads import pod_spec

MINIMUM: Final = 10000
FIELDS: Final = ("runAsUser", "runAsGroup")
_WHAT: Final = {"runAsUser": "user id", "runAsGroup": "group id"}


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _make_evaluate(minimum: int) -> Evaluate:
    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        pod = pod_spec(obj)
        if pod is None or is_windows(pod):
            return
        pod_context = pod_security_context(pod)
        refs = containers(obj)
        for field in FIELDS:
            what = _WHAT[field]
            inheriting: list[ContainerRef] = []
            for ref in refs:
                own = ref.security_context.get(field)
                if own is None:
                    inheriting.append(ref)
                elif _integer(own) and own < minimum:
                    yield Violation(
                        f"{ref.path}.securityContext.{field}",
                        f'container "{ref.name}" runs with {what} {own} ({field}), below {minimum}',
                        ref.name,
                    )
            if not inheriting:
                continue
            inherited = pod_context.get(field)
            if inherited is None:
                for ref in inheriting:
                    yield Violation(
                        f"{ref.path}.securityContext.{field}",
                        f'container "{ref.name}" sets no {field}, nor does the pod: the image decides its {what}, '
                        f"which must be {minimum} or above",
                        ref.name,
                    )
            elif _integer(inherited) and inherited < minimum:
                names = ", ".join(f'"{ref.name}"' for ref in inheriting)
                yield Violation(
                    f"{pod.path}.securityContext.{field}",
                    f"pod sets {field} {inherited}, below {minimum}, which container{'s' if len(inheriting) > 1 else ''} "
                    f"{names} inherit{'' if len(inheriting) > 1 else 's'}",
                )

    return evaluate


CHECK = Check(
    id="run-as-low-id",
    title="User or group id below 10000",
    summary=(
        "Opt-in policy (not a Pod Security Standard): containers should run with runAsUser and runAsGroup "
        "of 10000 or above, so an escaped process shares no id with an account of the node."
    ),
    remediation=(
        "Set securityContext.runAsUser and runAsGroup to ids of 10000 or above, on the pod or on each "
        "container (and build the image to run as that user)."
    ),
    category=Category.PRIVILEGES,
    severity=Severity.LOW,
    evaluate=_make_evaluate(MINIMUM),
    references=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
        "https://github.com/zegl/kube-score/blob/master/README_CHECKS.md",
    ),
    parameters=(("minimum", str(MINIMUM)),),
)


def configure(minimum: int = MINIMUM) -> Check:
    """``run-as-low-id`` with another lowest accepted id (a positive integer)."""
    if not _integer(minimum) or minimum < 1:
        raise ValueError(f"minimum must be a positive integer, not {minimum!r}")
    return _configured(minimum)


@one_variant_per_argument
def _configured(minimum: int) -> Check:
    return dataclasses.replace(CHECK, evaluate=_make_evaluate(minimum), parameters=(("minimum", str(minimum)),))
