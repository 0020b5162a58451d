"""Assertion helpers: thin wrappers that run checks through the engine and fail with a readable message.

Each helper takes one object or an iterable of them (K8sObject, or a plain manifest dict), raises
``SecurityAssertionError`` naming object, provenance, field path, container and fix, and never
passes on nothing: no objects, or none the checks judge, is a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pytest_k8ssec.asserts._failure import CheckRef, Objects, _named, _objects, _resolve, _run, format_findings
from pytest_k8ssec.checks import (
    builtin_registry,
    capabilities_added,
    host_path_volume,
    image_registry,
    sensitive_host_path,
)
from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import (
    LABEL_PREFIX,
    MODES,
    compare_levels,
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


def assert_passes(checks: CheckRef | Iterable[CheckRef], objs: Objects) -> None:
    """Assert that ``objs`` pass the given checks (ids or Check objects).

    Args:
        checks: a check id such as ``"privileged-container"``, a Check, or several.
        objs: one object or an iterable of objects.

    Raises:
        SecurityAssertionError: a violation, no object given, or no object the checks judge.
        KeyError: an unknown check id (the message lists the known ones).
    """
    __tracebackhide__ = True
    resolved = _resolve(checks)
    title = ", ".join(c.id for c in resolved) if len(resolved) <= 3 else f"{len(resolved)} checks"
    _run(title, resolved, objs)


def assert_not_privileged(objs: Objects) -> None:
    """Assert no container runs privileged (``securityContext.privileged: true``)."""
    __tracebackhide__ = True
    _named(("privileged-container",), objs)


def assert_no_privilege_escalation(objs: Objects) -> None:
    """Assert every container sets ``allowPrivilegeEscalation: false`` explicitly."""
    __tracebackhide__ = True
    _named(("privilege-escalation-allowed",), objs)


def assert_runs_as_non_root(objs: Objects) -> None:
    """Assert every container must run as non-root (``runAsNonRoot: true``) and none sets ``runAsUser: 0``."""
    __tracebackhide__ = True
    _named(("run-as-root-allowed", "run-as-user-root"), objs)


def assert_read_only_root_filesystem(objs: Objects) -> None:
    """Assert every container sets ``readOnlyRootFilesystem: true``."""
    __tracebackhide__ = True
    _named(("writable-root-filesystem",), objs)


def assert_capabilities(objs: Objects, drop_all: bool = True, allowed_add: Iterable[str] = ()) -> None:
    """Assert containers add no capability outside ``allowed_add`` and (by default) drop ``ALL``.

    Args:
        objs: one object or an iterable of objects.
        drop_all: require ``capabilities.drop`` to contain ``"ALL"``.
        allowed_add: capabilities a container may add (exact names, e.g. ``"NET_BIND_SERVICE"``).
    """
    __tracebackhide__ = True
    checks = [capabilities_added.configure(allowed_add)]
    if drop_all:
        checks.append(builtin_registry().get("capabilities-not-dropped"))
    _run(", ".join(c.id for c in checks), checks, objs)


def assert_no_host_namespaces(objs: Objects) -> None:
    """Assert no pod shares the host's network, PID or IPC namespace."""
    __tracebackhide__ = True
    _named(("host-namespaces",), objs)


def assert_no_host_path(objs: Objects, allowed: Iterable[str] = ()) -> None:
    """Assert no pod mounts a hostPath volume, except paths under ``allowed``.

    Sensitive host paths (``/``, the container runtime socket, ``/etc``, ...) are reported as
    such; listing one in ``allowed`` is an explicit decision and exempts it too.
    """
    __tracebackhide__ = True
    allowed = tuple(allowed)
    checks = [host_path_volume.configure(allowed), sensitive_host_path.configure(allowed)]
    _run("host-path-volume, sensitive-host-path", checks, objs)


def assert_no_host_ports(objs: Objects) -> None:
    """Assert no container binds a host port."""
    __tracebackhide__ = True
    _named(("host-port",), objs)


def assert_seccomp(objs: Objects) -> None:
    """Assert every container runs with a RuntimeDefault or Localhost seccomp profile, never Unconfined."""
    __tracebackhide__ = True
    _named(("seccomp-unconfined",), objs)


def assert_no_service_account_token_automount(objs: Objects) -> None:
    """Assert pods set ``automountServiceAccountToken: false``."""
    __tracebackhide__ = True
    _named(("service-account-token-automount",), objs)


def assert_resources(objs: Objects, requests: bool = True, limits: bool = True) -> None:
    """Assert every container sets CPU and memory requests and/or limits."""
    __tracebackhide__ = True
    ids = [i for i, wanted in (("missing-resource-requests", requests), ("missing-resource-limits", limits)) if wanted]
    if not ids:
        raise ValueError("assert_resources: requests and limits are both False; nothing to assert")
    _named(ids, objs)


# --- Pod Security Standards ----------------------------------------------------------------------


def assert_no_latest_tag(objs: Objects) -> None:
    """Assert no container image uses ``:latest``, written or implied by a missing tag and digest."""
    __tracebackhide__ = True
    _named(["image-latest-tag"], objs)


def assert_images_pinned(objs: Objects) -> None:
    """Assert every container image is pinned by digest (``repo@sha256:...``)."""
    __tracebackhide__ = True
    _named(["image-not-pinned"], objs)


def assert_images_from(objs: Objects, registries: Iterable[str]) -> None:
    """Assert every container image comes from one of ``registries``.

    Args:
        registries: registry prefixes such as ``"registry.example.com/"``, ``"gcr.io/my-project"``
            or ``"docker.io/library"``, matched on the normalized reference component by component
            (``docker.io/`` does not match ``docker.io.evil.com/``).
    """
    __tracebackhide__ = True
    _run("image-registry-not-allowed", [image_registry.configure(allowed=registries)], objs)


def assert_images_not_from(objs: Objects, registries: Iterable[str]) -> None:
    """Assert no container image comes from any of ``registries`` (matched as in ``assert_images_from``)."""
    __tracebackhide__ = True
    _run("image-registry-not-allowed", [image_registry.configure(denied=registries)], objs)


def assert_pull_policy(objs: Objects) -> None:
    """Assert every image not pinned by digest is pulled with ``imagePullPolicy: Always``.

    An unset policy counts as the API server defaults it: ``Always`` for ``:latest`` or no tag,
    ``IfNotPresent`` otherwise. Digest-pinned images are exempt.
    """
    __tracebackhide__ = True
    _named(["mutable-image-not-pulled"], objs)


def _pss_findings(
    objects: Sequence[K8sObject], policy_for: Callable[[K8sObject], tuple[str, str]]
) -> tuple[list[Finding], list[Check], int]:
    """Malformed-object findings, then each workload's PSS findings at ``policy_for(obj)``.

    Returns the findings, the checks that ran, and how many workloads were judged. An object whose
    pod spec cannot be read gets its malformed-object finding and no PSS verdict (fail closed).
    """
    schema = builtin_registry().get("malformed-object")
    findings: list[Finding] = []
    ran: dict[str, Check] = {schema.id: schema}
    judged = 0
    for obj in objects:
        ref = pod_spec(obj)
        if ref is None:
            continue
        judged += 1
        findings.extend(evaluate([schema], [obj]))
        if ref.malformed:
            continue
        level, version = policy_for(obj)
        result = evaluate_pod_security(obj, level, version)
        for item in result.results:
            check = item.check
            ran.setdefault(check.id, check)
            if not item.allowed:
                outcome = Outcome(False, item.reason, item.detail, item.paths, item.containers)
                findings.append(Finding(check, obj, to_violation(outcome, ref)))
    return findings, list(ran.values()), judged


def assert_pod_security(objs: Objects, level: str = "restricted", version: str = "latest") -> None:
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
    findings, ran, judged = _pss_findings(objects, lambda obj: (level, version))
    if not judged:
        kinds = ", ".join(sorted({obj.kind for obj in objects})) or "none"
        raise SecurityAssertionError(
            f"{title}: no workload among the {len(objects)} given objects (kinds: {kinds}); nothing was checked"
        )
    recording.record(title, ran, judged, findings)
    if findings:
        raise SecurityAssertionError(format_findings(title, findings), findings)


def _namespace_check(level: str, mode: str) -> Check:
    key = LABEL_PREFIX + mode

    def evaluate_namespace(obj: K8sObject) -> list[Violation]:
        policy = namespace_policy(obj)
        declared = policy.mode(mode)
        label = f'metadata.labels["{key}"]'
        errors = [e for e in policy.errors if f"[{key}]" in e]
        if errors:
            return [Violation(label, f"{'; '.join(errors)} (the admission applies {declared.level})")]
        if key not in obj.labels:
            return [
                Violation(
                    label,
                    f'namespace "{obj.name}" sets no {key} label, so {mode} is {declared} (the admission '
                    f'default); want at least "{level}"',
                )
            ]
        if compare_levels(declared.level, level) < 0:
            return [
                Violation(label, f'namespace "{obj.name}" {mode}s PodSecurity "{declared}"; want at least "{level}"')
            ]
        return []

    return Check(
        id="namespace-pod-security",
        title="Namespace Pod Security level",
        summary=f"Namespaces must {mode} Pod Security level {level} or stricter.",
        remediation=f"Label the namespace {key}={level} (and pin {key}-version if you need a fixed policy).",
        category=Category.PRIVILEGES,
        severity=Severity.HIGH,
        evaluate=evaluate_namespace,
        targets=frozenset({"Namespace"}),
        references=("https://kubernetes.io/docs/concepts/security/pod-security-admission/",),
    )


def assert_namespace_pod_security(ns: Objects, level: str = "restricted", mode: str = "enforce") -> None:
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
    _run(f"namespace pod-security {mode}>={level}", [_namespace_check(level, mode)], ns)


def assert_namespace_compliant(inventory: Inventory | Objects, namespace: str | Iterable[str] | None = None) -> None:
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

    findings, ran, judged = _pss_findings(selected, policy_for)
    recording.record(title, ran, judged, findings)
    if findings:
        raise SecurityAssertionError(format_findings(title, findings), findings)
