"""Our checks agree with the labelled sets of Polaris, kube-score, kube-linter and kubesec.

Polaris', kube-linter's and kubesec's data lives in ``../shared/oracles/linters/`` and is read in
place (see its README); no package registry serves it, so these pairs run where ``../shared`` is
beside the checkout. kube-score's testdata is read from the Go module ``github.com/zegl/kube-score``
(``tests/oracles/go-modules.txt``) and its grades from ``kube_score_grades.csv`` beside this file,
transcribed from the same module's Go tests. Each tool
labels objects in its own way; ``PAIRS`` says, for every check of theirs whose definition is ours,
how their label turns into "this object violates the rule", and which of our findings count:

- Polaris (``test/checks/<id>/{success,failure}*.yaml``, ``index.csv``): one verdict per file, for
  the one workload in it (a ServiceAccount beside it is context). ``mutated*.yaml`` files are the
  output of Polaris's own fix for a failing file, so they are labelled as passing.
- kube-score (``kube_score_grades.csv``): one grade per file for the first object, run with the
  default configuration (rows that turn a requirement off by flag are not comparable).
- kube-linter (``expected_reports.json``): each test runs one check with ``--include``; the report
  list is complete, objects named ``dont-fire`` must not be reported, and each report names the
  kind and, for container checks, the container; an object fails when a report points at it.
- kubesec (``expected_scores.json``): only the sign of the file's score is given. The score is the
  sum of the points of the rules that match (pkg/ruler/ruleset.go @ a59caad), so the sign decides a
  rule only in some files; ``kubesec_label`` derives those verdicts soundly and leaves the rest out.

Where a definition of theirs differs from ours on purpose, the pair keeps only the objects on which
the two definitions coincide (``only``, each exclusion with its reason), or, when nothing of it is
comparable, it is listed in ``DIFFERENCES`` with the reason instead of being compared at all.

Run with ``-s`` to see the per-pair and per-tool counts of compared verdicts.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.checks.dangerous_capabilities import canonical
from pytest_k8ssec.checks.host_path_volume import normalize_host_path
from pytest_k8ssec.checks.unsafe_sysctls import SAFE_SYSCTLS
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import is_workload, pod_spec
from pytest_k8ssec.sources.manifests import load_file, load_text

# Fewer compared (pair, object) verdicts than this means pairs silently stopped comparing (data moved,
# a loader or subset broke). Measured: 168 (Polaris 94, kube-score 24, kube-linter 31, kubesec 19).
FLOOR = 136  # Polaris, kube-linter, kubesec (../shared/oracles)
KUBE_SCORE_FLOOR = 24  # kube-score (its Go module)
KUBE_SCORE_GRADES_CSV = Path(__file__).with_name("kube_score_grades.csv")

# --------------------------------------------------------------------------------------------------
# Labelled objects


@dataclass(frozen=True)
class Labelled:
    """One object with a tool's label for one of its checks.

    ``value`` is what the mapping of a pair reads (``pass``/``fail``, a kube-score grade,
    ``reported``/``not reported``, kubesec ``matched``/``not matched``); ``label`` is the same
    verdict as the tool's data states it, for messages.
    """

    where: str
    obj: K8sObject | None
    context: tuple[K8sObject, ...]
    value: str
    label: str
    rejected: str = ""  # why our loader refused the file (then there is no object to judge)


Source = Callable[[Path], list[Labelled]]


def _objects(path: Path) -> list[K8sObject]:
    objects = load_file(path)
    if not objects:
        raise AssertionError(f"{path}: no object loaded from a labelled file")
    return objects


def _rejected(where: str, value: str, label: str, error: ManifestError) -> Labelled:
    """A labelled file our loader refuses (as kubectl would): nothing of ours to compare."""
    return Labelled(where, None, (), value, label, rejected=str(error).split(": ", 1)[-1])


def _the_workload(objects: list[K8sObject], where: str) -> K8sObject | None:
    """The one workload of a file labelled as a whole (``None`` if it holds none)."""
    workloads = [obj for obj in objects if is_workload(obj)]
    if len(workloads) > 1:
        raise AssertionError(f"{where}: a per-file label but {len(workloads)} workloads; which one is meant?")
    return workloads[0] if workloads else None


# Polaris reads only the kind (it decodes every pod-bearing object alike); these fixtures write
# `apiVersion: v1` for a Deployment, a kind that the core group does not have. Read as apps/v1.
POLARIS_API_VERSION_FIXUPS: dict[str, str] = {
    "test/checks/runAsRootAllowed/": "apps/v1",
}


def polaris(check_id: str) -> Source:
    def source(oracles: Path) -> list[Labelled]:
        root = oracles / "linters" / "polaris"
        with (root / "index.csv").open(newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row["check"] == check_id]
        if not rows:
            raise AssertionError(f"polaris index.csv lists no file for {check_id}")
        cases = []
        for row in rows:
            where = f"polaris/{row['file']}"
            objects = _objects(root / row["file"])
            expected = row["expected"]
            if expected.startswith("expected-mutation-output-of:"):
                value, label = "pass", f"pass (Polaris's fix of {expected.split(':', 1)[1]})"
            else:
                value, label = expected, expected
            for prefix, api_version in POLARIS_API_VERSION_FIXUPS.items():
                if row["file"].startswith(prefix):
                    objects = [K8sObject({**o.raw, "apiVersion": api_version}, o.provenance) for o in objects]
                    label += f", read as {api_version}"
            cases.append(Labelled(where, _the_workload(objects, where), tuple(objects), value, label))
        return cases

    return source


KUBE_SCORE_GRADES = {"critical(1)": "critical", "warning(5)": "warning", "all_ok(10)": "all_ok"}


def kube_score(check_name: str) -> Source:
    def source(root: Path) -> list[Labelled]:
        with KUBE_SCORE_GRADES_CSV.open(newline="") as handle:
            lines = [line for line in handle if not line.startswith("#")]
        rows = [row for row in csv.DictReader(lines) if row["check_name"] == check_name]
        if not rows:
            raise AssertionError(f"{KUBE_SCORE_GRADES_CSV.name} has no row for {check_name!r}")
        cases = []
        for row in rows:
            where = f"kube-score/score/testdata/{row['yaml_files']} ({row['go_test_func']})"
            objects = _objects(root / "testdata" / row["yaml_files"])
            grade = KUBE_SCORE_GRADES.get(row["expected_grade"], row["expected_grade"])
            # A requirement switched off by flag is not the check we compare with.
            if re.search(r"Ignore\w+=true", row["run_config"]):
                grade = f"not default configuration ({row['run_config']})"
            cases.append(Labelled(where, _the_workload(objects, where), tuple(objects), grade, row["expected_grade"]))
        return cases

    return source


def _container_names(obj: K8sObject) -> set[str]:
    """Container names of any pod-bearing object, ours or not (an OpenShift DeploymentConfig too)."""
    if is_workload(obj):
        return {ref.name for ref in containers(obj)}
    spec = as_mapping(as_mapping(as_mapping(obj.raw.get("spec")).get("template")).get("spec"))
    return {
        str(as_mapping(c).get("name"))
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in as_list(spec.get(key))
    }


_REPORT = re.compile(r"^(?P<kind>\w+): (?P<message>.*)$")
_CONTAINER_IN_MESSAGE = re.compile(r'\bcontainer "?(?P<name>[\w.-]+)"?')


def kube_linter(test: str, message: str = "") -> Source:
    """kube-linter's verdicts for the check that ``test`` runs; only reports matching ``message`` count."""

    def source(oracles: Path) -> list[Labelled]:
        root = oracles / "linters" / "kube-linter"
        entries = [e for e in json.loads((root / "expected_reports.json").read_text()) if e["test"] == test]
        if len(entries) != 1:
            raise AssertionError(f"kube-linter expected_reports.json has {len(entries)} entries for {test!r}")
        entry = entries[0]
        reports = [r["kind_and_message"] for r in entry["expected_reports"]]
        # The mapping below needs every report: a partial list would turn misses into passes.
        assert entry["expected_report_count"] == len(reports), f"{test}: report list incomplete"
        objects: list[tuple[str, K8sObject, tuple[K8sObject, ...]]] = []
        for name in entry["files"]:
            loaded = _objects(root / name)
            for obj in loaded:
                objects.append((f"kube-linter/{name} {obj.kind}/{obj.name}", obj, tuple(loaded)))
        pointed: dict[int, list[str]] = {}
        for report in reports:
            match = _REPORT.match(report)
            assert match, f"{test}: unreadable report {report!r}"
            named = _CONTAINER_IN_MESSAGE.search(match["message"])
            targets = [
                index
                for index, (_, obj, _) in enumerate(objects)
                if obj.name != "dont-fire"
                and obj.kind == match["kind"]
                and (named is None or named["name"] in _container_names(obj))
            ]
            if len(targets) != 1:
                raise AssertionError(f"{test}: report {report!r} points at {len(targets)} objects, not one")
            if re.search(message, match["message"]):
                pointed.setdefault(targets[0], []).append(report)
        cases = []
        for index, (where, obj, context) in enumerate(objects):
            if obj.name == "dont-fire":
                cases.append(Labelled(where, obj, context, "not reported", "dont-fire"))
            elif index in pointed:
                cases.append(Labelled(where, obj, context, "reported", "; ".join(pointed[index])))
            else:
                cases.append(Labelled(where, obj, context, "not reported", "no report"))
        return cases

    return source


# kubesec's rule table (pkg/ruler/ruleset.go @ a59caad): points, and the text a manifest must contain
# for the rule to be able to match (lower-cased; any alternative suffices, an alternative needs all of
# its words). The words over-approximate: a rule cannot match a manifest that lacks them.
KUBESEC_RULES: dict[str, tuple[int, tuple[tuple[str, ...], ...]]] = {
    "Privileged": (-30, (("privileged",),)),
    "CapSysAdmin": (-30, (("sys_admin",),)),
    "BindingsToSystemAnonymous": (-30, (("system:anonymous",),)),
    "HostNetwork": (-9, (("hostnetwork",),)),
    "HostPID": (-9, (("hostpid",),)),
    "HostIPC": (-9, (("hostipc",),)),
    "DockerSock": (-9, (("/var/run/docker.sock",),)),
    "ProcMount": (-9, (("/proc",),)),
    "AllowPrivilegeEscalation": (-7, (("allowprivilegeescalation",),)),
    "SecretsAsEnvironmentVariables": (-5, (("secretkeyref",), ("secretref",))),
    "HostAliases": (-3, (("hostaliases",),)),
    "SeccompUnconfined": (-1, (("seccompprofile", "unconfined"),)),
    "ApparmorUnconfined": (-1, (("apparmorprofile", "unconfined"),)),
    "ReadOnlyRootFilesystem": (1, (("readonlyrootfilesystem",),)),
    "RunAsNonRoot": (1, (("runasnonroot",),)),
    "RunAsUser": (1, (("runasuser",),)),
    "RunAsGroup": (1, (("runasgroup",),)),
    "CapDropAny": (1, (("drop",),)),
    "CapDropAll": (1, (("drop",),)),
    "RequestsCPU": (1, (("requests", "cpu"),)),
    "LimitsCPU": (1, (("limits", "cpu"),)),
    "RequestsMemory": (1, (("requests", "memory"),)),
    "LimitsMemory": (1, (("limits", "memory"),)),
    "ServiceAccountName": (3, (("serviceaccountname",),)),
    "SeccompAny": (1, (("seccompprofile",),)),
    "ApparmorAny": (3, (("apparmorprofile",),)),
    "VolumeClaimAccessModeReadWriteOnce": (1, (("volumeclaimtemplates",),)),
    "VolumeClaimRequestsStorage": (1, (("volumeclaimtemplates",),)),
    "AutomountServiceAccountToken": (1, (("automountserviceaccounttoken",),)),
    "HostUsers": (1, (("hostusers",),)),
}
KUBESEC_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet"})


def kubesec_label(rule: str, text: str, sign: str) -> tuple[str, str]:
    """What the sign of a file's score says about ``rule``: ``matched``, ``not matched`` or ``undecided``.

    Only files that can trigger the rule are labelled (elsewhere "not matched" would follow from the
    text, not from kubesec). With P the points of the rules the file can trigger:
    score < 0 and ``rule`` the only negative rule in P: it matched. Score >= 0 and ``rule`` negative
    with more points than all of P's positive points together: it did not match. Score == 0 and no
    negative rule in P: no positive rule matched. Score > 0 and ``rule`` the only positive rule in P:
    it matched.
    """
    low = text.lower()
    possible = {name for name, (_, alts) in KUBESEC_RULES.items() if any(all(w in low for w in alt) for alt in alts)}
    if rule not in possible:
        return "undecided", "the file cannot trigger the rule"
    points = KUBESEC_RULES[rule][0]
    negative = sorted(r for r in possible if KUBESEC_RULES[r][0] < 0)
    positive = sorted(r for r in possible if KUBESEC_RULES[r][0] > 0)
    bound = sum(KUBESEC_RULES[r][0] for r in positive)
    if sign == "score<0" and negative == [rule]:
        return "matched", f"{sign}, and {rule} is the only negative rule the file can trigger"
    if sign in ("score==0", "score>0") and points < 0 and -points > bound:
        return "not matched", f"{sign}, and {rule}'s {points} points exceed the {bound} positive points possible"
    if sign == "score==0" and points > 0 and not negative:
        return "not matched", f"{sign} with no negative rule possible, so no positive rule matched"
    if sign == "score>0" and positive == [rule]:
        return "matched", f"{sign}, and {rule} is the only positive rule the file can trigger"
    return "undecided", f"{sign} does not decide {rule}"


def _with_metadata(path: Path) -> list[K8sObject] | None:
    """The one document of a kubesec fixture that omits ``metadata``, loaded with a name supplied.

    kubesec never reads metadata, so its minimal fixtures leave it out; the API server, and our
    loader, refuse an object without one. Nothing a check reads is changed.
    """
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    if len(documents) != 1 or not isinstance(documents[0], dict) or "metadata" in documents[0]:
        return None
    document = {**documents[0], "metadata": {"name": path.stem}}
    return load_text(json.dumps(document), source=str(path))


def kubesec(rule: str) -> Source:
    assert rule in KUBESEC_RULES, rule

    def source(oracles: Path) -> list[Labelled]:
        root = oracles / "linters" / "kubesec"
        signs: dict[str, str] = {}
        for entry in json.loads((root / "expected_scores.json").read_text()):
            if len(entry["files"]) != 1 or len(entry["expected_score"]) != 1:
                continue
            if entry["test"].endswith("remote)"):
                continue  # HTTP API tests: the body is a form post ("file=..."), not a manifest
            name, sign = entry["files"][0], entry["expected_score"][0]
            if signs.setdefault(name, sign) != sign:  # several tests reuse a file
                raise AssertionError(f"kubesec: {name} is expected to score both {signs[name]} and {sign}")
        cases = []
        for name, sign in sorted(signs.items()):
            path = root / "test" / "asset" / name
            where = f"kubesec/test/asset/{name}"
            value, why = kubesec_label(rule, path.read_text(), sign)
            label = f"{rule} {value} ({why})"
            try:
                objects = _objects(path)
            except ManifestError as error:
                repaired = _with_metadata(path)
                if repaired is None:
                    cases.append(_rejected(where, value, label, error))
                    continue
                objects, label = repaired, label + ", metadata.name supplied"
            if len(objects) != 1 or objects[0].kind not in KUBESEC_KINDS:
                continue  # kubesec scores these documents one by one, or not at all
            cases.append(Labelled(where, objects[0], tuple(objects), value, label))
        return cases

    return source


# --------------------------------------------------------------------------------------------------
# Which of our findings count (focus) and where the definitions coincide (only)

_PATH_TOKEN = re.compile(r'([A-Za-z_][\w-]*)|\[(\d+)\]|\["([^"]*)"\]')


def resolve(raw: Mapping[str, Any], path: str) -> Any:
    """The value at a violation's field path, e.g. ``spec.template.spec.volumes[0].hostPath``."""
    node: Any = raw
    for key, index, quoted in _PATH_TOKEN.findall(path):
        if index:
            node = as_list(node)[int(index)] if int(index) < len(as_list(node)) else None
        else:
            node = as_mapping(node).get(key or quoted)
    return node


@dataclass(frozen=True)
class Focus:
    """Of our check's findings, only those about what their check looks at."""

    text: str
    keep: Callable[[K8sObject, Violation], bool]


def at_field(*names: str) -> Focus:
    return Focus(f"only our findings at field {'/'.join(names)}", lambda obj, v: v.path.rsplit(".", 1)[-1] in names)


def capabilities(*names: str) -> Focus:
    def keep(obj: K8sObject, violation: Violation) -> bool:
        value = resolve(obj.raw, violation.path)
        return isinstance(value, str) and canonical(value) in names

    return Focus(f"only our findings about adding {', '.join(names)}", keep)


def host_paths(text: str, match: Callable[[str], bool]) -> Focus:
    def keep(obj: K8sObject, violation: Violation) -> bool:
        path = as_mapping(resolve(obj.raw, violation.path)).get("path")
        return isinstance(path, str) and match(normalize_host_path(path))

    return Focus(f"only our findings about host paths {text}", keep)


@dataclass(frozen=True)
class Only:
    """A restriction to the objects on which their definition and ours coincide.

    ``reason(obj, context)`` returns why an object is outside (or ``None`` when it is inside).
    """

    text: str
    reason: Callable[[K8sObject, tuple[K8sObject, ...]], str | None]


def _rule(text: str, outside: Callable[[K8sObject, tuple[K8sObject, ...]], bool]) -> Only:
    return Only(text, lambda obj, ctx: text if outside(obj, ctx) else None)


def _spec(obj: K8sObject) -> Mapping[str, Any]:
    ref = pod_spec(obj)
    return ref.spec if ref else {}


def _pod_sc(obj: K8sObject) -> Mapping[str, Any]:
    ref = pod_spec(obj)
    return pod_security_context(ref) if ref else {}


def _template_annotations(obj: K8sObject) -> list[str]:
    ref = pod_spec(obj)
    return [str(key) for key in as_mapping(ref.metadata.get("annotations") if ref else None)]


def _of(obj: K8sObject, *fields: str) -> list[ContainerRef]:
    return [ref for ref in containers(obj) if ref.field in fields]


def _volumes(obj: K8sObject) -> list[Mapping[str, Any]]:
    return [as_mapping(v) for v in as_list(_spec(obj).get("volumes"))]


def _host_path_strings(obj: K8sObject) -> list[str]:
    paths = [as_mapping(v.get("hostPath")).get("path") for v in _volumes(obj) if v.get("hostPath") is not None]
    return [p for p in paths if isinstance(p, str)]


def _added(obj: K8sObject) -> list[str]:
    return [cap for ref in containers(obj) for cap in _caps(ref, "add")]


def _caps(ref: ContainerRef, which: str) -> list[str]:
    """The string entries of ``securityContext.capabilities.<which>`` (add or drop) of a container."""
    return [c for c in as_list(as_mapping(ref.security_context.get("capabilities")).get(which)) if isinstance(c, str)]


def _dropped(ref: ContainerRef) -> list[str]:
    return _caps(ref, "drop")


def _quantity_is_zero(value: object) -> bool:
    if not isinstance(value, (int, float, str)):
        return False
    return re.fullmatch(r"[+]?0*(\.0*)?[a-zA-Z]*", str(value).strip()) is not None


def _resource_values(obj: K8sObject, section: str) -> list[object]:
    return [
        value
        for ref in containers(obj)
        for value in as_mapping(as_mapping(ref.container.get("resources")).get(section)).values()
    ]


def _limit_without_request(obj: K8sObject, *resources: str) -> bool:
    for ref in containers(obj):
        spec = as_mapping(ref.container.get("resources"))
        limits, requests = as_mapping(spec.get("limits")), as_mapping(spec.get("requests"))
        if any(limits.get(r) is not None and requests.get(r) is None for r in resources):
            return True
    return False


def _profile_types(obj: K8sObject, key: str) -> tuple[object, list[object]]:
    """(pod-level type, container-level types) of a seccomp/AppArmor profile; ``None`` when unset."""

    def kind(profile: object) -> object:
        return as_mapping(profile).get("type", "") if isinstance(profile, Mapping) else None

    return kind(_pod_sc(obj).get(key)), [kind(ref.security_context.get(key)) for ref in containers(obj)]


def _pod_unconfined_unused(obj: K8sObject, key: str) -> bool:
    pod, own = _profile_types(obj, key)
    return pod == "Unconfined" and all(t is not None for t in own)


def _types_outside(obj: K8sObject, key: str, allowed: set[str]) -> bool:
    pod, own = _profile_types(obj, key)
    return any(t is not None and t not in allowed for t in [pod, *own])


def _pull_policy_defaulted_to_always(obj: K8sObject, ctx: tuple[K8sObject, ...]) -> bool:
    # The API server defaults an unset imagePullPolicy to Always for :latest or no tag
    # (SetDefaults_Container); Polaris reads the field as written and wants it set.
    for ref in containers(obj):
        image = ref.container.get("image")
        if ref.container.get("imagePullPolicy") in (None, "") and isinstance(image, str):
            last = image.rsplit("/", 1)[-1]
            if "@" not in last and (":" not in last or last.endswith(":latest")):
                return True
    return False


PULL_POLICY_AS_WRITTEN = _rule(
    "no container leaves imagePullPolicy unset on a :latest or untagged image (the API server defaults "
    "that to Always, which we judge; Polaris judges the unset field)",
    _pull_policy_defaulted_to_always,
)


NO_EPHEMERAL = _rule(
    "no ephemeral containers (the tool does not look at them; we do)",
    lambda obj, ctx: bool(_of(obj, "ephemeralContainers")),
)
NO_INIT = _rule(
    "no init containers (the tool does not look at them; we do)", lambda obj, ctx: bool(_of(obj, "initContainers"))
)
NOT_WINDOWS = _rule(
    "not a Windows pod (the API forbids the field there, so we exempt it)",
    lambda obj, ctx: as_mapping(_spec(obj).get("os")).get("name") == "windows",
)
ONE_CONTAINER = _rule(
    "exactly one container (kubesec's +1 rules ask whether any container does it; we ask every container)",
    lambda obj, ctx: len(containers(obj)) != 1,
)
NO_RUN_AS_USER = _rule(
    "no runAsUser anywhere (the tool accepts a non-zero runAsUser instead of runAsNonRoot: true; "
    "we and PSA require runAsNonRoot, since the image may still switch to root without it)",
    lambda obj, ctx: (
        _pod_sc(obj).get("runAsUser") is not None
        or any(ref.security_context.get("runAsUser") is not None for ref in containers(obj))
    ),
)
POD_RUN_AS_NON_ROOT_NOT_FALSE = _rule(
    "pod-level runAsNonRoot is not false (the tool lets containers override it; PSA fails the pod-level false)",
    lambda obj, ctx: _pod_sc(obj).get("runAsNonRoot") is False,
)
EXPLICIT_ESCALATION = _rule(
    "every container sets allowPrivilegeEscalation (the tool reports only an explicit true; PSS restricted "
    "also fails an unset field, which leaves no_new_privs off)",
    lambda obj, ctx: any(
        not isinstance(ref.security_context.get("allowPrivilegeEscalation"), bool) for ref in containers(obj)
    ),
)
NO_ESCALATION_DESPITE_FALSE = _rule(
    "no container sets allowPrivilegeEscalation: false while privileged or adding SYS_ADMIN (escalation is "
    "possible anyway, and we report it; the tool does not)",
    lambda obj, ctx: any(
        ref.security_context.get("allowPrivilegeEscalation") is False
        and (
            ref.security_context.get("privileged") is True
            or any(canonical(c) == "SYS_ADMIN" for c in _caps(ref, "add"))
        )
        for ref in containers(obj)
    ),
)
SYS_ADMIN_SPELLED_EXACTLY = _rule(
    'every added SYS_ADMIN is spelled exactly "SYS_ADMIN" (the tool compares exactly; runtimes, and we, '
    "also grant it for cap_sys_admin, sys_admin, ...)",
    lambda obj, ctx: any(canonical(c) == "SYS_ADMIN" and c != "SYS_ADMIN" for c in _added(obj)),
)
NO_CAP_PREFIX = _rule(
    'no capability spelled with a "CAP_" prefix (Polaris matches bare names only; CRI-O grants the prefixed '
    "spelling, so we count it)",
    lambda obj, ctx: any(c.upper().startswith("CAP_") for c in _added(obj)),
)
DROP_ALL_EXACT = _rule(
    'every dropped ALL is spelled exactly "ALL" (the tool accepts any case; Pod Security admission only "ALL")',
    lambda obj, ctx: any(c.upper() == "ALL" and c != "ALL" for ref in containers(obj) for c in _dropped(ref)),
)
POLARIS_DROP_LIST = (
    "NET_ADMIN CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP "
    "NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE"
).split()
NO_POLARIS_DROP_LIST = _rule(
    "no container drops Polaris's list of 15 capabilities without ALL (Polaris accepts it in place of ALL; "
    "PSS restricted requires ALL)",
    lambda obj, ctx: any(
        "ALL" not in {c.upper() for c in _dropped(ref)} and set(POLARIS_DROP_LIST) <= {c.upper() for c in _dropped(ref)}
        for ref in containers(obj)
    ),
)
NO_SA_DECIDES = _rule(
    "the pod sets automountServiceAccountToken, or its ServiceAccount in the same file does not set it false "
    "(Polaris follows that ServiceAccount; we judge the workload alone, since the ServiceAccount is often "
    "not in the scanned files)",
    lambda obj, ctx: (
        _spec(obj).get("automountServiceAccountToken") is None
        and any(
            other.kind == "ServiceAccount"
            and other.name == (_spec(obj).get("serviceAccountName") or "default")
            and other.raw.get("automountServiceAccountToken") is False
            for other in ctx
        )
    ),
)


def _no_request_defaulting(*resources: str) -> Only:
    return _rule(
        f"no container sets a {'/'.join(resources)} limit without the request (the API server defaults the "
        "request to the limit, and we count it; the tool does not)",
        lambda obj, ctx: _limit_without_request(obj, *resources),
    )


def _no_zero(section: str) -> Only:
    return _rule(
        f"no zero quantity in resources.{section} (the tool counts 0 as unset; to us it is set)",
        lambda obj, ctx: any(_quantity_is_zero(v) for v in _resource_values(obj, section)),
    )


NO_SECCOMP_ANNOTATION = _rule(
    "no seccomp annotation (kube-score accepts PodSecurityPolicy's defaultProfileName annotation, which the "
    "kubelet ignores on a pod)",
    lambda obj, ctx: any("seccomp" in key for key in _template_annotations(obj)),
)
SECCOMP_ALLOWED_TYPES = _rule(
    "every seccompProfile type set is RuntimeDefault or Localhost (kube-score accepts any profile, "
    "Unconfined included)",
    lambda obj, ctx: _types_outside(obj, "seccompProfile", {"RuntimeDefault", "Localhost"}),
)
SECCOMP_EVERY_CONTAINER_SET = _rule(
    "every container gets a seccomp profile type from itself or the pod (kubesec's Unconfined rule says "
    "nothing about unset profiles, which we fail)",
    lambda obj, ctx: (
        any(t is None for t in _profile_types(obj, "seccompProfile")[1])
        and _profile_types(obj, "seccompProfile")[0] is None
    ),
)
SECCOMP_KNOWN_TYPES = _rule(
    "every seccompProfile type is RuntimeDefault, Localhost or Unconfined (we also fail other values)",
    lambda obj, ctx: _types_outside(obj, "seccompProfile", {"RuntimeDefault", "Localhost", "Unconfined"}),
)
SECCOMP_POD_UNCONFINED_USED = _rule(
    "a pod-level Unconfined seccomp profile is inherited by some container (kubesec counts containers only; "
    "we fail the pod-level field itself)",
    lambda obj, ctx: _pod_unconfined_unused(obj, "seccompProfile"),
)
APPARMOR_NO_ANNOTATION = _rule(
    "no AppArmor annotation (kubesec reads only the appArmorProfile field; we and PSA read both)",
    lambda obj, ctx: any("apparmor" in key for key in _template_annotations(obj)),
)
APPARMOR_KNOWN_TYPES = _rule(
    "every appArmorProfile type is RuntimeDefault, Localhost or Unconfined (we also fail other values)",
    lambda obj, ctx: _types_outside(obj, "appArmorProfile", {"RuntimeDefault", "Localhost", "Unconfined"}),
)
APPARMOR_POD_UNCONFINED_USED = _rule(
    "a pod-level Unconfined AppArmor profile is inherited by some container (kubesec counts containers "
    "only; we fail the pod-level field itself)",
    lambda obj, ctx: _pod_unconfined_unused(obj, "appArmorProfile"),
)
PROC_MOUNT_KNOWN = _rule(
    "every procMount is unset, Default or Unmasked (kube-linter flags only Unmasked, in any case; PSA every "
    "value but Default, exactly)",
    lambda obj, ctx: any(
        isinstance(v, str) and v != "Default" and v.lower() != "unmasked"
        for v in (ref.security_context.get("procMount") for ref in containers(obj))
    ),
)
PROC_MOUNT_REGULAR_ONLY = _rule(
    "only regular containers set procMount (Polaris's procMount check reads spec.containers only)",
    lambda obj, ctx: any(
        ref.security_context.get("procMount") is not None for ref in _of(obj, "initContainers", "ephemeralContainers")
    ),
)
KUBE_LINTER_SYSCTL_PREFIXES = ("kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue.", "net.")
SYSCTLS_UNSAFE_BY_BOTH = _rule(
    "every sysctl is outside the PSS safe set and starts with a kube-linter prefix (kube-linter denies by "
    "prefix: it flags net.ipv4.ip_local_port_range and kernel.shm_rmid_forced, which PSS allows, and misses "
    "vm.*, which PSS forbids)",
    lambda obj, ctx: any(
        not (isinstance(name, str) and name not in SAFE_SYSCTLS and name.startswith(KUBE_LINTER_SYSCTL_PREFIXES))
        for name in (as_mapping(s).get("name") for s in as_list(_pod_sc(obj).get("sysctls")))
    ),
)


def _mounted_names(obj: K8sObject) -> set[object]:
    return {as_mapping(m).get("name") for ref in containers(obj) for m in as_list(ref.container.get("volumeMounts"))}


HOST_PATHS_MOUNTED = _rule(
    "every hostPath volume is mounted by a container (kube-linter looks at mounted volumes only; the kubelet "
    "sets up every volume of the pod, so we look at all of them)",
    lambda obj, ctx: any(
        v.get("hostPath") is not None and v.get("name") not in _mounted_names(obj) for v in _volumes(obj)
    ),
)
HOST_PATHS_NORMAL = _rule(
    "every hostPath path is written in normal form (kube-linter matches the text; the kernel, and we, "
    "resolve //, . and trailing slashes)",
    lambda obj, ctx: any(normalize_host_path(p) != p for p in _host_path_strings(obj)),
)
DOCKER_SOCK_KUBE_LINTER = _rule(
    "every path ending in docker.sock is /var/run/docker.sock or /run/docker.sock (kube-linter matches any "
    "path ending in docker.sock; we list the runtime's socket paths)",
    lambda obj, ctx: any(
        re.search("docker.sock$", p) and normalize_host_path(p) not in ("/var/run/docker.sock", "/run/docker.sock")
        for p in _host_path_strings(obj)
    ),
)
DOCKER_SOCK_KUBESEC = _rule(
    "every path containing docker.sock is exactly /var/run/docker.sock (kubesec matches that substring "
    "anywhere and misses /run/docker.sock)",
    lambda obj, ctx: any("docker.sock" in p and p != "/var/run/docker.sock" for p in _host_path_strings(obj)),
)
PROC_PATHS_KUBESEC = _rule(
    'every path containing "/proc" is /proc or lies under it (kubesec matches the substring anywhere, '
    "/host/proc and /process included)",
    lambda obj, ctx: any(
        "/proc" in p and not (normalize_host_path(p) == "/proc" or normalize_host_path(p).startswith("/proc/"))
        for p in _host_path_strings(obj)
    ),
)
GROUP_EFFECTIVE = _rule(
    "no pod-level runAsGroup: 0 that every container overrides (kube-linter judges the effective group; we "
    "report the pod-level 0 itself, which a container added later inherits)",
    lambda obj, ctx: (
        _pod_sc(obj).get("runAsGroup") == 0
        and all(ref.security_context.get("runAsGroup") is not None for ref in containers(obj))
    ),
)
KUBE_LINTER_SENSITIVE = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")


# --------------------------------------------------------------------------------------------------
# The pairs


@dataclass(frozen=True)
class Pair:
    tool: str
    theirs: str
    ours: str
    source: Source = field(repr=False)
    fails: Mapping[str, bool]  # their value -> "violates the rule"; other values give no verdict
    note: str
    focus: Focus | None = None
    only: tuple[Only, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.tool}:{self.theirs}~{self.ours}"

    @property
    def maps(self) -> str:
        shown = ", ".join(f"{k} -> {'fails' if v else 'passes'}" for k, v in self.fails.items())
        return shown + (f"; {self.focus.text}" if self.focus else "")


PF = {"fail": True, "pass": False}  # Polaris
GRADE_CRITICAL = {"critical": True, "warning": False, "all_ok": False}  # kube-score
REPORTED = {"reported": True, "not reported": False}  # kube-linter
MATCH_FAILS = {"matched": True, "not matched": False}  # kubesec negative rules
MATCH_PASSES = {"matched": False, "not matched": True}  # kubesec positive rules

PAIRS: tuple[Pair, ...] = (
    # ---- Polaris: per container (init and regular; never ephemeral) or per pod spec.
    Pair(
        "polaris",
        "runAsPrivileged",
        "privileged-container",
        polaris("runAsPrivileged"),
        PF,
        "privileged: true on any container; Polaris decodes into corev1 types, so the pod-level "
        "securityContext.privileged in its fixtures (not a PodSecurityContext field) is dropped, as the "
        "API server drops it",
        only=(NO_EPHEMERAL,),
    ),
    Pair(
        "polaris",
        "privilegeEscalationAllowed",
        "privilege-escalation-allowed",
        polaris("privilegeEscalationAllowed"),
        PF,
        "every container must set allowPrivilegeEscalation: false (the pod-level field is dropped as above)",
        only=(NO_EPHEMERAL, NOT_WINDOWS, NO_ESCALATION_DESPITE_FALSE),
    ),
    Pair(
        "polaris",
        "hostNetworkSet",
        "host-namespaces",
        polaris("hostNetworkSet"),
        PF,
        "hostNetwork: true",
        focus=at_field("hostNetwork"),
    ),
    Pair(
        "polaris",
        "hostPIDSet",
        "host-namespaces",
        polaris("hostPIDSet"),
        PF,
        "hostPID: true",
        focus=at_field("hostPID"),
    ),
    Pair(
        "polaris",
        "hostIPCSet",
        "host-namespaces",
        polaris("hostIPCSet"),
        PF,
        "hostIPC: true",
        focus=at_field("hostIPC"),
    ),
    Pair("polaris", "hostPathSet", "host-path-volume", polaris("hostPathSet"), PF, "any hostPath volume"),
    Pair("polaris", "hostPortSet", "host-port", polaris("hostPortSet"), PF, "any non-zero hostPort"),
    Pair(
        "polaris",
        "hostProcess",
        "windows-host-process",
        polaris("hostProcess"),
        PF,
        "windowsOptions.hostProcess: true at pod or container level",
    ),
    Pair(
        "polaris",
        "notReadOnlyRootFilesystem",
        "writable-root-filesystem",
        polaris("notReadOnlyRootFilesystem"),
        PF,
        "every container must set readOnlyRootFilesystem: true",
        only=(NO_EPHEMERAL, NOT_WINDOWS),
    ),
    Pair(
        "polaris",
        "runAsRootAllowed",
        "run-as-root-allowed",
        polaris("runAsRootAllowed"),
        PF,
        "runAsNonRoot: true on the pod or every container",
        only=(NO_EPHEMERAL, NO_RUN_AS_USER, POD_RUN_AS_NON_ROOT_NOT_FALSE),
    ),
    Pair(
        "polaris",
        "dangerousCapabilities",
        "dangerous-capabilities",
        polaris("dangerousCapabilities"),
        PF,
        "adding ALL, SYS_ADMIN or NET_ADMIN, in any case (our list is longer; we compare on Polaris's three)",
        focus=capabilities("ALL", "SYS_ADMIN", "NET_ADMIN"),
        only=(NO_EPHEMERAL, NO_CAP_PREFIX),
    ),
    Pair(
        "polaris",
        "insecureCapabilities",
        "capabilities-not-dropped",
        polaris("insecureCapabilities"),
        PF,
        "every container drops ALL",
        only=(NO_EPHEMERAL, NOT_WINDOWS, DROP_ALL_EXACT, NO_POLARIS_DROP_LIST),
    ),
    Pair(
        "polaris",
        "cpuRequestsMissing",
        "missing-resource-requests",
        polaris("cpuRequestsMissing"),
        PF,
        "resources.requests.cpu on every regular container",
        focus=at_field("cpu"),
        only=(NO_INIT, _no_request_defaulting("cpu")),
    ),
    Pair(
        "polaris",
        "memoryRequestsMissing",
        "missing-resource-requests",
        polaris("memoryRequestsMissing"),
        PF,
        "resources.requests.memory on every regular container",
        focus=at_field("memory"),
        only=(NO_INIT, _no_request_defaulting("memory")),
    ),
    Pair(
        "polaris",
        "cpuLimitsMissing",
        "missing-resource-limits",
        polaris("cpuLimitsMissing"),
        PF,
        "resources.limits.cpu on every regular container",
        focus=at_field("cpu"),
        only=(NO_INIT,),
    ),
    Pair(
        "polaris",
        "memoryLimitsMissing",
        "missing-resource-limits",
        polaris("memoryLimitsMissing"),
        PF,
        "resources.limits.memory on every regular container",
        focus=at_field("memory"),
        only=(NO_INIT,),
    ),
    Pair(
        "polaris",
        "automountServiceAccountToken",
        "service-account-token-automount",
        polaris("automountServiceAccountToken"),
        PF,
        "the token is mounted unless automountServiceAccountToken is false",
        only=(NO_SA_DECIDES,),
    ),
    Pair(
        "polaris",
        "procMount",
        "unmasked-proc-mount",
        polaris("procMount"),
        PF,
        "procMount other than Default",
        only=(PROC_MOUNT_REGULAR_ONLY,),
    ),
    Pair(
        "polaris",
        "tagNotSpecified",
        "image-latest-tag",
        polaris("tagNotSpecified"),
        PF,
        "an image without a tag, or tagged :latest",
    ),
    Pair(
        "polaris",
        "pullPolicyNotAlways",
        "mutable-image-not-pulled",
        polaris("pullPolicyNotAlways"),
        PF,
        "imagePullPolicy must be Always (none of their images is pinned by digest, which we exempt)",
        only=(PULL_POLICY_AS_WRITTEN,),
    ),
    Pair(
        "polaris",
        "sensitiveContainerEnvVar",
        "env-credential-literal",
        polaris("sensitiveContainerEnvVar"),
        PF,
        "an env var with a credential-like name holding a literal value",
    ),
    # ---- kube-score: init and regular containers; default configuration.
    Pair(
        "kube-score",
        "container-image-tag",
        "image-latest-tag",
        kube_score("Container Image Tag"),
        GRADE_CRITICAL,
        "an image without a tag, or tagged :latest",
    ),
    Pair(
        "kube-score",
        "container-image-pull-policy",
        "mutable-image-not-pulled",
        kube_score("Container Image Pull Policy"),
        GRADE_CRITICAL,
        "imagePullPolicy Always, judged as the API server defaults it (kube-score does the same)",
    ),
    Pair(
        "kube-score",
        "container-security-context-privileged",
        "privileged-container",
        kube_score("Container Security Context Privileged"),
        GRADE_CRITICAL,
        "privileged: true on any container",
        only=(NO_EPHEMERAL,),
    ),
    Pair(
        "kube-score",
        "container-security-context-readonlyrootfilesystem",
        "writable-root-filesystem",
        kube_score("Container Security Context ReadOnlyRootFilesystem"),
        GRADE_CRITICAL,
        "every container sets readOnlyRootFilesystem: true",
        only=(NO_EPHEMERAL, NOT_WINDOWS),
    ),
    Pair(
        "kube-score",
        "container-resources",
        "missing-resource-limits",
        kube_score("Container Resources"),
        GRADE_CRITICAL,
        "critical = a CPU or memory limit is missing; its warning grade is about requests (next pair)",
        only=(NO_EPHEMERAL, _no_zero("limits")),
    ),
    Pair(
        "kube-score",
        "container-resources",
        "missing-resource-requests",
        kube_score("Container Resources"),
        {"warning": True, "all_ok": False},
        "warning = limits set but a request missing; a critical grade hides the requests, so it gives no verdict",
        only=(_no_request_defaulting("cpu", "memory"), _no_zero("requests")),
    ),
    Pair(
        "kube-score",
        "container-seccomp-profile",
        "seccomp-unconfined",
        kube_score("Container Seccomp Profile"),
        {"warning": True, "all_ok": False},
        "a seccomp profile on the pod or every regular container",
        only=(NO_INIT, NO_EPHEMERAL, NO_SECCOMP_ANNOTATION, SECCOMP_ALLOWED_TYPES),
    ),
    # ---- kube-linter: all containers (init, regular, ephemeral); DeploymentLike kinds.
    Pair(
        "kube-linter",
        "privileged-container",
        "privileged-container",
        kube_linter("privileged-container"),
        REPORTED,
        "privileged: true on any container",
    ),
    Pair(
        "kube-linter",
        "privilege-escalation-container",
        "privilege-escalation-allowed",
        kube_linter("privilege-escalation-container"),
        REPORTED,
        "allowPrivilegeEscalation: true, or privileged, or SYS_ADMIN added",
        only=(NOT_WINDOWS, EXPLICIT_ESCALATION, SYS_ADMIN_SPELLED_EXACTLY),
    ),
    Pair(
        "kube-linter",
        "latest-tag",
        "image-latest-tag",
        kube_linter("latest-tag"),
        REPORTED,
        "an image tagged :latest or without a tag (their block list; registry ports do not occur in their data)",
    ),
    Pair(
        "kube-linter",
        "env-var-secret",
        "env-credential-literal",
        kube_linter("env-var-secret"),
        REPORTED,
        "an env var whose name says secret holding a literal value",
    ),
    Pair(
        "kube-linter",
        "read-secret-from-env-var",
        "secret-env-var",
        kube_linter("read-secret-from-env-var"),
        REPORTED,
        "a Secret read into an env var with secretKeyRef",
    ),
    Pair(
        "kube-linter",
        "default-service-account",
        "default-service-account",
        kube_linter("default-service-account"),
        REPORTED,
        "a pod on the default ServiceAccount",
    ),
    Pair(
        "kube-linter",
        "host-network",
        "host-namespaces",
        kube_linter("host-network"),
        REPORTED,
        "hostNetwork: true",
        focus=at_field("hostNetwork"),
    ),
    Pair(
        "kube-linter",
        "host-pid",
        "host-namespaces",
        kube_linter("host-pid"),
        REPORTED,
        "hostPID: true",
        focus=at_field("hostPID"),
    ),
    Pair(
        "kube-linter",
        "host-ipc",
        "host-namespaces",
        kube_linter("host-ipc"),
        REPORTED,
        "hostIPC: true",
        focus=at_field("hostIPC"),
    ),
    Pair(
        "kube-linter",
        "no-read-only-root-fs",
        "writable-root-filesystem",
        kube_linter("no-read-only-root-fs"),
        REPORTED,
        "every container sets readOnlyRootFilesystem: true",
        only=(NOT_WINDOWS,),
    ),
    Pair(
        "kube-linter",
        "run-as-non-root",
        "run-as-root-allowed",
        kube_linter("run-as-non-root", "is not set to runAsNonRoot"),
        REPORTED,
        "its 'is not set to runAsNonRoot' reports: runAsNonRoot true for every container",
        only=(NO_RUN_AS_USER, POD_RUN_AS_NON_ROOT_NOT_FALSE),
    ),
    Pair(
        "kube-linter",
        "run-as-non-root",
        "run-as-group-root",
        kube_linter("run-as-non-root", "is set to runAsGroup 0"),
        REPORTED,
        "its 'is set to runAsGroup 0' reports: runAsGroup 0",
        focus=at_field("runAsGroup"),
        only=(GROUP_EFFECTIVE,),
    ),
    Pair(
        "kube-linter",
        "docker-sock",
        "sensitive-host-path",
        kube_linter("docker-sock"),
        REPORTED,
        "a hostPath volume on the Docker socket",
        focus=host_paths(
            "/var/run/docker.sock, /run/docker.sock", lambda p: p in ("/var/run/docker.sock", "/run/docker.sock")
        ),
        only=(HOST_PATHS_MOUNTED, DOCKER_SOCK_KUBE_LINTER),
    ),
    Pair(
        "kube-linter",
        "sensitive-host-mounts",
        "sensitive-host-path",
        kube_linter("sensitive-host-mounts"),
        REPORTED,
        "a hostPath volume on exactly /, /boot, /dev, /etc, /lib, /proc, /sys or /usr (our list is longer and "
        "includes what lies under them; we compare on theirs)",
        focus=host_paths(", ".join(KUBE_LINTER_SENSITIVE), lambda p: p in KUBE_LINTER_SENSITIVE),
        only=(HOST_PATHS_MOUNTED, HOST_PATHS_NORMAL),
    ),
    Pair(
        "kube-linter",
        "unsafe-proc-mount",
        "unmasked-proc-mount",
        kube_linter("unsafe-proc-mount"),
        REPORTED,
        "procMount: Unmasked",
        only=(PROC_MOUNT_KNOWN,),
    ),
    Pair(
        "kube-linter",
        "unsafe-sysctls",
        "unsafe-sysctls",
        kube_linter("unsafe-sysctls"),
        REPORTED,
        "a sysctl that is not safe",
        only=(SYSCTLS_UNSAFE_BY_BOTH,),
    ),
    Pair(
        "kube-linter",
        "unset-cpu-requirements",
        "missing-resource-requests",
        kube_linter("unset-cpu-requirements"),
        REPORTED,
        "resources.requests.cpu unset (or 0) on a container",
        focus=at_field("cpu"),
        only=(_no_request_defaulting("cpu"), _no_zero("requests")),
    ),
    Pair(
        "kube-linter",
        "unset-memory-requirements",
        "missing-resource-limits",
        kube_linter("unset-memory-requirements"),
        REPORTED,
        "resources.limits.memory unset (or 0) on a container (the built-in check is configured for limits)",
        focus=at_field("memory"),
        only=(_no_zero("limits"),),
    ),
    # ---- kubesec: verdicts derived from the sign of the score (kubesec_label); all containers.
    Pair(
        "kubesec",
        "CapSysAdmin",
        "dangerous-capabilities",
        kubesec("CapSysAdmin"),
        MATCH_FAILS,
        "SYS_ADMIN added to any container",
        focus=capabilities("SYS_ADMIN"),
        only=(SYS_ADMIN_SPELLED_EXACTLY,),
    ),
    Pair(
        "kubesec",
        "HostNetwork",
        "host-namespaces",
        kubesec("HostNetwork"),
        MATCH_FAILS,
        "hostNetwork: true",
        focus=at_field("hostNetwork"),
    ),
    Pair(
        "kubesec",
        "HostPID",
        "host-namespaces",
        kubesec("HostPID"),
        MATCH_FAILS,
        "hostPID: true",
        focus=at_field("hostPID"),
    ),
    Pair(
        "kubesec",
        "DockerSock",
        "sensitive-host-path",
        kubesec("DockerSock"),
        MATCH_FAILS,
        "a hostPath volume on /var/run/docker.sock",
        focus=host_paths(
            "/var/run/docker.sock, /run/docker.sock", lambda p: p in ("/var/run/docker.sock", "/run/docker.sock")
        ),
        only=(DOCKER_SOCK_KUBESEC,),
    ),
    Pair(
        "kubesec",
        "AllowPrivilegeEscalation",
        "privilege-escalation-allowed",
        kubesec("AllowPrivilegeEscalation"),
        MATCH_FAILS,
        "allowPrivilegeEscalation: true on any container",
        only=(NOT_WINDOWS, EXPLICIT_ESCALATION, NO_ESCALATION_DESPITE_FALSE),
    ),
    Pair(
        "kubesec",
        "ReadOnlyRootFilesystem",
        "writable-root-filesystem",
        kubesec("ReadOnlyRootFilesystem"),
        MATCH_PASSES,
        "+1 when a container sets readOnlyRootFilesystem: true",
        only=(ONE_CONTAINER, NOT_WINDOWS),
    ),
    Pair(
        "kubesec",
        "RunAsNonRoot",
        "run-as-root-allowed",
        kubesec("RunAsNonRoot"),
        MATCH_PASSES,
        "+1 when a container runs with runAsNonRoot: true (own or the pod's)",
        only=(ONE_CONTAINER, POD_RUN_AS_NON_ROOT_NOT_FALSE),
    ),
    Pair(
        "kubesec",
        "AutomountServiceAccountToken",
        "service-account-token-automount",
        kubesec("AutomountServiceAccountToken"),
        MATCH_PASSES,
        "+1 when the pod sets automountServiceAccountToken: false",
    ),
    Pair(
        "kubesec",
        "SeccompUnconfined",
        "seccomp-unconfined",
        kubesec("SeccompUnconfined"),
        MATCH_FAILS,
        "a container runs with an Unconfined seccomp profile (own or the pod's)",
        only=(SECCOMP_EVERY_CONTAINER_SET, SECCOMP_KNOWN_TYPES, SECCOMP_POD_UNCONFINED_USED),
    ),
    Pair(
        "kubesec",
        "SeccompAny",
        "seccomp-unconfined",
        kubesec("SeccompAny"),
        MATCH_PASSES,
        "+1 when a container runs with a seccomp profile other than Unconfined (own or the pod's)",
        only=(ONE_CONTAINER, SECCOMP_KNOWN_TYPES, SECCOMP_POD_UNCONFINED_USED),
    ),
    Pair(
        "kubesec",
        "ApparmorUnconfined",
        "apparmor-unconfined",
        kubesec("ApparmorUnconfined"),
        MATCH_FAILS,
        "a container runs with an Unconfined AppArmor profile (own or the pod's)",
        only=(APPARMOR_NO_ANNOTATION, APPARMOR_KNOWN_TYPES, APPARMOR_POD_UNCONFINED_USED),
    ),
)


# kubesec rules whose definition is ours (restricted as stated) but whose verdict the sign of the score
# never decides in kubesec's data: every file that can trigger them can also trigger another rule of
# the same sign (privileged.yml also shares hostNetwork, hostPID and two sensitive mounts; requests and
# limits always come together; CapDropAny fires wherever CapDropAll can). test_kubesec_undecided keeps
# this list honest: a pair that starts getting verdicts must move to PAIRS.
KUBESEC_UNDECIDED: tuple[Pair, ...] = (
    Pair(
        "kubesec",
        "Privileged",
        "privileged-container",
        kubesec("Privileged"),
        MATCH_FAILS,
        "privileged: true on any container",
    ),
    Pair(
        "kubesec",
        "HostIPC",
        "host-namespaces",
        kubesec("HostIPC"),
        MATCH_FAILS,
        "hostIPC: true",
        focus=at_field("hostIPC"),
    ),
    Pair(
        "kubesec",
        "ProcMount",
        "sensitive-host-path",
        kubesec("ProcMount"),
        MATCH_FAILS,
        "a hostPath volume on /proc (kubesec's ProcMount is about hostPath, not securityContext.procMount)",
        focus=host_paths("/proc and below", lambda p: p == "/proc" or p.startswith("/proc/")),
        only=(PROC_PATHS_KUBESEC,),
    ),
    Pair(
        "kubesec",
        "CapDropAll",
        "capabilities-not-dropped",
        kubesec("CapDropAll"),
        MATCH_PASSES,
        "+1 when a container drops ALL",
        only=(ONE_CONTAINER, NOT_WINDOWS, DROP_ALL_EXACT),
    ),
    Pair(
        "kubesec",
        "LimitsCPU",
        "missing-resource-limits",
        kubesec("LimitsCPU"),
        MATCH_PASSES,
        "+1 when a regular container sets resources.limits.cpu",
        focus=at_field("cpu"),
        only=(ONE_CONTAINER, NO_INIT),
    ),
    Pair(
        "kubesec",
        "LimitsMemory",
        "missing-resource-limits",
        kubesec("LimitsMemory"),
        MATCH_PASSES,
        "+1 when a regular container sets resources.limits.memory",
        focus=at_field("memory"),
        only=(ONE_CONTAINER, NO_INIT),
    ),
    Pair(
        "kubesec",
        "RequestsCPU",
        "missing-resource-requests",
        kubesec("RequestsCPU"),
        MATCH_PASSES,
        "+1 when a regular container sets resources.requests.cpu",
        focus=at_field("cpu"),
        only=(ONE_CONTAINER, NO_INIT, _no_request_defaulting("cpu")),
    ),
    Pair(
        "kubesec",
        "RequestsMemory",
        "missing-resource-requests",
        kubesec("RequestsMemory"),
        MATCH_PASSES,
        "+1 when a regular container sets resources.requests.memory",
        focus=at_field("memory"),
        only=(ONE_CONTAINER, NO_INIT, _no_request_defaulting("memory")),
    ),
)


@dataclass(frozen=True)
class Difference:
    tool: str
    theirs: str
    ours: str  # our nearest check, or "" when we have none
    reason: str


# Their checks that look like ours but are not compared at all, and why. kube-score's
# container-security-context-user-group-id and kube-linter's writable-host-mount are compared in
# test_agreement_workload_details.py (run-as-low-id, writable-host-path-mount).
DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "kubesec",
        "RunAsUser / RunAsGroup",
        "run-as-user-root, run-as-group-root",
        "+1 for a UID / GID above 10000: a hardening bonus, not the 'not root' rule we check",
    ),
    Difference(
        "kubesec",
        "ApparmorAny",
        "apparmor-unconfined",
        "+1 for setting some AppArmor profile; PSS baseline (and we) allow an unset profile, which the "
        "runtime confines with its default",
    ),
    Difference("kubesec", "CapDropAny", "capabilities-not-dropped", "+1 for dropping any capability; we require ALL"),
    Difference(
        "polaris",
        "linuxHardening",
        "seccomp-unconfined, apparmor-unconfined, custom-selinux-options, capabilities-not-dropped",
        "passes when any one of seccomp, SELinux, AppArmor or a capability drop is set; we check each "
        "control on its own, so no single check of ours has this any-of definition",
    ),
    Difference(
        "kube-linter",
        "drop-net-raw-capability",
        "capabilities-not-dropped, dangerous-capabilities",
        "fires unless NET_RAW is dropped (also on its own 'dont-fire' objects, 4 reports for 2 named ones); "
        "we require dropping ALL, or report adding NET_RAW, neither of which is this rule",
    ),
    Difference(
        "kube-linter",
        "(all checks) DeploymentConfig objects",
        "",
        "half of kube-linter's objects are OpenShift DeploymentConfigs (apps.openshift.io); our checks "
        "target the Kubernetes workload kinds only, so those objects are left out of every pair",
    ),
)


# --------------------------------------------------------------------------------------------------
# Comparison


@dataclass
class Outcome:
    compared: list[tuple[str, bool, bool]] = field(default_factory=list)  # where, theirs fails, ours fails
    excluded: list[tuple[str, str]] = field(default_factory=list)  # where, why
    unlabelled: int = 0

    @property
    def disagreements(self) -> list[tuple[str, bool, bool]]:
        return [case for case in self.compared if case[1] != case[2]]


_outcomes: dict[tuple[str, Path], Outcome] = {}


def _verdict(fails: bool) -> str:
    return "fails" if fails else "passes"


def compare(pair: Pair, data: Path) -> Outcome:
    """``data``: ../shared/oracles, or kube-score's module folder ``score`` for kube-score pairs."""
    key = (pair.id, data)
    if key in _outcomes:
        return _outcomes[key]
    check = builtin_registry().get(pair.ours)
    outcome = Outcome()
    for case in pair.source(data):
        theirs = pair.fails.get(case.value)
        if theirs is None:
            outcome.unlabelled += 1
            continue
        obj = case.obj
        if case.rejected:
            outcome.excluded.append((case.where, f"our loader rejects the file: {case.rejected}"))
            continue
        if obj is None or not check.applies_to(obj):
            kind = f"{obj.api_version} {obj.kind}" if obj is not None else "no workload"
            outcome.excluded.append((case.where, f"outside the kinds our check judges ({kind})"))
            continue
        reasons = [r for r in (only.reason(obj, case.context) for only in pair.only) if r]
        if reasons:
            outcome.excluded.append((case.where, "; ".join(reasons)))
            continue
        findings = evaluate([check], [obj])
        crashed = [f.message for f in findings if f.path == ""]
        assert not crashed, f"{case.where}: {pair.ours} could not evaluate the object: {crashed}"
        ours = any(pair.focus.keep(obj, f.violation) for f in findings) if pair.focus else bool(findings)
        outcome.compared.append((f"{case.where} [{case.label}]", theirs, ours))
    _outcomes[key] = outcome
    return outcome


# kube-score's data comes from its Go module, the others' from ../shared/oracles.
SHARED_PAIRS = tuple(pair for pair in PAIRS if pair.tool != "kube-score")
KUBE_SCORE_PAIRS = tuple(pair for pair in PAIRS if pair.tool == "kube-score")


@pytest.mark.parametrize("pair", SHARED_PAIRS, ids=[pair.id for pair in SHARED_PAIRS])
def test_agreement(pair: Pair, oracles: Path, record_property: Callable[[str, object], None]) -> None:
    _assert_agreement(pair, oracles, record_property)


@pytest.mark.parametrize("pair", KUBE_SCORE_PAIRS, ids=[pair.id for pair in KUBE_SCORE_PAIRS])
def test_kube_score_agreement(
    pair: Pair, kube_score_module: Path, record_property: Callable[[str, object], None]
) -> None:
    _assert_agreement(pair, kube_score_module / "score", record_property)


def _assert_agreement(pair: Pair, data: Path, record_property: Callable[[str, object], None]) -> None:
    outcome = compare(pair, data)
    record_property("compared", len(outcome.compared))
    record_property("excluded", len(outcome.excluded))
    print(
        f"\n{pair.id}: {len(outcome.compared)} compared, {len(outcome.excluded)} excluded, "
        f"{outcome.unlabelled} without a verdict"
    )
    for where, why in outcome.excluded:
        print(f"  excluded {where}: {why}")
    assert outcome.compared, f"{pair.id}: no labelled object to compare; drop the pair or fix its source"
    problems = [
        f"  {where}: {pair.tool} {_verdict(theirs)}, {pair.ours} {_verdict(ours)}"
        for where, theirs, ours in outcome.disagreements
    ]
    assert not problems, f"{pair.id} ({pair.maps}): {len(problems)} disagreement(s)\n" + "\n".join(problems)


def _count(pairs: tuple[Pair, ...], data: Path, record_property: Callable[[str, object], None]) -> Counter[str]:
    per_tool: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    for pair in pairs:
        outcome = compare(pair, data)
        per_tool[pair.tool] += len(outcome.compared)
        excluded[pair.tool] += len(outcome.excluded)
    total = sum(per_tool.values())
    record_property("compared_total", total)
    for tool, count in per_tool.items():
        record_property(f"compared_{tool}", count)
    summary = ", ".join(f"{tool} {count} (+{excluded[tool]} excluded)" for tool, count in per_tool.items())
    print(f"\nlinter agreement: {total} (pair, object) verdicts compared over {len(pairs)} pairs: {summary}")
    return per_tool


def test_compared_count(oracles: Path, record_property: Callable[[str, object], None]) -> None:
    per_tool = _count(SHARED_PAIRS, oracles, record_property)
    total = sum(per_tool.values())
    assert set(per_tool) == {"polaris", "kube-linter", "kubesec"}
    assert total >= FLOOR, f"only {total} verdicts compared (floor {FLOOR}): some pairs stopped comparing"


def test_kube_score_compared_count(kube_score_module: Path, record_property: Callable[[str, object], None]) -> None:
    total = sum(_count(KUBE_SCORE_PAIRS, kube_score_module / "score", record_property).values())
    assert total >= KUBE_SCORE_FLOOR, f"only {total} kube-score verdicts compared (floor {KUBE_SCORE_FLOOR})"


def test_tables_name_real_checks() -> None:
    registry = builtin_registry()
    ids = [pair.id for pair in PAIRS]
    assert len(ids) == len(set(ids)), "pair ids must be unique"
    for pair in PAIRS:
        assert pair.ours in registry, f"{pair.id}: no check {pair.ours!r}"
        assert pair.note and pair.fails, pair.id
    compared = {(pair.tool, pair.theirs) for pair in PAIRS}
    for difference in DIFFERENCES:
        assert difference.reason, difference
        assert (difference.tool, difference.theirs) not in compared, f"{difference} is also a compared pair"
        for ours in filter(None, (s.strip() for s in difference.ours.split(","))):
            assert ours in registry, f"{difference.theirs}: no check {ours!r}"


def test_kubesec_inference() -> None:
    # A -30 rule cannot hide behind positive points; a -9 rule can, when enough +1 rules are possible.
    privileged = "securityContext: {privileged: true}"
    assert kubesec_label("Privileged", privileged, "score<0")[0] == "matched"
    assert kubesec_label("Privileged", privileged + " cpu memory drop", "score==0")[0] == "not matched"
    assert kubesec_label("HostNetwork", "hostNetwork: true", "score>0")[0] == "not matched"
    many = "hostNetwork readOnlyRootFilesystem runAsNonRoot runAsUser runAsGroup drop cpu memory serviceAccountName"
    assert kubesec_label("HostNetwork", many, "score>0")[0] == "undecided"
    assert kubesec_label("HostNetwork", "hostNetwork hostPID", "score<0")[0] == "undecided"
    assert kubesec_label("ReadOnlyRootFilesystem", "readOnlyRootFilesystem: true", "score>0")[0] == "matched"
    assert kubesec_label("ReadOnlyRootFilesystem", "readOnlyRootFilesystem: false", "score==0")[0] == "not matched"
    assert kubesec_label("ReadOnlyRootFilesystem", "readOnlyRootFilesystem privileged", "score==0")[0] == "undecided"
    assert kubesec_label("HostPID", "nothing here", "score<0")[0] == "undecided"
    assert sum(1 for points, _ in KUBESEC_RULES.values() if points) == 30  # the whole rule table


@pytest.mark.parametrize("pair", KUBESEC_UNDECIDED, ids=[pair.id for pair in KUBESEC_UNDECIDED])
def test_kubesec_undecided(pair: Pair, oracles: Path) -> None:
    outcome = compare(pair, oracles)
    decided = [where for where, _, _ in outcome.compared] + [where for where, _ in outcome.excluded]
    assert not decided, f"{pair.id} now has kubesec verdicts ({decided}); move it to PAIRS"
