"""Assertion helpers for the Pod Security Standards: workloads at a level, namespaces' declared levels.

Workloads are judged exactly as Pod Security admission judges them (``checks/pss``); namespaces'
``pod-security.kubernetes.io/*`` labels are read as the admission plugin reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.asserts._failure import Objects, _conclude, _objects, _run
from pytest_k8ssec.checks import builtin_registry, namespace_pod_security_too_weak
from pytest_k8ssec.checks._check import Check
from pytest_k8ssec.checks.pss import (
    MODES,
    Level,
    Mode,
    evaluate_pod_security,
    namespace_policy,
    parse_level,
    parse_version,
)
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import to_violation
from pytest_k8ssec.engine import Finding, evaluate
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.inventory import Inventory
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import is_workload, pod_spec
from pytest_k8ssec.reporting import recording


def _pss_findings(
    objects: Sequence[K8sObject], policy_for: Callable[[K8sObject], tuple[str, str]]
) -> tuple[list[Finding], list[Check], int, list[recording.Judged]]:
    """Malformed-object findings, then each workload's PSS findings at ``policy_for(obj)``.

    Returns the findings, the checks that ran, how many workloads were judged, and per check and
    target how many workloads it judged (a namespace's level decides which controls run). An
    object whose pod spec cannot be read gets its malformed-object finding and no PSS verdict
    (fail closed).
    """
    schema = builtin_registry().get("malformed-object")
    findings: list[Finding] = []
    ran: dict[str, Check] = {schema.id: schema}
    counts: dict[tuple[str, str], int] = {}
    default = recording.current().target
    judged = 0
    for obj in objects:
        ref = pod_spec(obj)
        if ref is None:
            continue
        judged += 1
        target = recording.target_of(obj, default)
        counts[schema.id, target] = counts.get((schema.id, target), 0) + 1
        findings.extend(evaluate([schema], [obj]))
        if ref.malformed:
            continue
        level, version = policy_for(obj)
        result = evaluate_pod_security(obj, level, version)
        for item in result.results:
            check = item.check
            ran.setdefault(check.id, check)
            counts[check.id, target] = counts.get((check.id, target), 0) + 1
            if not item.allowed:
                outcome = Outcome(False, item.reason, item.detail, item.paths, item.containers)
                findings.append(Finding(check, obj, to_violation(outcome, ref)))
    per_check = [recording.Judged(check, target, count) for (check, target), count in counts.items()]
    return findings, list(ran.values()), judged, per_check


@keyword_only("level", "version")
def assert_pod_security(objs: Objects, *, level: Level = "restricted", version: str = "latest") -> None:
    """Assert every workload passes the Pod Security Standard ``level`` at policy ``version``.

    Evaluates exactly as Pod Security admission does (k8s.io/pod-security-admission): every
    baseline and restricted control at every policy version, ``latest`` (and future versions)
    meaning the newest version defined, the Windows (``spec.os.name: windows``) and user-namespace
    (``hostUsers: false``) relaxations, restricted controls replacing their baseline counterparts.
    Messages carry upstream's reason and detail texts. Controllers (Deployment, CronJob, ...) are
    judged by their pod template: the admission only *enforces* on Pods but warns and audits on
    templates, and a template that fails makes every pod it creates fail.

    Args:
        objs: one object or an iterable of objects; objects without a pod spec are skipped.
        level: ``privileged``, ``baseline`` or ``restricted``.
        version: ``latest`` or ``v1.<minor>``.

    Raises:
        SecurityAssertionError: a violation, a malformed pod spec, or no workload given.
        ValueError: an invalid level or version.
    """
    __tracebackhide__ = True
    parse_level(level)
    parse_version(version)
    title = f"pod-security {level}:{version}"
    objects = _objects(objs)
    findings, ran, judged, per_check = _pss_findings(objects, lambda obj: (level, version))
    if not judged:
        kinds = ", ".join(sorted({obj.kind for obj in objects})) or "none"
        raise SecurityAssertionError(
            f"{title}: no workload among the {len(objects)} given objects (kinds: {kinds}); nothing was checked"
        )
    _conclude(title, ran, objects, findings, judged=per_check)


@keyword_only("level", "mode")
def assert_namespace_pod_security(ns: Objects, *, level: Level = "restricted", mode: Mode = "enforce") -> None:
    """Assert Namespace objects declare Pod Security ``level`` (or stricter) for ``mode``.

    The ``pod-security.kubernetes.io/<mode>`` label is read as the admission plugin reads it; an
    invalid value fails with upstream's error (even where the admission would fall back to
    ``restricted``: a typo is not a declaration), and an unlabelled namespace fails, since the
    admission default is ``privileged``.

    Args:
        ns: one Namespace object or an iterable of objects (non-Namespace objects are ignored).
        level: the least strict level acceptable: ``baseline`` or ``restricted``.
        mode: ``enforce``, ``audit`` or ``warn``.
    """
    __tracebackhide__ = True
    parse_level(level)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    _run(f"namespace pod-security {mode}>={level}", [namespace_pod_security_too_weak.configure(level, mode)], ns)


@keyword_only("namespace")
def assert_namespace_compliant(inventory: Inventory | Objects, *, namespace: str | Iterable[str] | None = None) -> None:
    """Assert every workload passes the Pod Security level its own namespace enforces.

    For each namespace (``namespace``, several, or ``None`` for every namespace holding a
    workload) the Namespace object is looked up in ``inventory`` (the ``k8s_inventory`` fixture,
    or any iterable of objects), its ``pod-security.kubernetes.io/enforce[-version]`` labels read
    as the admission reads them (invalid values included), and every workload in it evaluated at
    that level:version, as the admission would at creation. Pod templates of controllers are
    judged too (the admission enforces on the Pods they create). A namespace whose Namespace
    object is not in the inventory fails: its policy is unknown.
    """
    __tracebackhide__ = True
    if isinstance(inventory, Inventory):
        declared = list(inventory.by_kind("Namespace"))
        workloads = inventory.workloads()  # a live Deployment's ReplicaSets and Pods are judged through it
    else:
        objects = _objects(inventory)
        declared = [obj for obj in objects if obj.kind == "Namespace"]
        workloads = [obj for obj in objects if is_workload(obj)]
    namespaces = {obj.name: obj for obj in declared if obj.api_group == ""}
    wanted = None if namespace is None else ({namespace} if isinstance(namespace, str) else set(namespace))
    names = sorted(wanted if wanted is not None else {o.namespace for o in workloads if o.namespace})
    title = "pod-security namespace enforce levels"
    if not names:
        raise SecurityAssertionError(f"{title}: no workload in any namespace; nothing was checked")
    missing = [name for name in names if name not in namespaces]
    if missing:
        raise SecurityAssertionError(
            f"{title}: no Namespace object for {', '.join(repr(n) for n in missing)} in the inventory, so the "
            "enforced level is unknown; add the Namespace manifests (or read them from the cluster)"
        )
    policies = {name: namespace_policy(namespaces[name]).enforce for name in names}
    selected = [obj for obj in workloads if obj.namespace in policies]
    if not selected:
        raise SecurityAssertionError(f"{title}: no workload in namespace(s) {', '.join(names)}; nothing was checked")
    shown = ", ".join(f"{name}={policy}" for name, policy in policies.items())
    title = (
        f"pod-security {next(iter(policies.values()))} (namespace {names[0]} enforce)"
        if len(names) == 1
        else f"{title} ({shown})"
    )

    def policy_for(obj: K8sObject) -> tuple[str, str]:
        policy = policies[obj.namespace or ""]
        return policy.level, str(policy.version)

    findings, ran, _, per_check = _pss_findings(selected, policy_for)
    _conclude(title, ran, selected, findings, judged=per_check)
