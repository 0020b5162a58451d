"""Vulnerability gates over image scan reports (Trivy JSON and Grype JSON).

The reports are read by ``pytest_k8ssec.sources.scan_reports`` and parsed and matched to images by
``pytest_k8ssec.model.scan_reports`` (formats, severity order, matching rules: see there).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.asserts._failure import Objects, _conclude, _evaluated, _objects
from pytest_k8ssec.checks import image_vulnerable
from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.credentials import safe_image
from pytest_k8ssec.model.images import ImageRef, ImageReferenceError, parse_image
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.scan_reports import (
    SEVERITIES,
    ImageMatch,
    ScanReport,
    SeverityName,
    Vulnerability,
    match_image,
)
from pytest_k8ssec.model.scan_reports import SEVERITY_RANK as _RANK
from pytest_k8ssec.model.workloads import is_workload
from pytest_k8ssec.sources.scan_reports import ReportPaths, load_reports

Allow = Union[Mapping[str, str], Iterable[tuple[str, str]], None]

MAX_IGNORED_SHOWN = 20


# --- the assertion ------------------------------------------------------------------------------


def parse_min_severity(value: object) -> str:
    """``min_severity`` as one of ``SEVERITIES`` (case-insensitive); anything else is a usage error."""
    if isinstance(value, str) and value.upper() in _RANK:
        return value.upper()
    raise ValueError(f"min_severity must be one of {', '.join(SEVERITIES)}, not {value!r}")


def parse_allow(allow: Allow) -> dict[str, tuple[str, str]]:
    """``{casefolded id: (id, reason)}``; every allowed id needs a non-empty reason."""
    if allow is None:
        return {}
    if isinstance(allow, (str, bytes)):
        raise ValueError(
            f"allow={allow!r}: give each allowed id with its reason, e.g. allow={{{allow!r}: 'why it does not apply'}}"
        )
    pairs: list[Any] = list(allow.items()) if isinstance(allow, Mapping) else list(allow)
    result: dict[str, tuple[str, str]] = {}
    for pair in pairs:
        if isinstance(pair, str) or not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"allow entry {pair!r}: want (vulnerability id, reason)")
        vuln_id, reason = pair
        if not isinstance(vuln_id, str) or not vuln_id.strip():
            raise ValueError(f"allow entry {pair!r}: the vulnerability id must be a non-empty string")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"allow entry {vuln_id!r} has no reason; every allowed vulnerability needs one")
        result[vuln_id.strip().casefold()] = (vuln_id.strip(), reason.strip())
    return result


@dataclass(frozen=True, slots=True)
class _Ignored:
    obj: K8sObject
    container: str
    image: str
    vulnerability: Vulnerability
    key: str


class _Judge:
    """Judges each container image once against the reports; remembers what it ignored."""

    def __init__(self, reports: Sequence[ScanReport], min_rank: int, ignores: Mapping[str, tuple[str, str]]) -> None:
        self.reports = reports
        self.min_rank = min_rank
        self.ignores = ignores
        self.ignored: list[_Ignored] = []
        self.used: set[str] = set()
        self._matches: dict[str, ImageMatch] = {}

    def match(self, image: ImageRef) -> ImageMatch:
        key = image.raw
        if key not in self._matches:
            self._matches[key] = match_image(image, self.reports)
        return self._matches[key]

    def _ignore_key(self, vuln: Vulnerability) -> str | None:
        for vuln_id in vuln.ids:
            if vuln_id.casefold() in self.ignores:
                return vuln_id.casefold()
        return None

    def container(self, obj: K8sObject, ref: ContainerRef) -> Iterator[Violation]:
        path = f"{ref.path}.image"
        who = f'container "{ref.name}"'
        raw = ref.container.get("image")
        if not isinstance(raw, str) or not raw.strip():
            yield Violation(path, f"{who} sets no image; there is nothing to scan", ref.name)
            return
        try:
            image = parse_image(raw)
        except ImageReferenceError as exc:
            yield Violation(
                path, f"{who} image {safe_image(raw)!r} is not a valid image reference ({exc.reason})", ref.name
            )
            return
        found = self.match(image)
        if not found.reports:
            yield Violation(path, f"{who} image {safe_image(raw)}: {self._why_unmatched(found)}", ref.name)
            return
        for report in found.reports:
            if not report.scanned:
                yield Violation(
                    path,
                    f"{who} image {raw}: {report} holds no vulnerability scan result (no os-pkgs or "
                    "lang-pkgs result: scanned without the vuln scanner, or an OS Trivy cannot scan)",
                    ref.name,
                )
        seen: dict[tuple[str, str, str], Vulnerability] = {}
        for report in found.reports:
            for vuln in report.vulnerabilities:
                if vuln.rank >= self.min_rank:
                    seen.setdefault((vuln.id, vuln.package, vuln.installed), vuln)
        for vuln in sorted(seen.values(), key=lambda v: (-v.rank, v.id, v.package)):
            key = self._ignore_key(vuln)
            if key is not None:
                self.used.add(key)
                self.ignored.append(_Ignored(obj, ref.name, raw, vuln, key))
                continue
            yield Violation(path, f"{who} image {raw}: {vuln.describe()}", ref.name)

    def _why_unmatched(self, found: ImageMatch) -> str:
        image = found.image
        if image.digest:
            text = f"no scan report has digest {image.digest}"
            for report in found.other_digests:
                if report.digests:
                    text += f"; {report} has {', '.join(report.digests)}: not the same image"
                else:
                    text += f"; {report} carries no digest, so it cannot show it scanned this image"
            return text + " (scan the image by its digest)"
        tag = image.effective_tag
        return (
            f"no scan report covers {image.name}:{tag} (none names that repository and tag, and the "
            "image is not pinned by digest); no report is not a pass: scan the image"
        )

    def evaluate(self, obj: K8sObject) -> Iterator[Violation]:
        for ref in containers(obj):
            yield from self.container(obj, ref)

    def ignored_lines(self) -> list[str]:
        if not self.ignored:
            return []
        lines = [f"allowed ({len(self.ignored)}, with reasons):"]
        for item in self.ignored[:MAX_IGNORED_SHOWN]:
            reason = self.ignores[item.key][1]
            lines.append(
                f"  - {item.vulnerability.describe()} (image {item.image}, {item.obj.display} "
                f'container "{item.container}"): {reason}'
            )
        if len(self.ignored) > MAX_IGNORED_SHOWN:
            lines.append(f"  - ... and {len(self.ignored) - MAX_IGNORED_SHOWN} more")
        return lines

    def unused_lines(self) -> list[str]:
        unused = [vuln_id for key, (vuln_id, _) in self.ignores.items() if key not in self.used]
        return (
            [f"allow entries that matched no finding at {SEVERITIES[self.min_rank]} or above: {', '.join(unused)}"]
            if unused
            else []
        )


@keyword_only("report", "min_severity", "allow", renamed={"ignore": "allow"})
def assert_no_vulnerabilities(
    objs: Objects, *, report: ReportPaths, min_severity: SeverityName = "HIGH", allow: Allow = None
) -> None:
    """Assert every image the workloads run has a scan report without findings at ``min_severity`` or above.

    Args:
        objs: one object or an iterable of objects; every container (init, regular, ephemeral)
            of every workload among them is judged.
        report: a Trivy or Grype JSON report file, a directory of them, or a list of either.
        min_severity: UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH or CRITICAL (case-insensitive).
            Grype's Negligible ranks below LOW.
        allow: the vulnerabilities this gate does not apply to: ids, each with its reason,
            ``{"CVE-2023-1234": "not reachable: we do not use libfoo"}`` or ``[(id, reason)]``.
            An id also matches a finding that lists it as an alias (Trivy ``VendorIDs``, Grype
            ``relatedVulnerabilities``). Allowed findings are listed when the assertion fails.

    Raises:
        SecurityAssertionError: a finding at or above ``min_severity``; an image that no report
            covers (or, pinned by digest, none with its digest); an invalid image reference; no
            workload or no image among ``objs``.
        ScanReportError: a report that cannot be read or is not a Trivy or Grype image report.
        ValueError: an invalid ``min_severity`` or an ``allow`` entry without a reason.
    """
    __tracebackhide__ = True
    threshold = parse_min_severity(min_severity)
    ignores = parse_allow(allow)
    title = f"{image_vulnerable.ID} {threshold} or above"
    objects = _objects(objs)
    workloads = [obj for obj in objects if is_workload(obj)]
    if not workloads:
        kinds = ", ".join(sorted({obj.kind for obj in objects})) or "none"
        raise SecurityAssertionError(
            f"{title}: no workload among the {len(objects)} given objects (kinds: {kinds}); no image was checked"
        )
    if not any(containers(obj) for obj in workloads):
        raise SecurityAssertionError(
            f"{title}: the {len(workloads)} given workloads have no containers, so no image was checked"
        )
    reports = load_reports(report)
    judge = _Judge(reports, _RANK[threshold], ignores)
    check = image_vulnerable.configure(judge.evaluate, threshold)
    run, result, counts = _evaluated([check], workloads)
    extra = [*judge.ignored_lines(), *judge.unused_lines()]
    _conclude(title, run, workloads, result.findings, extra, judged=counts)
