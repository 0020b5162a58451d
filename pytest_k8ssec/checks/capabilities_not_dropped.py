"""capabilities-not-dropped.

Pod Security Standards, Restricted, "Capabilities (v1.22+)": containers must drop ALL
capabilities, and are only permitted to add back the NET_BIND_SERVICE capability. Restricted
field: ``spec.containers[*].securityContext.capabilities.drop`` (and init and ephemeral
containers); allowed values: any list of capabilities that includes ``ALL``.

Builds on the upstream control (``checks/pss/check_capabilities_restricted.py``, reported once per
pod as ``pss-capabilities-restricted``) and keeps its "drop" half: the containers it finds not
dropping ALL are reported one by one. The "add" half of the control is ``capabilities-added``
configured with NET_BIND_SERVICE.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_capabilities_restricted
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    # The control exempts Windows pods (v1.25+): the API server rejects securityContext.capabilities
    # there, so demanding it would make the check unfixable.
    found = outcome(check_capabilities_restricted.CONTROL, obj)
    # The common answer (nothing to report) without building a generator: every object meets this.
    return _violations(obj, found) if found.paths else ()


def _violations(obj: K8sObject, found: Outcome) -> Iterator[Violation]:
    for ref in containers(obj):
        path = f"{ref.path}.securityContext.capabilities.drop"
        # Exactly "ALL", as PSA compares: containerd and CRI-O would also drop everything for
        # "all", but a restricted namespace rejects it, and a manifest we pass must be admitted.
        if path not in found.paths:
            continue
        capabilities = as_mapping(ref.security_context.get("capabilities"))
        dropped = [value for value in as_list(capabilities.get("drop")) if isinstance(value, str)]
        message = f'container "{ref.name}" must set securityContext.capabilities.drop=["ALL"]'
        near_misses = [value for value in dropped if value.upper() in ("ALL", "CAP_ALL")]
        if near_misses:
            message += f' ("{near_misses[0]}" does not count: PSS requires exactly "ALL")'
        yield Violation(path, message, ref.name)


CHECK = Check(
    id="capabilities-not-dropped",
    title="Capabilities not dropped",
    summary=(
        "Containers must drop ALL Linux capabilities, so a compromised process keeps none of the "
        "runtime's default set (which includes NET_RAW)."
    ),
    remediation=(
        'Set securityContext.capabilities.drop: ["ALL"] on every container and add back only '
        "NET_BIND_SERVICE where a port below 1024 is needed."
    ),
    category=Category.PRIVILEGES,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("PSS-restricted-capabilities", "CIS-5.2.8", "CIS-5.2.9", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
