"""The PSS controls in order, their versioned implementations, and which checks run at a level:version.

Follows ``policy/registry.go`` of k8s.io/pod-security-admission:

- every control lists ``(minimum version, function)`` pairs; a pair applies from its version up to
  the next pair's;
- the newest minimum version over all controls is the registry's max version; ``latest`` and
  every version newer than it (``v1.99``) are evaluated as the max version;
- ``restricted`` runs the restricted controls plus every baseline control no restricted control
  *at that version* overrides; baseline ids come first, each group sorted byte-wise by id.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, PssControl, Severity, Violation
from pytest_k8ssec.checks._controls import PSS_UPSTREAM
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import PodSpecRef, pod_spec

LEVELS: Final = ("privileged", "baseline", "restricted")
PSS_REFERENCE: Final = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

# In report order (upstream's own order is computed from the ids, see ordered()).
CONTROL_MODULES: Final = (
    "check_host_namespaces",
    "check_privileged",
    "check_capabilities_baseline",
    "check_host_path_volumes",
    "check_host_ports",
    "check_host_probes_and_host_lifecycle",
    "check_apparmor_profile",
    "check_selinux_options",
    "check_proc_mount",
    "check_seccomp_profile_baseline",
    "check_sysctls",
    "check_windows_host_process",
    "check_restricted_volumes",
    "check_allow_privilege_escalation",
    "check_run_as_non_root",
    "check_run_as_user",
    "check_seccomp_profile_restricted",
    "check_capabilities_restricted",
    "check_proc_mount_restricted",
)


@dataclass(frozen=True, order=True, slots=True)
class Version:
    """A policy version ``v1.<minor>``, or ``latest`` (newer than every numbered version)."""

    latest: bool = False
    major: int = 1
    minor: int = 0

    def __str__(self) -> str:
        return "latest" if self.latest else f"v{self.major}.{self.minor}"

    def older(self, other: Version) -> bool:
        """True when this version is older than ``other`` (``latest`` is older than nothing)."""
        if self.latest:
            return False
        if other.latest:
            return True
        return (self.major, self.minor) < (other.major, other.minor)


LATEST: Final = Version(latest=True)


def v(major: int, minor: int) -> Version:
    """``v(1, 25)`` is policy version v1.25."""
    return Version(False, major, minor)


CheckFn = Callable[[PodSpecRef, K8sObject], Outcome]


@dataclass(frozen=True, slots=True)
class Versioned:
    """One implementation of a control, in force from ``minimum`` on; may override baseline controls."""

    minimum: Version
    check: CheckFn
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Control:
    """A PSS control as upstream registers it: id, level, versioned implementations."""

    id: str
    level: str
    versions: tuple[Versioned, ...]
    check_id: str = field(default="")

    def __post_init__(self) -> None:
        if self.level not in ("baseline", "restricted"):
            raise ValueError(f"control {self.id}: invalid level {self.level}")
        if not self.versions:
            raise ValueError(f"control {self.id}: empty")
        for earlier, later in zip(self.versions, self.versions[1:]):
            if not earlier.minimum.older(later.minimum):
                raise ValueError(f"control {self.id}: versions must be strictly increasing")
        if any(entry.minimum.latest for entry in self.versions):
            raise ValueError(f"control {self.id}: version cannot be 'latest'")
        if self.level != "restricted" and any(entry.overrides for entry in self.versions):
            raise ValueError(f"control {self.id}: only restricted controls may set overrides")

    def at(self, version: Version) -> Versioned | None:
        """The implementation in force at ``version`` (``None`` before the first one)."""
        found = None
        for entry in self.versions:
            if entry.minimum.older(version) or entry.minimum == version:
                found = entry
        return found


# A control's outcome per object: the pss-* check, the opinionated checks built on the control
# (capabilities-added, host-path-volume, ...) and assert_pod_security all ask it of the same
# pod; implementations read only the object, and objects are immutable.
_OUTCOMES: Final = "pss.outcomes"


def _no_outcomes(obj: K8sObject) -> dict[CheckFn, Outcome]:
    return {}


def judge(check: CheckFn, pod: PodSpecRef, obj: K8sObject) -> Outcome:
    """``check(pod, obj)`` for ``pod = pod_spec(obj)``, computed once per object and implementation."""
    known: dict[CheckFn, Outcome] = obj.memo(_OUTCOMES, _no_outcomes)
    found = known.get(check)
    if found is None:
        found = known[check] = check(pod, obj)
    return found


def to_violation(outcome: Outcome, pod: PodSpecRef) -> Violation:
    """The finding of a forbidding outcome, worded as upstream's aggregate detail item.

    One violation per failing control (as the API server counts them), at the first field path;
    further paths are listed in the message.
    """
    message = f"{outcome.reason} ({outcome.detail})" if outcome.detail else outcome.reason
    paths = outcome.paths or (pod.path,)
    if len(paths) > 1:
        message = f"{message}; also at {', '.join(paths[1:])}"
    container = outcome.containers[0] if len(outcome.containers) == 1 else None
    return Violation(paths[0], message, container)


def outcome(control: Control, obj: K8sObject, version: Version | None = None) -> Outcome:
    """What ``control`` says about the pod (template) of ``obj``: its newest implementation, or the one in force at ``version``.

    The opinionated checks that build on a control call this, so the control's logic stays in
    its one module. Allowed when ``obj`` has no readable pod spec (malformed-object reports it)
    or the control did not exist yet at ``version``.
    """
    pod = pod_spec(obj)
    if pod is None or pod.malformed:
        return ALLOWED
    if version is not None:
        entry = control.at(version)
        return ALLOWED if entry is None else judge(entry.check, pod, obj)
    # judge() inlined for the newest implementation, which every opinionated check asks of
    # every workload it is given: two calls less per (check, object) pair.
    check = control.versions[-1].check
    cache = obj._cache
    known: dict[CheckFn, Outcome] | None = cache.get(_OUTCOMES)
    if known is None:
        known = cache[_OUTCOMES] = {}
    found = known.get(check)
    if found is None:
        found = known[check] = check(pod, obj)
    return found


def make_check(
    control: Control,
    *,
    title: str,
    summary: str,
    remediation: str,
    category: Category,
    severity: Severity,
    controls: tuple[str, ...] = (),
) -> Check:
    """The registry check of a control: it runs the control's newest implementation (``latest``).

    Its first control id is the control's own (``PSS_UPSTREAM``), derived so that the check and
    the catalog cannot disagree; ``controls`` adds those of other frameworks (CIS, NSA, MITRE).
    """
    claimed = [control_id for control_id in controls if control_id.startswith("PSS-")]
    if claimed:
        raise ValueError(f"{control.check_id} claims its own PSS control; do not pass {claimed}")
    newest = control.versions[-1].check

    def evaluate(obj: K8sObject) -> list[Violation]:
        pod = pod_spec(obj)
        if pod is None or pod.malformed:
            return []  # malformed-object reports a pod spec that cannot be read
        found = judge(newest, pod, obj)
        return [] if found.allowed else [to_violation(found, pod)]

    anchor = "#baseline" if control.level == "baseline" else "#restricted"
    return Check(
        id=control.check_id,
        title=title,
        summary=summary,
        remediation=remediation,
        category=category,
        severity=severity,
        evaluate=evaluate,
        controls=(PSS_UPSTREAM[control.id], *controls),
        references=(PSS_REFERENCE + anchor,),
        pss=PssControl(control.level, control.id, str(control.versions[0].minimum)),
    )


# --- the table: which implementations run at each level and version --------------------------


@dataclass(frozen=True)
class Table:
    """Every control, the max version, and the ordered (control, implementation) list per level:version."""

    controls: tuple[Control, ...]
    checks: tuple[Check, ...]
    max_version: Version
    runs: dict[tuple[str, Version], tuple[tuple[Control, Versioned], ...]]

    def plan(self, level: str, version: Version) -> tuple[tuple[Control, Versioned], ...]:
        """What runs for ``level:version``, after clamping ``latest`` and future versions."""
        if level == "privileged":
            return ()
        if self.max_version.older(version):
            version = self.max_version
        return self.runs.get((level, version), ())

    def clamp(self, version: Version) -> Version:
        """The version actually evaluated for ``version``."""
        return self.max_version if self.max_version.older(version) else version


_table: Table | None = None


def _next(version: Version) -> Version:
    return v(version.major, version.minor + 1)


def _build() -> Table:
    modules = [importlib.import_module(f"pytest_k8ssec.checks.pss.{name}") for name in CONTROL_MODULES]
    controls: tuple[Control, ...] = tuple(module.CONTROL for module in modules)
    checks: tuple[Check, ...] = tuple(module.CHECK for module in modules)
    ids = [c.id for c in controls]
    if len(ids) != len(set(ids)):
        raise ValueError("multiple controls registered for one id")
    max_version = v(1, 0)
    for control in controls:
        last = control.versions[-1].minimum
        if max_version.older(last):
            max_version = last
    # Byte-wise sort of the ids, baseline first: Go's slices.Sort on strings.
    baseline = sorted((c for c in controls if c.level == "baseline"), key=lambda c: c.id.encode())
    restricted = sorted((c for c in controls if c.level == "restricted"), key=lambda c: c.id.encode())
    runs: dict[tuple[str, Version], tuple[tuple[Control, Versioned], ...]] = {}
    version = v(1, 0)
    while not max_version.older(version):
        base = [(c, e) for c in baseline if (e := c.at(version)) is not None]
        strict = [(c, e) for c in restricted if (e := c.at(version)) is not None]
        overridden = {o for _, e in strict for o in e.overrides}
        runs[("baseline", version)] = tuple(base)
        runs[("restricted", version)] = tuple([(c, e) for c, e in base if c.id not in overridden] + strict)
        version = _next(version)
    return Table(controls, checks, max_version, runs)


def table() -> Table:
    """The control table (built on first use)."""
    global _table
    if _table is None:
        _table = _build()
    return _table
