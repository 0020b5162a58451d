"""Trivy and Grype image scan reports as records, read exactly as written; pure (no I/O).

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
it is testable without files; ``pytest_k8ssec.sources.scan_reports`` reads the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.images import ImageRef, ImageReferenceError, parse_image

SEVERITIES: Final = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SEVERITY_RANK: Final = {name: rank for rank, name in enumerate(SEVERITIES)}

# Trivy result classes that mean "these packages were scanned for vulnerabilities".
_VULN_CLASSES: Final = frozenset({"os-pkgs", "lang-pkgs"})

# OCI image-spec descriptor digest grammar: algorithm ":" encoded.
_DIGEST: Final = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


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
        return SEVERITY_RANK[self.severity]

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
    if isinstance(value, str) and value.upper() in SEVERITY_RANK:
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
