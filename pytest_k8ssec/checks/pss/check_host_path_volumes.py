"""PSS baseline ``hostPathVolumes`` (v1.0).

"HostPath volumes must be forbidden." Restricted fields: ``spec.volumes[*].hostPath``; allowed
values: undefined/null (k8s.io/pod-security-admission ``policy/check_hostPathVolumes.go``). The
restricted ``restrictedVolumes`` control overrides it.
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize, text
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef


def host_path_volumes_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    names: list[str] = []
    paths: list[str] = []
    for index, volume in enumerate(as_list(pod.spec.get("volumes"))):
        volume = as_mapping(volume)
        if volume.get("hostPath") is not None:
            names.append(text(volume.get("name")))
            paths.append(f"{pod.path}.volumes[{index}].hostPath")
    if not names:
        return ALLOWED
    return forbidden("hostPath volumes", f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)}", paths)


CONTROL = Control("hostPathVolumes", "baseline", (Versioned(v(1, 0), host_path_volumes_1_0),), "pss-host-path-volumes")

CHECK = make_check(
    CONTROL,
    title="PSS baseline: hostPath volumes",
    summary="Pods must not mount hostPath volumes (Pod Security Standards, baseline).",
    remediation="Replace hostPath volumes with emptyDir, configMap, secret or persistent volume claims.",
    category=Category.HOST,
    severity=Severity.HIGH,
    controls=("CIS-5.2.11", "NSA-pod-security-enforcement", "MITRE-T1611"),
)
