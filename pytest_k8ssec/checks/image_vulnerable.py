"""image-vulnerable.

Images must be scanned and carry no known vulnerability at or above a severity: NSA/CISA
Kubernetes Hardening Guide, "Scan containers and Pods for vulnerabilities or
misconfigurations"; CIS Kubernetes Benchmark 5.5.1 (image provenance and scanning).

A parameterised check: its verdict needs scan reports (Trivy or Grype JSON) and a minimum
severity. The registry record has no reports, so it fails closed on every container, saying what
it lacks; ``assert_no_vulnerabilities(objs, report=...)`` runs ``configure(...)``'s variant, which
judges each image against the reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from pytest_k8ssec.checks._check import Category, Check, Evaluate, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject

ID = "image-vulnerable"
DEFAULT_MIN_SEVERITY = "HIGH"


def _no_reports(obj: K8sObject) -> Iterator[Violation]:
    for ref in containers(obj):
        yield Violation(
            f"{ref.path}.image",
            f'container "{ref.name}": no scan reports given, so its image cannot be judged: use '
            "assert_no_vulnerabilities(objs, report=...)",
            ref.name,
        )


def _summary(min_severity: str) -> str:
    return f"Images must have a scan report and no vulnerability of severity {min_severity} or above."


CHECK = Check(
    id=ID,
    title="Image with known vulnerabilities",
    summary=_summary(DEFAULT_MIN_SEVERITY),
    remediation=(
        "Rebuild or upgrade the image to the fixed package versions, scan every image the "
        "workloads run, or ignore a vulnerability that does not apply with its reason."
    ),
    category=Category.IMAGES,
    severity=Severity.HIGH,
    evaluate=_no_reports,
    controls=("NSA-pod-secure-images", "MITRE-T1190"),
    references=("https://trivy.dev/latest/docs/configuration/reporting/", "https://github.com/anchore/grype"),
    helpers=("assert_no_vulnerabilities",),
    parameters=(("min_severity", DEFAULT_MIN_SEVERITY), ("report", "none given: fails closed")),
)


def configure(evaluate: Evaluate, min_severity: str = DEFAULT_MIN_SEVERITY) -> Check:
    """The registry record judging images with ``evaluate`` (built from the scan reports).

    The engine does not memoize the variant: its verdict reads the reports, not only the object,
    and the helper's judge records which allow entries it used while it evaluates.
    """

    def judge(obj: K8sObject) -> Iterable[Violation]:
        return evaluate(obj)

    judge._k8ssec_memo = False  # type: ignore[attr-defined]
    return dataclasses.replace(
        CHECK,
        evaluate=judge,
        summary=_summary(min_severity),
        parameters=(("min_severity", min_severity), ("report", "given")),
    )
