"""Pod Security Standards, evaluated exactly as k8s.io/pod-security-admission evaluates them.

Pure: no pytest, no kubernetes client. One module per upstream control (``check_*.py``), the
version table in ``_registry.py``. ``evaluate_pod_security(obj, level, version)`` judges the pod
(template) of any workload kind; ``namespace_policy(namespace)`` reads a namespace's
``pod-security.kubernetes.io/*`` labels the way the admission plugin does.

Objects are judged as written: the API server's defaulting (it runs before admission) is not
replayed, so e.g. a volume without a source is "unknown" here where the server would have made it
an emptyDir, and ``hostNetwork: true`` does not copy containerPort into hostPort.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Union

from pytest_k8ssec.checks._check import Check
from pytest_k8ssec.checks.pss._registry import LATEST, LEVELS, Version, judge, table
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.workloads import pod_spec

LABEL_PREFIX: Final = "pod-security.kubernetes.io/"
MODES: Final = ("enforce", "audit", "warn")
#: A Pod Security level, least strict first (the values of ``LEVELS``).
Level = Literal["privileged", "baseline", "restricted"]
#: A Pod Security admission mode, as in the label ``pod-security.kubernetes.io/<mode>`` (the values of ``MODES``).
Mode = Literal["enforce", "audit", "warn"]
_VERSION = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")
_STRICTNESS: Final = {"privileged": 0, "baseline": 1, "restricted": 2}


def parse_level(text: str) -> str:
    """``privileged``, ``baseline`` or ``restricted``; anything else is a ``ValueError`` (upstream's message)."""
    if text in LEVELS:
        return text
    raise ValueError(f"must be one of {', '.join(LEVELS)}")


def parse_version(text: str) -> Version:
    """``latest`` or ``v1.<minor>`` (no leading zeros); anything else is a ``ValueError``."""
    if text == "latest":
        return LATEST
    match = _VERSION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError('must be "latest" or "v1.x"')
    return Version(False, 1, int(match.group(1)))


def compare_levels(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is less strict than, as strict as, or stricter than ``b``."""
    diff = _STRICTNESS[a] - _STRICTNESS[b]
    return (diff > 0) - (diff < 0)


def max_version() -> Version:
    """The newest policy version any control defines; ``latest`` and newer versions evaluate as it."""
    return table().max_version


@dataclass(frozen=True, slots=True)
class LevelVersion:
    """A level and a policy version, shown as upstream shows them: ``restricted:latest``."""

    level: str
    version: Version

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One control's verdict on one pod: upstream control id, our check id, reason, detail, field paths."""

    control: str
    check_id: str
    level: str
    allowed: bool
    reason: str = ""
    detail: str = ""
    paths: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()

    @property
    def check(self) -> Check:
        """The registry check of this control."""
        return next(c for c in table().checks if c.id == self.check_id)


@dataclass(frozen=True, slots=True)
class PodSecurityResult:
    """Every control run for ``policy`` on one object, in upstream's order (allowed ones included)."""

    obj: K8sObject
    policy: LevelVersion
    evaluated_version: Version
    results: tuple[CheckResult, ...]

    @property
    def allowed(self) -> bool:
        """True when no control forbids the pod."""
        return all(result.allowed for result in self.results)

    @property
    def violations(self) -> tuple[CheckResult, ...]:
        """The forbidding results only."""
        return tuple(result for result in self.results if not result.allowed)

    @property
    def forbidden_reason(self) -> str:
        """Reasons joined by ``", "`` (upstream's ``ForbiddenReason()``)."""
        return ", ".join(result.reason or "unknown forbidden reason" for result in self.violations)

    @property
    def forbidden_detail(self) -> str:
        """``reason (detail)`` items joined by ``", "`` (upstream's ``ForbiddenDetail()``)."""
        return ", ".join(
            f"{r.reason or 'unknown forbidden reason'} ({r.detail})"
            if r.detail
            else r.reason or "unknown forbidden reason"
            for r in self.violations
        )

    @property
    def message(self) -> str:
        """What the API server says: ``violates PodSecurity "restricted:latest": ...`` (empty when allowed)."""
        if self.allowed:
            return ""
        return f'violates PodSecurity "{self.policy}": {self.forbidden_detail}'


Obj = Union[K8sObject, Mapping[str, Any]]


def _as_object(obj: Obj) -> K8sObject:
    return obj if isinstance(obj, K8sObject) else K8sObject(obj, Provenance("<dict>"))


def evaluate_pod_security(obj: Obj, level: str = "restricted", version: str = "latest") -> PodSecurityResult:
    """Judge the pod (template) of ``obj`` against ``level:version`` as Pod Security admission does.

    ``latest`` and versions newer than the newest defined one are evaluated as the newest one
    (``max_version()``); ``privileged`` runs no control.

    Raises:
        ValueError: an invalid level or version, an object without a pod spec, or a pod spec that
            is not a mapping (the API server would reject the object; nothing can be judged).
    """
    policy = LevelVersion(parse_level(level), parse_version(version))
    target = _as_object(obj)
    pod = pod_spec(target)
    if pod is None:
        raise ValueError(
            f"{target.display} ({target.provenance}) has no pod spec; Pod Security judges pods and workloads"
        )
    if pod.malformed:
        raise ValueError(f"{target.display} ({target.provenance}) has no readable pod spec at {pod.path}")
    registry = table()
    results = []
    for control, entry in registry.plan(policy.level, policy.version):
        outcome = judge(entry.check, pod, target)
        results.append(
            CheckResult(
                control.id,
                control.check_id,
                control.level,
                outcome.allowed,
                outcome.reason,
                outcome.detail,
                outcome.paths,
                outcome.containers,
            )
        )
    return PodSecurityResult(target, policy, registry.clamp(policy.version), tuple(results))


# --- namespaces ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamespacePolicy:
    """The effective enforce/audit/warn level:version of a namespace, and the label errors found."""

    enforce: LevelVersion
    audit: LevelVersion
    warn: LevelVersion
    errors: tuple[str, ...] = ()

    def mode(self, mode: str) -> LevelVersion:
        """The level:version of ``enforce``, ``audit`` or ``warn``."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        result: LevelVersion = getattr(self, mode)
        return result


DEFAULT_POLICY: Final = NamespacePolicy(
    LevelVersion("privileged", LATEST), LevelVersion("privileged", LATEST), LevelVersion("privileged", LATEST)
)


def namespace_policy(namespace: Obj | Mapping[str, str], defaults: NamespacePolicy = DEFAULT_POLICY) -> NamespacePolicy:
    """The Pod Security policy a namespace's labels select, as ``api.PolicyToEvaluate`` resolves it.

    ``namespace`` is a Namespace object (K8sObject or manifest dict). ``defaults`` stand for the
    admission configuration (privileged:latest for every mode unless configured). Invalid values
    fall back as upstream does: an invalid enforce level is ``restricted`` (fail closed), an
    invalid audit or warn level ``privileged`` (fail open), an invalid version ``latest``; each is
    recorded in ``errors``. When ``warn`` is unset and enforce is set stricter than it, warn
    follows enforce (level, and version unless ``warn-version`` is set).
    """
    target = _as_object(namespace)
    labels = {str(k): v for k, v in target.labels.items()}
    enforce, audit, warn = defaults.enforce, defaults.audit, defaults.warn
    errors: list[str] = []

    def level_of(mode: str, fallback: str) -> tuple[str | None, bool]:
        key = LABEL_PREFIX + mode
        if key not in labels:
            return None, False
        value = labels[key]
        try:
            return parse_level(value if isinstance(value, str) else str(value)), True
        except ValueError as exc:
            errors.append(f'metadata.labels[{key}]: Invalid value: "{value}": {exc}')
            return fallback, False

    def version_of(mode: str) -> Version | None:
        key = f"{LABEL_PREFIX}{mode}-version"
        if key not in labels:
            return None
        value = labels[key]
        try:
            return parse_version(value if isinstance(value, str) else str(value))
        except ValueError as exc:
            errors.append(f'metadata.labels[{key}]: Invalid value: "{value}": {exc}')
            return LATEST

    level, has_enforce = level_of("enforce", "restricted")
    if level is not None:
        enforce = LevelVersion(level, enforce.version)
    version = version_of("enforce")
    if version is not None:
        enforce = LevelVersion(enforce.level, version)
    level, _ = level_of("audit", "privileged")
    if level is not None:
        audit = LevelVersion(level, audit.version)
    version = version_of("audit")
    if version is not None:
        audit = LevelVersion(audit.level, version)
    has_warn = LABEL_PREFIX + "warn" in labels
    level, _ = level_of("warn", "privileged")
    if level is not None:
        warn = LevelVersion(level, warn.version)
    warn_version = version_of("warn")
    if warn_version is not None:
        warn = LevelVersion(warn.level, warn_version)
    if not has_warn and has_enforce and compare_levels(enforce.level, warn.level) > 0:
        warn = LevelVersion(enforce.level, warn.version if warn_version is not None else enforce.version)
    return NamespacePolicy(enforce, audit, warn, tuple(errors))


def checks(level: str = "restricted", version: str = "latest") -> tuple[Check, ...]:
    """The registry checks run for ``level:version``, in upstream's order."""
    registry = table()
    plan = registry.plan(parse_level(level), parse_version(version))
    by_id = {check.id: check for check in registry.checks}
    return tuple(by_id[control.check_id] for control, _ in plan)


def all_checks() -> tuple[Check, ...]:
    """Every PSS registry check, in report order."""
    return table().checks


__all__ = (
    "CheckResult",
    "Level",
    "LevelVersion",
    "Mode",
    "NamespacePolicy",
    "PodSecurityResult",
    "Version",
    "all_checks",
    "checks",
    "compare_levels",
    "evaluate_pod_security",
    "max_version",
    "namespace_policy",
    "parse_level",
    "parse_version",
)
