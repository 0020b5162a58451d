"""pytest_k8ssec.model.inventory: the run's objects and the queries tests make over them."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec.model.inventory import (
    Inventory,
    Selection,
    SelectionError,
    duplicates,
    exclusions,
    in_namespaces,
    place,
)
from pytest_k8ssec.model.objects import K8sObject, Provenance
from tests.builders import as_object, manifest

POD_SPEC: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx"}]}


def make(
    kind: str,
    name: str,
    namespace: str | None = None,
    api_version: str = "v1",
    labels: dict[str, str] | None = None,
    line: int = 1,
    **fields: Any,
) -> K8sObject:
    """An object of its own file ``<name>.yaml`` (the inventory's messages name files and lines)."""
    raw = manifest(kind, name, namespace, api_version=api_version, labels=labels, **fields)
    return as_object(raw, f"{name}.yaml", line, 0)


def workload(kind: str, name: str, namespace: str | None = None, **kwargs: Any) -> K8sObject:
    api = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    if kind == "Pod":
        return make(kind, name, namespace, api, spec=POD_SPEC, **kwargs)
    return make(kind, name, namespace, api, spec={"template": {"spec": POD_SPEC}}, **kwargs)


@pytest.fixture
def inventory() -> Inventory:
    return Inventory(
        [
            make("Namespace", "shop"),
            make("Namespace", "empty"),
            workload("Deployment", "web", "shop", labels={"app": "web", "tier": "front"}),
            workload("Deployment", "api", "shop", labels={"app": "api", "tier": "back"}),
            workload("StatefulSet", "db", "data", labels={"app": "db", "tier": "back"}),
            workload("Pod", "debug"),  # default namespace
            make("Service", "web", "shop", labels={"app": "web"}),
            make("ClusterRole", "reader", api_version="rbac.authorization.k8s.io/v1"),
            make("Widget", "w", api_version="example.com/v1"),  # CRD without namespace
            make("Deployment", "fake", "shop", api_version="example.com/v1", labels={"app": "web"}),
        ]
    )


def refs(objects: list[K8sObject]) -> list[str]:
    return [o.ref for o in objects]


def test_basics(inventory: Inventory) -> None:
    assert len(inventory) == 10
    assert list(inventory) == list(inventory.objects)
    assert inventory.objects[0].ref == "Namespace/shop"
    assert Inventory([]).kinds() == [] and len(Inventory([])) == 0


def test_kinds_are_sorted_and_unique(inventory: Inventory) -> None:
    assert inventory.kinds() == ["ClusterRole", "Deployment", "Namespace", "Pod", "Service", "StatefulSet", "Widget"]


def test_namespaces_come_from_objects_and_namespace_objects(inventory: Inventory) -> None:
    # "empty" has a Namespace object and nothing in it; cluster-scoped kinds and CRDs add none.
    assert inventory.namespaces() == ["data", "default", "empty", "shop"]


def test_by_kind(inventory: Inventory) -> None:
    assert refs(list(inventory.by_kind("Deployment"))) == [
        "Deployment/shop/web",
        "Deployment/shop/api",
        "Deployment/shop/fake",
    ]
    assert inventory.by_kind("Ingress") == ()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, None),  # everything
        ({"kind": "Service"}, ["Service/shop/web"]),
        ({"kind": ["Service", "ClusterRole"]}, ["Service/shop/web", "ClusterRole/reader"]),
        ({"kind": ("Pod",)}, ["Pod/default/debug"]),
        (
            {"namespace": "shop", "kind": "Deployment"},
            ["Deployment/shop/web", "Deployment/shop/api", "Deployment/shop/fake"],
        ),
        ({"namespace": ["data", "default"]}, ["StatefulSet/data/db", "Pod/default/debug"]),
        ({"name": "web"}, ["Deployment/shop/web", "Service/shop/web"]),
        ({"name": {"w", "reader"}}, ["ClusterRole/reader", "Widget/w"]),
        ({"labels": {"app": "web"}}, ["Deployment/shop/web", "Service/shop/web", "Deployment/shop/fake"]),
        ({"labels": {"tier": "back"}, "kind": "StatefulSet"}, ["StatefulSet/data/db"]),
        ({"labels": {"app": "web", "tier": "back"}}, []),
        ({"kind": "Ingress"}, []),
        ({"namespace": "nowhere"}, []),
    ],
)
def test_select(inventory: Inventory, query: dict[str, Any], expected: list[str] | None) -> None:
    got = refs(inventory.select(**query))
    assert got == (refs(list(inventory)) if expected is None else expected)


def test_select_keeps_load_order(inventory: Inventory) -> None:
    assert refs(inventory.select(kind=["Service", "Deployment"], namespace="shop")) == [
        "Deployment/shop/web",
        "Deployment/shop/api",
        "Service/shop/web",
        "Deployment/shop/fake",
    ]


def test_workloads_are_objects_with_a_pod_spec(inventory: Inventory) -> None:
    # The example.com "Deployment" is a CRD, not a workload.
    assert refs(inventory.workloads()) == [
        "Deployment/shop/web",
        "Deployment/shop/api",
        "StatefulSet/data/db",
        "Pod/default/debug",
    ]
    assert refs(inventory.workloads(kind="Deployment")) == ["Deployment/shop/web", "Deployment/shop/api"]
    assert refs(inventory.workloads(labels={"tier": "back"})) == ["Deployment/shop/api", "StatefulSet/data/db"]
    assert refs(inventory.workloads(namespace="default")) == ["Pod/default/debug"]
    assert refs(inventory.workloads(name=["db", "web"])) == ["Deployment/shop/web", "StatefulSet/data/db"]
    assert inventory.workloads(kind="Service") == []


def test_get(inventory: Inventory) -> None:
    assert inventory.get("Deployment", "api").ref == "Deployment/shop/api"
    assert inventory.get("Deployment", "api", namespace="shop").ref == "Deployment/shop/api"
    assert inventory.get("ClusterRole", "reader").namespace is None
    assert inventory.get("Pod", "debug", namespace="default").ref == "Pod/default/debug"


def test_get_missing_raises_key_error_saying_what_was_sought(inventory: Inventory) -> None:
    with pytest.raises(KeyError) as info:
        inventory.get("Deployment", "api", namespace="prod")
    assert info.value.args[0] == "no Deployment named 'api' in namespace 'prod' among 10 objects"
    with pytest.raises(KeyError) as info:
        inventory.get("Ingress", "web")
    assert info.value.args[0] == "no Ingress named 'web' among 10 objects"


def test_get_ambiguous_raises_key_error_listing_where_each_came_from() -> None:
    inventory = Inventory([workload("Deployment", "web", "a", line=3), workload("Deployment", "web", "b", line=9)])
    with pytest.raises(KeyError) as info:
        inventory.get("Deployment", "web")
    assert info.value.args[0] == "2 objects match Deployment 'web': web.yaml:3, web.yaml:9"
    assert inventory.get("Deployment", "web", namespace="b").provenance.line == 9


def test_selection_describe() -> None:
    assert Selection().describe() == "everything"
    assert Selection(kind="Deployment", namespace="shop").describe() == "kind='Deployment', namespace='shop'"
    assert Selection(kind=["StatefulSet", "Deployment"]).describe() == "kind=['Deployment', 'StatefulSet']"
    assert Selection(name={"b", "a"}, labels={"app": "web"}).describe() == "name=['a', 'b'], labels={'app': 'web'}"
    assert (
        Selection(kind="Pod", namespace=("x",), name="n", labels={"k": "v"}).describe()
        == "kind='Pod', namespace=['x'], name='n', labels={'k': 'v'}"
    )


def test_selection_matches() -> None:
    web = workload("Deployment", "web", "shop", labels={"app": "web"})
    assert Selection().matches(web)
    assert Selection(kind="Deployment", namespace="shop", name="web", labels={"app": "web"}).matches(web)
    assert not Selection(kind="StatefulSet").matches(web)
    assert not Selection(namespace="default").matches(web)
    assert not Selection(labels={"app": "api"}).matches(web)
    assert Selection(labels={}).matches(web)  # no label criterion
    unlabelled = make("ConfigMap", "c", labels=None)
    assert not Selection(labels={"app": "web"}).matches(unlabelled)
    malformed = K8sObject(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "labels": ["x"]}}, Provenance("m")
    )
    assert not Selection(labels={"app": "web"}).matches(malformed)
    # A cluster-scoped object has no namespace and matches no namespace criterion.
    assert not Selection(namespace="default").matches(
        make("ClusterRole", "r", api_version="rbac.authorization.k8s.io/v1")
    )


# --- placement, narrowing, duplicates, exclusions ---------------------------------------------------

CRD = make(
    "CustomResourceDefinition",
    "apps.argoproj.io",
    api_version="apiextensions.k8s.io/v1",
    spec={"group": "argoproj.io", "scope": "Namespaced", "names": {"kind": "Application"}},
)


def test_place_gives_namespaced_kinds_the_default_namespace_and_leaves_the_rest() -> None:
    loose = workload("Deployment", "web")
    app = make("Application", "guestbook", api_version="argoproj.io/v1alpha1")
    unknown = make("Mystery", "m", api_version="unknown.example.org/v1")
    role = make("ClusterRole", "reader", api_version="rbac.authorization.k8s.io/v1")
    declared = workload("Deployment", "api", "shop")
    placed = place([CRD, loose, app, unknown, role, declared], "team")
    assert [o.namespace for o in placed] == [None, "team", "team", None, None, "shop"]
    assert placed[1].raw["metadata"] == {"name": "web", "namespace": "team"}
    assert placed[1].provenance == loose.provenance
    assert loose.raw["metadata"] == {"name": "web"}, "the loaded object is not changed"
    assert placed[5] is declared and placed[4] is role and placed[3] is unknown
    # Without a default namespace, "default" as kubectl applies it; a namespaced CRD's objects too.
    assert [o.namespace for o in place([CRD, loose, app])] == [None, "default", "default"]


def test_in_namespaces_narrows_like_a_live_list() -> None:
    objs = [workload("Pod", "a", "argocd"), workload("Pod", "b"), make("Namespace", "argocd"), make("Namespace", "logging"),
            make("ClusterRole", "r", api_version="rbac.authorization.k8s.io/v1")]  # fmt: skip
    assert [o.name for o in objs if in_namespaces(o, ["argocd"])] == ["a", "argocd", "r"]
    assert [o.name for o in objs if in_namespaces(o, (), ["argocd"])] == ["b", "logging", "r"]
    assert [o.name for o in objs if in_namespaces(o)] == ["a", "b", "argocd", "logging", "r"]


def test_duplicates_are_same_group_kind_namespace_name_and_generate_name_never_is() -> None:
    a, b = workload("Deployment", "web", "shop", line=1), workload("Deployment", "web", "shop", line=9)
    other_ns = workload("Deployment", "web", "ops")
    other_group = make("Deployment", "web", "shop", api_version="extensions/v1beta1")
    generated = [make("Job", "", "shop", api_version="batch/v1"), make("Job", "", "shop", api_version="batch/v1")]
    for job in generated:
        job.raw["metadata"]["generateName"] = "migrate-"  # type: ignore[index]
    third = workload("Deployment", "web", "shop", line=20)
    assert duplicates([a, other_ns, b, other_group, *generated, third]) == [(a, b), (a, third)]


def test_exclusions_take_mappings_ids_and_lists_and_refuse_the_rest() -> None:
    agent, web = workload("DaemonSet", "agent", "logging"), workload("DaemonSet", "web", "shop")
    node = make("Node", "n1")
    inventory = Inventory([agent, web, node])
    assert inventory.workloads(kind="DaemonSet", exclude={"namespace": "logging"}) == [web]
    assert inventory.workloads(exclude=[{"name": "web"}, "DaemonSet/logging/agent"]) == []
    assert inventory.select(exclude="Node/n1") == [agent, web]
    assert inventory.select(exclude={"kind": "DaemonSet", "labels": {"tier": "x"}}) == [agent, web, node]
    for bad, message in [
        ({"namspace": "x"}, "unknown key(s) namspace"),
        ({}, "empty mapping"),
        ("agent", "not an object id"),
        (5, "expected a mapping"),
        ({"labels": ["a"]}, "labels must be a mapping"),
        ({"kind": 3}, "kind must be a string"),
        ({"exclude": {"kind": "Pod"}}, "cannot itself exclude"),
    ]:
        with pytest.raises(SelectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
            exclusions(bad)
    described = Selection.from_fields(
        {"kind": "DaemonSet", "exclude": [{"namespace": "logging"}, "Pod/a/b"]}
    ).describe()
    assert described == "kind='DaemonSet', exclude=[namespace='logging'; ref='Pod/a/b']"


def owned(obj: K8sObject, kind: str, name: str, api_version: str = "apps/v1", uid: str | None = None) -> K8sObject:
    """``obj`` with a controller owner reference (as the API writes it) to ``kind``/``name``."""
    raw = dict(obj.raw)
    reference: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "name": name, "controller": True}
    if uid is not None:
        reference["uid"] = uid
    raw["metadata"] = {**raw["metadata"], "ownerReferences": [reference]}
    return K8sObject(raw, obj.provenance)


def with_uid(obj: K8sObject, uid: str) -> K8sObject:
    raw = dict(obj.raw)
    raw["metadata"] = {**raw["metadata"], "uid": uid}
    return K8sObject(raw, obj.provenance)


def test_objects_whose_controller_is_a_workload_here_are_left_to_their_owner() -> None:
    deployment = with_uid(workload("Deployment", "web", "shop"), "u-deploy")
    replica_set = with_uid(owned(workload("ReplicaSet", "web-1", "shop"), "Deployment", "web", uid="u-deploy"), "u-rs")
    pod = owned(workload("Pod", "web-1-x", "shop"), "ReplicaSet", "web-1", uid="u-rs")
    # The chain Pod -> ReplicaSet -> Deployment: only the Deployment carries the findings.
    assert refs(Inventory([deployment, replica_set, pod]).workloads()) == ["Deployment/shop/web"]


def test_objects_owned_by_a_custom_resource_controller_are_judged() -> None:
    # Issue 12, item 5: an Argo-style Rollout owns a ReplicaSet. The Rollout is no workload kind we
    # judge, so nothing else carries the ReplicaSet's pod spec: leaving it out was a false pass.
    rollout = with_uid(make("Rollout", "web", "ops", api_version="argoproj.io/v1alpha1"), "u-rollout")
    replica_set = with_uid(
        owned(
            workload("ReplicaSet", "web-1", "ops"),
            "Rollout",
            "web",
            api_version="argoproj.io/v1alpha1",
            uid="u-rollout",
        ),
        "u-rs",
    )
    pod = owned(workload("Pod", "web-1-x", "ops"), "ReplicaSet", "web-1", uid="u-rs")
    assert refs(Inventory([rollout, replica_set, pod]).workloads()) == ["ReplicaSet/ops/web-1"]


def test_a_forged_or_dangling_controller_reference_does_not_hide_a_workload() -> None:
    # A manifest Deployment claiming a controller that is not in the inventory: judged.
    forged = owned(workload("Deployment", "miner", "shop"), "Deployment", "nowhere")
    # A live ReplicaSet whose owner's uid does not match the same-named Deployment here (the
    # Deployment was recreated; the old ReplicaSet is an orphan waiting for the collector): judged.
    deployment = with_uid(workload("Deployment", "web", "shop"), "u-new")
    orphan = owned(workload("ReplicaSet", "web-old", "shop"), "Deployment", "web", uid="u-old")
    # A same-named owner in another namespace or API group is not the controller either.
    other_namespace = owned(workload("Pod", "p", "other"), "Deployment", "web")
    other_group = owned(workload("Pod", "q", "shop"), "Deployment", "web", api_version="example.com/v1")
    found = refs(Inventory([forged, deployment, orphan, other_namespace, other_group]).workloads())
    assert found == [
        "Deployment/shop/miner",
        "Deployment/shop/web",
        "ReplicaSet/shop/web-old",
        "Pod/other/p",
        "Pod/shop/q",
    ]


def with_template(obj: K8sObject, template: dict[str, Any], replicas: int | None = None) -> K8sObject:
    raw = dict(obj.raw)
    spec = dict(raw["spec"])
    if obj.kind == "CronJob":
        spec["jobTemplate"] = {"spec": {"template": template}}
    else:
        spec["template"] = template
    if replicas is not None:
        spec["replicas"] = replicas
    raw["spec"] = spec
    return K8sObject(raw, obj.provenance)


PRIVILEGED = {"containers": [{"name": "app", "image": "web:2", "securityContext": {"privileged": True}}]}
HARDENED = {"containers": [{"name": "app", "image": "web:2", "securityContext": {"privileged": False}}]}


def test_a_copy_that_still_runs_another_template_than_its_owner_is_judged() -> None:
    # A stuck rollout: the Deployment's template is hardened, its previous ReplicaSet still runs
    # two privileged pods. Judging the Deployment alone never sees them: that passed.
    deployment = with_uid(with_template(workload("Deployment", "web", "shop"), {"spec": HARDENED}), "u-deploy")
    current = with_template(
        owned(workload("ReplicaSet", "web-2", "shop"), "Deployment", "web", uid="u-deploy"),
        {"metadata": {"labels": {"pod-template-hash": "2"}}, "spec": HARDENED},
        replicas=2,
    )
    previous = with_template(
        owned(workload("ReplicaSet", "web-1", "shop"), "Deployment", "web", uid="u-deploy"),
        {"metadata": {"labels": {"pod-template-hash": "1"}}, "spec": PRIVILEGED},
        replicas=2,
    )
    scaled_down = with_template(
        owned(workload("ReplicaSet", "web-0", "shop"), "Deployment", "web", uid="u-deploy"),
        {"spec": PRIVILEGED},
        replicas=0,
    )
    annotated = with_template(
        owned(workload("ReplicaSet", "web-a", "shop"), "Deployment", "web", uid="u-deploy"),
        {
            "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
            "spec": HARDENED,
        },
    )  # replicas absent: 1
    found = refs(Inventory([deployment, current, previous, scaled_down, annotated]).workloads())
    assert found == ["Deployment/shop/web", "ReplicaSet/shop/web-1", "ReplicaSet/shop/web-a"]
    # Manifests (matched by name): a hand-edited copy is judged too.
    by_name = with_template(owned(workload("ReplicaSet", "web-1", "shop"), "Deployment", "web"), {"spec": PRIVILEGED})
    assert refs(
        Inventory([with_template(workload("Deployment", "web", "shop"), {"spec": HARDENED}), by_name]).workloads()
    ) == ["Deployment/shop/web", "ReplicaSet/shop/web-1"]


def test_a_running_job_of_an_earlier_job_template_is_judged_a_finished_one_is_not() -> None:
    cron = with_uid(with_template(workload("CronJob", "backup", "ops"), {"spec": HARDENED}), "u-cron")
    running = with_template(
        owned(workload("Job", "backup-1", "ops"), "CronJob", "backup", api_version="batch/v1", uid="u-cron"),
        {"metadata": {"labels": {"job-name": "backup-1"}}, "spec": PRIVILEGED},
    )
    finished = dict(
        with_template(
            owned(workload("Job", "backup-0", "ops"), "CronJob", "backup", api_version="batch/v1", uid="u-cron"),
            {"spec": PRIVILEGED},
        ).raw
    )
    finished["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    same = with_template(
        owned(workload("Job", "backup-2", "ops"), "CronJob", "backup", api_version="batch/v1", uid="u-cron"),
        {"metadata": {"labels": {"job-name": "backup-2"}}, "spec": HARDENED},
    )
    found = refs(Inventory([cron, running, K8sObject(finished, cron.provenance), same]).workloads())
    assert found == ["CronJob/ops/backup", "Job/ops/backup-1"]


def test_manifest_objects_without_uids_are_matched_by_group_kind_namespace_and_name() -> None:
    deployment = workload("Deployment", "web", "shop")
    pod = owned(workload("Pod", "web-x", "shop"), "Deployment", "web")
    static_pod = owned(workload("Pod", "kube-apiserver-node1", "kube-system"), "Node", "node1", api_version="v1")
    # The mirror Pod of a static pod is controlled by its Node, which judges nothing: judged.
    assert refs(Inventory([deployment, pod, static_pod]).workloads()) == [
        "Deployment/shop/web",
        "Pod/kube-system/kube-apiserver-node1",
    ]
