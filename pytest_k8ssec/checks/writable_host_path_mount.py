"""writable-host-path-mount.

No Pod Security Standard looks at mounts; the Baseline forbids every hostPath volume ("HostPath
volumes must be forbidden."). This check singles out the hostPath volumes a container mounts
writable, as kube-linter's ``writable-host-mount`` does, so a team that must allow a hostPath
volume (a log shipper reading ``/var/log``) still gets a finding when the container can write to
the node's filesystem: plant files the node executes or reads, fill its disk, or tamper with
other pods' data.

Judged per mount: every ``volumeMounts[*]`` of every container (init, regular and ephemeral:
ephemeral containers may mount the pod's volumes) whose ``name`` is a hostPath volume of the pod
and whose ``readOnly`` is not ``true``. The API's default for an unset ``readOnly`` is false
(``VolumeMount.ReadOnly``: "Mounted read-only if true, read-write otherwise"), so unset is writable.
The same volume mounted by two containers, or twice by one at two paths, is reported once per
mount: each is a path where a process can write. A ``subPath`` mount exposes only that
sub-directory of the host path, which the message names; it is still the node's filesystem.
``recursiveReadOnly`` (v1.30+) does not make a mount read-only by itself: the API server rejects
``Enabled`` or ``IfPossible`` unless ``readOnly`` is true, so ``readOnly`` decides. Conversely,
``readOnly: true`` without ``recursiveReadOnly: Enabled`` leaves mounts *under* the host path
(another volume mounted inside it on the node) writable; that is not reported here, since the
container's own mount is read-only and a manifest cannot show what is mounted below it on the node.

A hostPath volume that no container mounts gives no writable path and is not reported here
(``host-path-volume`` reports the volume). A ``readOnly`` that is not a boolean is malformed; it
is reported as writable (fail closed), as the field does not say ``true``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.host_path_volume import host_path_volumes, shown_path
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    # volume name -> host path (None when missing or invalid); most workloads have none.
    host_paths = {name: path for _, name, path in host_path_volumes(obj) if name}
    return _violations(obj, host_paths) if host_paths else ()


def _violations(obj: K8sObject, host_paths: Mapping[str, str | None]) -> Iterator[Violation]:
    for ref in containers(obj):
        for index, mount in enumerate(as_list(ref.container.get("volumeMounts"))):
            if not isinstance(mount, Mapping) or mount.get("readOnly") is True:
                continue
            name = mount.get("name")
            if not isinstance(name, str) or name not in host_paths:
                continue
            host_path = host_paths[name]
            where = shown_path(host_path) if host_path is not None else "(a hostPath volume without a valid path)"
            sub_path = mount.get("subPath") or mount.get("subPathExpr")
            if isinstance(sub_path, str) and sub_path:
                where += f", sub-path {sub_path!r}"
            mount_path = mount.get("mountPath")
            at = f" at {mount_path}" if isinstance(mount_path, str) and mount_path else ""
            yield Violation(
                f"{ref.path}.volumeMounts[{index}].readOnly",
                f'container "{ref.name}" mounts host path {where} (volume "{name}"){at} writable',
                ref.name,
            )


CHECK = Check(
    id="writable-host-path-mount",
    title="Host path mounted writable",
    summary=(
        "Containers must mount hostPath volumes read-only: a writable mount lets the container change the node's files."
    ),
    remediation="Set readOnly: true on every volumeMount of a hostPath volume, or replace the hostPath volume.",
    category=Category.HOST,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("PSS-baseline-hostpath-volumes", "CIS-5.2.11", "NSA-pod-security-enforcement", "MITRE-T1611"),
    references=(
        "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
        "https://kubernetes.io/docs/concepts/storage/volumes/#read-only-mounts",
    ),
)
