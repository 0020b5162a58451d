"""PSS restricted ``restrictedVolumes`` (v1.0; overrides baseline ``hostPathVolumes``).

"The Restricted policy only permits the following volume types." Restricted fields:
``spec.volumes[*]``; allowed: a volume whose source is one of configMap, csi, downwardAPI,
emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret. Every other source
(hostPath, nfs, gitRepo, ...) is forbidden; a volume without a source is an emptyDir, as the API
server's defaulting makes it before admission runs (k8s.io/pod-security-admission
``policy/check_restrictedVolumes.go``; ``image`` was added to the v1.0 check unversioned, the
PSS page does not list it yet).
"""

from __future__ import annotations

from typing import Final

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize, text
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef

ALLOWED_SOURCES: Final = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
)  # fmt: skip
# In upstream's order: a volume setting several sources is named after the first one listed.
RESTRICTED_SOURCES: Final = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
    "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte",
    "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)  # fmt: skip


def restricted_volumes_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    names: list[str] = []
    kinds: set[str] = set()
    paths: list[str] = []
    for index, raw in enumerate(as_list(pod.spec.get("volumes"))):
        volume = as_mapping(raw)
        if any(volume.get(source) is not None for source in ALLOWED_SOURCES):
            continue
        kind = next((source for source in RESTRICTED_SOURCES if volume.get(source) is not None), None)
        if kind is None:
            # No source at all: the API server's defaulting (before admission) makes it an emptyDir.
            continue
        names.append(text(volume.get("name")))
        kinds.add(kind)
        paths.append(f"{pod.path}.volumes[{index}].{kind}")
    if not names:
        return ALLOWED
    return forbidden(
        "restricted volume types",
        f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)} {pluralize('uses', 'use', len(names))} "
        f"{pluralize('restricted volume type', 'restricted volume types', len(kinds))} {join_quote(sorted(kinds))}",
        paths,
    )


CONTROL = Control(
    "restrictedVolumes",
    "restricted",
    (Versioned(v(1, 0), restricted_volumes_1_0, ("hostPathVolumes",)),),
    "pss-restricted-volumes",
)

CHECK = make_check(
    CONTROL,
    title="PSS restricted: volume types",
    summary="Pods may use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes (Pod Security Standards, restricted).",
    remediation="Replace other volume sources with one of the allowed types, e.g. a persistentVolumeClaim.",
    category=Category.HOST,
    severity=Severity.MEDIUM,
)
