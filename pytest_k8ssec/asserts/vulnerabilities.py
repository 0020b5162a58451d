"""Vulnerability gates over image scan reports: Trivy JSON and Grype JSON, read exactly as written.

Trivy (``trivy image --format json``, report ``SchemaVersion`` 2, aquasecurity/trivy
``pkg/types/report.go``): the image is named by ``ArtifactName``, ``Metadata.RepoTags``,
``Metadata.Reference`` and ``Metadata.RepoDigests`` (``repo@sha256:...``); findings are
``Results[].Vulnerabilities[]`` with ``VulnerabilityID``, ``VendorIDs``, ``PkgName``,
``InstalledVersion``, ``FixedVersion``, ``Status`` and ``Severity`` (UNKNOWN, LOW, MEDIUM, HIGH,
CRITICAL). Trivy omits ``Vulnerabilities`` from a result without findings and writes a result of
class ``os-pkgs`` or ``lang-pkgs`` for every package set it scanned for vulnerabilities.

Grype (``grype -o json``, anchore/grype ``grype/presenter/models``): ``source.type`` is ``image``
and ``source.target`` is syft's ImageMetadata (``userInput``, ``tags``, ``repoDigests``,
``manifestDigest``); findings are ``matches[]`` with ``vulnerability.{id, severity, fix.versions,
fix.state}``, ``relatedVulnerabilities[].id`` and ``artifact.{name, version}``. Grype's severities
are Unknown, Negligible, Low, Medium, High, Critical. Grype's ``ignoredMatches`` are what its own
configuration (built-in false-positive rules, VEX, ignore rules) removed; like findings a
``.trivyignore`` removes, they are not judged here.

Severity order: UNKNOWN < NEGLIGIBLE < LOW < MEDIUM < HIGH < CRITICAL. Grype's Negligible ranks
below LOW, as in Grype itself, so ``min_severity="LOW"`` does not fail on it. An image matches a
report by normalized name and effective tag, or by digest; an image pinned by digest matches only
a report that carries that digest. Parsing is pure (``parse_report`` takes the decoded JSON), so
it is testable without files; ``load_reports`` does the I/O.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Union

from pytest_k8ssec.asserts._failure import Objects, _objects, format_findings
from pytest_k8ssec.checks import builtin_registry, image_vulnerable
from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.errors import K8sSecError, SecurityAssertionError
from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.credentials import safe_image
from pytest_k8ssec.model.images import ImageRef, ImageReferenceError, parse_image
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import is_workload
from pytest_k8ssec.reporting import recording

SEVERITIES: Final = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
_RANK: Final = {name: rank for rank, name in enumerate(SEVERITIES)}

# Trivy result classes that mean "these packages were scanned for vulnerabilities".
_VULN_CLASSES: Final = frozenset({"os-pkgs", "lang-pkgs"})

# OCI image-spec descriptor digest grammar: algorithm ":" encoded.
_DIGEST: Final = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")

ReportPath = Union[str, "os.PathLike[str]"]
ReportPaths = Union[ReportPath, Iterable[ReportPath]]
Ignore = Union[Mapping[str, str], Iterable[tuple[str, str]], None]

MAX_IGNORED_SHOWN = 20


class ScanReportError(K8sSecError, ValueError):
    """A scan report could not be read, or is not a Trivy or Grype image report."""


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One finding of a scanner: a vulnerability id in one installed package."""

    id: str
    package: str
    installed: str
    fixed: str
    severity: str
    status: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        """Position of ``severity`` in ``SEVERITIES`` (higher is worse)."""
        return _RANK[self.severity]

    @property
    def ids(self) -> tuple[str, ...]:
        """The id and its aliases (Trivy ``VendorIDs``, Grype ``relatedVulnerabilities``)."""
        return (self.id, *self.aliases)

    def describe(self) -> str:
        """``CVE-... HIGH in openssl 3.0.2, fixed in 3.0.3`` (or ``no fix``)."""
        if self.fixed:
            fix = f"fixed in {self.fixed}"
        else:
            fix = f"no fix ({self.status})" if self.status and self.status != "fixed" else "no fix"
        installed = f" {self.installed}" if self.installed else ""
        return f"{self.id} {self.severity} in {self.package}{installed}, {fix}"


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What one report says about one image: which image (names, digests) and its findings.

    ``scanned`` is False when the report holds no evidence of a vulnerability scan (a Trivy run
    with only the secret or misconfiguration scanner, or an OS Trivy does not support).
    """

    scanner: str
    source: str
    artifact: str
    references: tuple[ImageRef, ...]
    digests: tuple[str, ...]
    vulnerabilities: tuple[Vulnerability, ...]
    scanned: bool = True

    def __str__(self) -> str:
        return f"{self.scanner} report {self.source} ({self.artifact})"


@dataclass(frozen=True, slots=True)
class ImageMatch:
    """The reports covering one image, and those that name it but carry another digest."""

    image: ImageRef
    reports: tuple[ScanReport, ...]
    other_digests: tuple[ScanReport, ...] = ()


# --- parsing (pure) -----------------------------------------------------------------------------


def _at(source: str, where: str, problem: str) -> ScanReportError:
    location = f" at {where}" if where else ""
    return ScanReportError(f"{source}{location}: {problem}")


def _string(value: object, source: str, where: str, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise _at(
            source,
            where,
            f"must be a non-empty string, not {value!r}" if required else f"must be a string, not {value!r}",
        )
    return value


def _strings(value: object, source: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _at(source, where, f"must be a list of strings, not {value!r}")
    return list(value)


def _mapping(value: object, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _at(source, where, f"must be an object, not {type(value).__name__}")
    return value


def _list(value: object, source: str, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _at(source, where, f"must be a list, not {type(value).__name__}")
    return value


def parse_severity(value: object, source: str = "<report>", where: str = "") -> str:
    """A scanner's severity as one of ``SEVERITIES`` (missing means UNKNOWN, as both scanners treat it)."""
    if value is None or value == "":
        return "UNKNOWN"
    if isinstance(value, str) and value.upper() in _RANK:
        return value.upper()
    raise _at(source, where, f"unknown severity {value!r} (known: {', '.join(SEVERITIES)})")


def _image_refs(candidates: Iterable[str]) -> tuple[ImageRef, ...]:
    refs: dict[str, ImageRef] = {}
    for text in candidates:
        if not text:
            continue
        try:
            ref = parse_image(text)
        except ImageReferenceError:
            # ArtifactName is a file path for `trivy image --input image.tar`; such a name
            # identifies no registry image, so it simply does not take part in matching.
            continue
        refs.setdefault(ref.docker_ref(), ref)
    return tuple(refs.values())


def _digest(text: str) -> str:
    """The digest of ``repo@sha256:...`` or of a bare ``sha256:...``; ``""`` if there is none."""
    if "@" in text:
        candidate = text.rpartition("@")[2]
    elif text.startswith(("sha256:", "sha512:")):
        candidate = text
    else:
        return ""
    return candidate.lower() if _DIGEST.match(candidate) else ""


def _identity(
    scanner: str, source: str, names: list[str], digest_texts: list[str], artifact: str
) -> tuple[tuple[ImageRef, ...], tuple[str, ...]]:
    references = _image_refs(names)
    digests = tuple(dict.fromkeys(d for d in (_digest(t) for t in digest_texts) if d))
    if not references and not digests:
        raise ScanReportError(
            f"{source}: {scanner} report for {artifact!r} names no image (no image reference, tag or "
            "repository digest), so it cannot be matched to a workload's image"
        )
    return references, digests


def parse_trivy(data: Mapping[str, Any], source: str = "<report>") -> ScanReport:
    """A Trivy image report (``SchemaVersion`` 2) as a ScanReport."""
    if "ClusterName" in data or "Resources" in data:
        raise ScanReportError(
            f"{source}: a Trivy Kubernetes report (trivy k8s); give the image reports instead "
            "(trivy image --format json IMAGE)"
        )
    if data.get("SchemaVersion") != 2:
        raise _at(
            source, "SchemaVersion", f"Trivy report schema {data.get('SchemaVersion')!r} is not supported (want 2)"
        )
    artifact_type = data.get("ArtifactType")
    if artifact_type is not None and artifact_type != "container_image":
        raise ScanReportError(f"{source}: Trivy report of a {artifact_type!r}, not of a container image (trivy image)")
    artifact = _string(data.get("ArtifactName"), source, "ArtifactName")
    metadata = _mapping(data.get("Metadata") or {}, source, "Metadata")
    tags = _strings(metadata.get("RepoTags"), source, "Metadata.RepoTags")
    reference = _string(metadata.get("Reference"), source, "Metadata.Reference")
    repo_digests = _strings(metadata.get("RepoDigests"), source, "Metadata.RepoDigests")
    names = [artifact, reference, *tags]
    references, digests = _identity("Trivy", source, names, [*repo_digests, artifact, reference], artifact)

    found: dict[tuple[str, str, str], Vulnerability] = {}
    scanned = False
    for i, result in enumerate(_list(data.get("Results"), source, "Results")):
        where = f"Results[{i}]"
        result = _mapping(result, source, where)
        if result.get("Class") in _VULN_CLASSES or "Vulnerabilities" in result:
            scanned = True
        for j, item in enumerate(_list(result.get("Vulnerabilities"), source, f"{where}.Vulnerabilities")):
            at = f"{where}.Vulnerabilities[{j}]"
            item = _mapping(item, source, at)
            vuln = Vulnerability(
                id=_string(item.get("VulnerabilityID"), source, f"{at}.VulnerabilityID", required=True),
                package=_string(item.get("PkgName"), source, f"{at}.PkgName", required=True),
                installed=_string(item.get("InstalledVersion"), source, f"{at}.InstalledVersion"),
                fixed=_string(item.get("FixedVersion"), source, f"{at}.FixedVersion"),
                severity=parse_severity(item.get("Severity"), source, f"{at}.Severity"),
                status=_string(item.get("Status"), source, f"{at}.Status"),
                aliases=tuple(_strings(item.get("VendorIDs"), source, f"{at}.VendorIDs")),
            )
            found.setdefault((vuln.id, vuln.package, vuln.installed), vuln)
    return ScanReport("trivy", source, artifact or "<unnamed>", references, digests, tuple(found.values()), scanned)


def parse_grype(data: Mapping[str, Any], source: str = "<report>") -> ScanReport:
    """A Grype image report (``grype -o json``) as a ScanReport."""
    src = _mapping(data.get("source"), source, "source")
    if src.get("type") != "image":
        raise ScanReportError(f"{source}: Grype report of a {src.get('type')!r} source, not of a container image")
    target = _mapping(src.get("target"), source, "source.target")
    artifact = _string(target.get("userInput"), source, "source.target.userInput")
    tags = _strings(target.get("tags"), source, "source.target.tags")
    repo_digests = _strings(target.get("repoDigests"), source, "source.target.repoDigests")
    manifest = _string(target.get("manifestDigest"), source, "source.target.manifestDigest")
    references, digests = _identity("Grype", source, [artifact, *tags], [*repo_digests, manifest, artifact], artifact)

    found: dict[tuple[str, str, str], Vulnerability] = {}
    for i, match in enumerate(_list(data.get("matches"), source, "matches")):
        at = f"matches[{i}]"
        match = _mapping(match, source, at)
        vuln = _mapping(match.get("vulnerability"), source, f"{at}.vulnerability")
        package = _mapping(match.get("artifact"), source, f"{at}.artifact")
        fix = _mapping(vuln.get("fix") or {}, source, f"{at}.vulnerability.fix")
        related = []
        for k, item in enumerate(_list(match.get("relatedVulnerabilities"), source, f"{at}.relatedVulnerabilities")):
            related.append(
                _string(
                    _mapping(item, source, f"{at}.relatedVulnerabilities[{k}]").get("id"),
                    source,
                    f"{at}.relatedVulnerabilities[{k}].id",
                )
            )
        finding = Vulnerability(
            id=_string(vuln.get("id"), source, f"{at}.vulnerability.id", required=True),
            package=_string(package.get("name"), source, f"{at}.artifact.name", required=True),
            installed=_string(package.get("version"), source, f"{at}.artifact.version"),
            fixed=", ".join(_strings(fix.get("versions"), source, f"{at}.vulnerability.fix.versions")),
            severity=parse_severity(vuln.get("severity"), source, f"{at}.vulnerability.severity"),
            status=_string(fix.get("state"), source, f"{at}.vulnerability.fix.state"),
            aliases=tuple(r for r in related if r),
        )
        found.setdefault((finding.id, finding.package, finding.installed), finding)
    return ScanReport("grype", source, artifact or "<unnamed>", references, digests, tuple(found.values()))


def parse_report(data: object, source: str = "<report>") -> ScanReport:
    """Decoded JSON of a Trivy or Grype image report as a ScanReport (raises ScanReportError otherwise)."""
    if isinstance(data, Mapping):
        if "SchemaVersion" in data or "ArtifactName" in data or "ClusterName" in data:
            return parse_trivy(data, source)
        if "matches" in data and "source" in data:
            return parse_grype(data, source)
    shape = (
        f"an object with keys {', '.join(sorted(map(str, data))[:6])}"
        if isinstance(data, Mapping)
        else type(data).__name__
    )
    raise ScanReportError(
        f"{source}: not a Trivy or Grype JSON report ({shape}); write reports with "
        "`trivy image --format json` or `grype -o json`"
    )


# --- reading (I/O) ------------------------------------------------------------------------------


def _report_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise ScanReportError(f"report directory {path} holds no .json report")
        return files
    if not path.exists():
        raise ScanReportError(f"report {path} does not exist")
    return [path]


def read_report(path: ReportPath) -> ScanReport:
    """Read one Trivy or Grype JSON report file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanReportError(f"report {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScanReportError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return parse_report(data, str(path))


def load_reports(report: ReportPaths) -> tuple[ScanReport, ...]:
    """Every report in ``report``: a file, a directory of ``*.json`` reports, or a list of either.

    A directory is read one level deep; every ``.json`` file in it must be a Trivy or Grype image
    report (fail closed: a stray file is an error, not a skipped report).
    """
    paths = [report] if isinstance(report, (str, os.PathLike)) else list(report)
    if not paths:
        raise ScanReportError("no scan report given (report=[]); pass a report file or directory")
    files: dict[Path, None] = {}
    for entry in paths:
        if not isinstance(entry, (str, os.PathLike)):
            raise TypeError(f"report paths must be str or os.PathLike, not {type(entry).__name__}")
        for file in _report_files(Path(entry)):
            files.setdefault(file, None)
    return tuple(read_report(file) for file in files)


# --- matching (pure) ----------------------------------------------------------------------------


def _repository(ref: ImageRef) -> str:
    # Registry hosts are DNS names: a report that writes the host in another case names the same one.
    return f"{ref.domain.lower()}/{ref.path}"


def _same_name_and_tag(image: ImageRef, ref: ImageRef) -> bool:
    return _repository(ref) == _repository(image) and ref.tag is not None and ref.effective_tag == image.effective_tag


def match_image(image: ImageRef, reports: Iterable[ScanReport]) -> ImageMatch:
    """The reports that cover ``image``.

    A digest-pinned image is the content its digest names, whatever its tag says: only a report
    carrying that digest covers it, and reports that name it by name alone come back in
    ``other_digests``. An image by tag is covered by a report naming the same registry,
    repository and tag (``nginx`` is ``docker.io/library/nginx:latest``).
    """
    reports = tuple(reports)
    if image.digest:
        digest = image.digest.lower()
        covering = tuple(r for r in reports if digest in r.digests)
        others = tuple(
            r
            for r in reports
            if r not in covering and any(_repository(ref) == _repository(image) for ref in r.references)
        )
        return ImageMatch(image, covering, others)
    return ImageMatch(image, tuple(r for r in reports if any(_same_name_and_tag(image, ref) for ref in r.references)))


# --- the assertion ------------------------------------------------------------------------------


def parse_min_severity(value: object) -> str:
    """``min_severity`` as one of ``SEVERITIES`` (case-insensitive); anything else is a usage error."""
    if isinstance(value, str) and value.upper() in _RANK:
        return value.upper()
    raise ValueError(f"min_severity must be one of {', '.join(SEVERITIES)}, not {value!r}")


def parse_ignore(ignore: Ignore) -> dict[str, tuple[str, str]]:
    """``{casefolded id: (id, reason)}``; every ignored id needs a non-empty reason."""
    if ignore is None:
        return {}
    if isinstance(ignore, (str, bytes)):
        raise ValueError(
            f"ignore={ignore!r}: give each ignored id with its reason, e.g. ignore={{{ignore!r}: 'why it does not apply'}}"
        )
    pairs: list[Any] = list(ignore.items()) if isinstance(ignore, Mapping) else list(ignore)
    result: dict[str, tuple[str, str]] = {}
    for pair in pairs:
        if isinstance(pair, str) or not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"ignore entry {pair!r}: want (vulnerability id, reason)")
        vuln_id, reason = pair
        if not isinstance(vuln_id, str) or not vuln_id.strip():
            raise ValueError(f"ignore entry {pair!r}: the vulnerability id must be a non-empty string")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"ignore entry {vuln_id!r} has no reason; every ignored vulnerability needs one")
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
        lines = [f"ignored ({len(self.ignored)}, with reasons):"]
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
            [f"ignore entries that matched no finding at {SEVERITIES[self.min_rank]} or above: {', '.join(unused)}"]
            if unused
            else []
        )


def assert_no_vulnerabilities(
    objs: Objects, report: ReportPaths, min_severity: str = "HIGH", ignore: Ignore = None
) -> None:
    """Assert every image the workloads run has a scan report without findings at ``min_severity`` or above.

    Args:
        objs: one object or an iterable of objects; every container (init, regular, ephemeral)
            of every workload among them is judged.
        report: a Trivy or Grype JSON report file, a directory of them, or a list of either.
        min_severity: UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH or CRITICAL (case-insensitive).
            Grype's Negligible ranks below LOW.
        ignore: vulnerability ids that do not apply, each with its reason:
            ``{"CVE-2023-1234": "not reachable: we do not use libfoo"}`` or ``[(id, reason)]``.
            An id also matches a finding that lists it as an alias (Trivy ``VendorIDs``, Grype
            ``relatedVulnerabilities``). Ignored findings are listed when the assertion fails.

    Raises:
        SecurityAssertionError: a finding at or above ``min_severity``; an image that no report
            covers (or, pinned by digest, none with its digest); an invalid image reference; no
            workload or no image among ``objs``.
        ScanReportError: a report that cannot be read or is not a Trivy or Grype image report.
        ValueError: an invalid ``min_severity`` or an ignore entry without a reason.
    """
    __tracebackhide__ = True
    threshold = parse_min_severity(min_severity)
    ignores = parse_ignore(ignore)
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
    # A malformed workload must not pass a gate that could not read it (fail closed).
    schema = builtin_registry().get("malformed-object")
    findings = evaluate([schema, check], workloads)
    recording.record(title, [schema, check], len(workloads), findings)
    if findings:
        lines = [format_findings(title, findings), *judge.ignored_lines(), *judge.unused_lines()]
        raise SecurityAssertionError("\n".join(lines), findings)
