"""What the local node adds so that applied manifests really run: stand-ins for what no run here can get.

Manifests name images in registries the machine cannot reach, Secrets kept out of git, and
volumes a cloud would provision. On ``--k8s-local-node`` the run supplies, for the applied
manifests only, and marks every one as a stand-in:

* **images**: for each image reference no local image answers, an image under that exact
  (normalised) name holding ``k8ssec-probe`` at every ``command`` path the manifests use with it:
  it ignores the application's arguments, serves every port the manifests declare for that image
  (HTTP requests get ``200 OK``), and exits 0 at once where the image runs an init container or
  a Job (``local_images.standin_image``). What the checks judge (securityContext, labels, ports,
  policies) is the manifests' own; what runs is not the application;
* **Secrets and ConfigMaps** a workload mounts or reads but the manifests do not hold: created
  empty (with placeholder values for the keys the workload names), labelled
  ``k8ssec.io/stand-in: "true"``;
* **PersistentVolumes** for every claim the workloads make (a StatefulSet's
  ``volumeClaimTemplates`` for each replica, and PersistentVolumeClaims in the manifests): a
  ``hostPath`` folder in the node's working folder, pre-bound to its claim, removed with the run.

Then it waits until every pod of the applied workloads runs, and fails naming each pod that does
not and why (the kubelet's waiting reason), so no test judges a half-started set.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import pod_spec

STAND_IN_LABEL: Final = "k8ssec.io/stand-in"
#: Kinds whose pods the wait counts, and how many each should have.
_REPLICATED: Final = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


class StandInError(K8sSecError):
    """The applied manifests could not be made to run on the local node; the message says which pod and why."""


class Api(Protocol):
    """The part of ``ClusterSource`` used here."""

    def request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]: ...

    def apply(self, obj: Any, namespace: str | None = None) -> dict[str, Any]: ...


def _labelled(kind: str, name: str, namespace: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {STAND_IN_LABEL: "true"}}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata, **extra}


def referenced_config(objects: Iterable[K8sObject]) -> dict[tuple[str, str, str], set[str]]:
    """(kind, namespace, name) -> the keys the workloads read, for every Secret and ConfigMap they
    mount, project or read (``env``, ``envFrom``) without ``optional: true``."""
    wanted: dict[tuple[str, str, str], set[str]] = {}

    def need(kind: str, namespace: str, name: Any, keys: Iterable[Any] = (), optional: Any = False) -> None:
        if isinstance(name, str) and name and optional is not True:
            wanted.setdefault((kind, namespace, name), set()).update(k for k in keys if isinstance(k, str))

    for obj in objects:
        ref = pod_spec(obj)
        if ref is None:
            continue
        namespace = obj.namespace or "default"
        for volume in ref.spec.get("volumes") or []:
            if not isinstance(volume, dict):
                continue
            secret, config_map = volume.get("secret"), volume.get("configMap")
            if isinstance(secret, dict):
                keys = [item.get("key") for item in secret.get("items") or [] if isinstance(item, dict)]
                need("Secret", namespace, secret.get("secretName"), keys, secret.get("optional"))
            if isinstance(config_map, dict):
                keys = [item.get("key") for item in config_map.get("items") or [] if isinstance(item, dict)]
                need("ConfigMap", namespace, config_map.get("name"), keys, config_map.get("optional"))
            projected = volume.get("projected")
            for source in (projected.get("sources") or []) if isinstance(projected, dict) else []:
                for kind, field in (("Secret", "secret"), ("ConfigMap", "configMap")):
                    part = source.get(field) if isinstance(source, dict) else None
                    if isinstance(part, dict):
                        keys = [item.get("key") for item in part.get("items") or [] if isinstance(item, dict)]
                        need(kind, namespace, part.get("name"), keys, part.get("optional"))
        for container in containers(obj):
            for env in container.container.get("env") or []:
                source = env.get("valueFrom") if isinstance(env, dict) else None
                for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    part = source.get(field) if isinstance(source, dict) else None
                    if isinstance(part, dict):
                        need(kind, namespace, part.get("name"), [part.get("key")], part.get("optional"))
            for env_from in container.container.get("envFrom") or []:
                for kind, field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    part = env_from.get(field) if isinstance(env_from, dict) else None
                    if isinstance(part, dict):
                        need(kind, namespace, part.get("name"), (), part.get("optional"))
    return wanted


def missing_config(objects: Sequence[K8sObject]) -> list[dict[str, Any]]:
    """Stand-in Secrets and ConfigMaps for what the workloads read and the manifests do not hold."""
    present = {(obj.kind, obj.namespace or "default", obj.name) for obj in objects}
    made = []
    for (kind, namespace, name), keys in sorted(referenced_config(objects).items()):
        if (kind, namespace, name) in present:
            continue
        # A placeholder value for each key the workload names (an env var from a missing key, or
        # a volume item, would stop the container); never a real credential.
        data = dict.fromkeys(sorted(keys), "stand-in")
        made.append(_labelled(kind, name, namespace, {"stringData" if kind == "Secret" else "data": data}))
    return made


def claims(objects: Sequence[K8sObject]) -> list[dict[str, Any]]:
    """Every PersistentVolumeClaim the objects make: their own, and each StatefulSet replica's."""
    found: list[dict[str, Any]] = []
    for obj in objects:
        namespace = obj.namespace or "default"
        if obj.kind == "PersistentVolumeClaim":
            found.append({"namespace": namespace, "name": obj.name, "spec": dict(obj.raw.get("spec") or {})})
        elif obj.kind == "StatefulSet":
            spec = obj.raw.get("spec") or {}
            replicas = spec.get("replicas", 1)
            for template in spec.get("volumeClaimTemplates") or []:
                if not isinstance(template, dict):
                    continue
                claim = (template.get("metadata") or {}).get("name")
                for ordinal in range(replicas if isinstance(replicas, int) else 1):
                    found.append(
                        {
                            "namespace": namespace,
                            # The StatefulSet controller's name for a replica's claim.
                            "name": f"{claim}-{obj.name}-{ordinal}",
                            "spec": dict(template.get("spec") or {}),
                        }
                    )
    return found


def volume_for(claim: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A hostPath PersistentVolume in ``folder``, pre-bound to ``claim`` (size, modes and class as asked)."""
    spec = claim["spec"]
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    path = folder / f"{claim['namespace']}-{claim['name']}"
    return _labelled(
        "PersistentVolume",
        f"k8ssec-{claim['namespace']}-{claim['name']}"[:253],
        None,
        {
            "spec": {
                "capacity": {"storage": storage},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": spec.get("storageClassName") or "",
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "claimRef": {"namespace": claim["namespace"], "name": claim["name"]},
                "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
            }
        },
    )


def expected_pods(objects: Sequence[K8sObject]) -> int:
    """How many pods the applied workloads run at once (a CronJob none until its schedule)."""
    count = 0
    for obj in objects:
        if obj.kind in _REPLICATED:
            replicas = (obj.raw.get("spec") or {}).get("replicas", 1)
            count += replicas if isinstance(replicas, int) else 1
        elif obj.kind in ("DaemonSet", "Pod", "Job"):
            count += 1
    return count


def wait_running(api: Api, namespaces: Sequence[str], expected: int, timeout: float) -> list[dict[str, Any]]:
    """Wait until ``expected`` pods of ``namespaces`` run (Running, or Succeeded for Jobs).

    Raises:
        StandInError: naming each pod that does not run and the kubelet's reason.
    """
    deadline = time.monotonic() + timeout
    while True:
        pods: list[dict[str, Any]] = []
        for namespace in namespaces:
            status, body = api.request("GET", f"/api/v1/namespaces/{namespace}/pods")
            if status == 200 and isinstance(body, dict):
                pods.extend(body.get("items") or [])
        running = [p for p in pods if (p.get("status") or {}).get("phase") in ("Running", "Succeeded")]
        if len(running) >= expected and len(running) == len(pods):
            return pods
        if time.monotonic() > deadline:
            lines = [_why(p) for p in pods if p not in running]
            raise StandInError(
                f"{len(running)} of {expected} pods of the applied manifests run after {timeout:g} s; "
                + ("; ".join(lines) or "the workload controllers made no pods")
            )
        time.sleep(0.25)


def _why(pod: dict[str, Any]) -> str:
    metadata, status = pod.get("metadata") or {}, pod.get("status") or {}
    name = f"{metadata.get('namespace')}/{metadata.get('name')}"
    for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return f"{name}: {container.get('name')} {waiting.get('reason')}: {waiting.get('message', '')}".rstrip(": ")
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return f"{name}: {condition.get('reason')}: {condition['message']}"
    return f"{name}: {status.get('phase')}"
