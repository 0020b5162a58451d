"""The Pod Security evaluator: upstream's exact texts, version selection, relaxations, namespace labels.

The oracle test (tests/oracles/test_psa_oracle.py) pins verdicts; these pin what a user reads and
the behaviours upstream's code has that the PSS page does not say.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from pytest_k8ssec import (
    K8sObject,
    Provenance,
    SecurityAssertionError,
    assert_namespace_compliant,
    assert_namespace_pod_security,
    assert_pod_security,
    evaluate_pod_security,
)
from pytest_k8ssec.checks.pss import max_version, namespace_policy, parse_level, parse_version
from pytest_k8ssec.checks.pss._helpers import go_quote
from pytest_k8ssec.checks.pss._registry import Version, v
from pytest_k8ssec.model.inventory import Inventory
from tests import builders

GOOD_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "registry.example.com/app:1",
    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
}
GOOD_POD_CONTEXT: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


# The pods of this file come from p.yaml line 3, in namespace shop (the messages below read both).
pod = partial(builders.pod, namespace="shop", source="p.yaml", line=3)


def restricted_pod(**extra: Any) -> dict[str, Any]:
    return {"securityContext": dict(GOOD_POD_CONTEXT), "containers": [dict(GOOD_CONTAINER)], **extra}


def detail(obj: K8sObject, level: str = "restricted", version: str = "latest") -> str:
    return evaluate_pod_security(obj, level, version).forbidden_detail


# --- messages -------------------------------------------------------------------------------------


def test_aggregate_message_reads_like_the_api_server() -> None:
    obj = pod({"initContainers": [{"name": "init"}], "containers": [{"name": "a"}, {"name": "b"}]})
    result = evaluate_pod_security(obj, "restricted", "latest")
    assert result.message == (
        'violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (containers "init", "a", "b" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (containers "init", "a", "b" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or containers "init", "a", "b" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or containers "init", "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    )
    assert (
        result.forbidden_reason
        == "allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile"
    )
    assert [r.control for r in result.results][:3] == ["appArmorProfile", "hostNamespaces", "hostPorts"]


@pytest.mark.parametrize(
    ("spec", "annotations", "level", "expected"),
    [
        (
            {"hostNetwork": True, "hostIPC": True, "containers": []},
            None,
            "baseline",
            "host namespaces (hostNetwork=true, hostIPC=true)",
        ),
        (
            {
                "containers": [
                    {"name": "a", "ports": [{"hostPort": 9}, {"hostPort": 8080}]},
                    {"name": "b", "ports": [{"hostPort": 80}]},
                ]
            },
            None,
            "baseline",
            'hostPort (containers "a", "b" use hostPorts 80, 8080, 9)',
        ),
        (
            {"containers": [{"name": "a", "ports": [{"hostPort": 80}]}]},
            None,
            "baseline",
            'hostPort (container "a" uses hostPort 80)',
        ),
        (
            {
                "containers": [
                    {"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN", "CAP_CHOWN", "CHOWN"]}}}
                ]
            },
            None,
            "baseline",
            'non-default capabilities (container "a" must not include "CAP_CHOWN", "SYS_ADMIN" in securityContext.capabilities.add)',
        ),
        (
            {
                "volumes": [{"name": "v1", "hostPath": {"path": "/"}}, {"name": "v2", "hostPath": {"path": "/etc"}}],
                "containers": [],
            },
            None,
            "baseline",
            'hostPath volumes (volumes "v1", "v2")',
        ),
        (
            {
                "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
                "containers": [{"name": "a", "securityContext": {"appArmorProfile": {"type": "Bogus"}}}],
            },
            {"container.apparmor.security.beta.kubernetes.io/a": "unconfined"},
            "baseline",
            'forbidden AppArmor profiles (pod and container "a" and annotation must not set AppArmor profile type to '
            '"Bogus", "Unconfined", "container.apparmor.security.beta.kubernetes.io/a="unconfined"")',
        ),
        (
            {
                "securityContext": {"seLinuxOptions": {"type": "spc_t", "role": "r"}},
                "containers": [{"name": "a", "securityContext": {"seLinuxOptions": {"user": "u"}}}],
            },
            None,
            "baseline",
            'seLinuxOptions (pod and container "a" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)',
        ),
        (
            {"containers": [{"name": "b", "securityContext": {"procMount": "Unmasked"}}]},
            None,
            "baseline",
            'procMount (container "b" must not set securityContext.procMount to "Unmasked")',
        ),
        (
            {
                "securityContext": {
                    "sysctls": [{"name": "kernel.msgmax"}, {"name": "net.ipv4.tcp_syncookies"}, {"name": "a.b"}]
                },
                "containers": [],
            },
            None,
            "baseline",
            "forbidden sysctls (kernel.msgmax, a.b)",
        ),
        (
            {
                "securityContext": {"windowsOptions": {"hostProcess": True}},
                "containers": [{"name": "w", "securityContext": {"windowsOptions": {"hostProcess": True}}}],
            },
            None,
            "baseline",
            'hostProcess (pod and container "w" must not set securityContext.windowsOptions.hostProcess=true)',
        ),
        (
            {
                "containers": [
                    {
                        "name": "a",
                        "livenessProbe": {"httpGet": {"host": "b.example"}},
                        "lifecycle": {"preStop": {"tcpSocket": {"host": "a.example"}}},
                    }
                ]
            },
            None,
            "baseline",
            'probe or lifecycle host (container "a" uses probe or lifecycle hosts "a.example", "b.example")',
        ),
        (
            {"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "a"}]},
            None,
            "baseline",
            'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
        ),
    ],
)
def test_baseline_details(spec: dict[str, Any], annotations: dict[str, str] | None, level: str, expected: str) -> None:
    assert detail(pod(spec, annotations), level) == expected


def test_restricted_details() -> None:
    spec = restricted_pod(
        volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}, {"name": "g", "gitRepo": {"repository": "r"}}],
    )
    spec["containers"] = [
        {
            **GOOD_CONTAINER,
            "name": "a",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsUser": 0,
                "runAsNonRoot": False,
                "capabilities": {"drop": ["all"], "add": ["NET_RAW", "NET_BIND_SERVICE"]},
            },
        }
    ]
    spec["securityContext"] = {"runAsUser": 0, "seccompProfile": {"type": "Unconfined"}}
    assert detail(pod(spec)) == (
        'unrestricted capabilities (container "a" must set securityContext.capabilities.drop=["ALL"]; '
        'container "a" must not include "NET_RAW" in securityContext.capabilities.add), '
        'restricted volume types (volumes "n", "g" use restricted volume types "gitRepo", "nfs"), '
        'runAsNonRoot != true (container "a" must not set securityContext.runAsNonRoot=false), '
        'runAsUser=0 (pod and container "a" must not set runAsUser=0), '
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'
    )


def test_seccomp_annotations_until_v1_18_fields_from_v1_19() -> None:
    obj = pod(
        {"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "a"}]},
        {
            "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/a": 'x"y',
        },
    )
    assert detail(obj, "baseline", "v1.18") == (
        'seccompProfile (forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="x\\"y", '
        'seccomp.security.alpha.kubernetes.io/pod="unconfined")'
    )
    assert (
        detail(obj, "baseline", "v1.19")
        == 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'
    )


def test_go_quote() -> None:
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'


def test_results_carry_field_paths_and_registry_ids() -> None:
    deployment = builders.deployment(
        {"containers": [{"name": "app", "securityContext": {"privileged": True}}]},
        name="web",
        namespace="shop",
        selector=False,
        source="deploy/web.yaml",
        line=14,
    )
    [privileged] = list(evaluate_pod_security(deployment, "baseline").violations)
    assert privileged.control == "privileged"
    assert privileged.check_id == "pss-privileged" and privileged.check.pss is not None
    assert privileged.paths == ("spec.template.spec.containers[0].securityContext.privileged",)
    assert privileged.containers == ("app",)


# --- versions --------------------------------------------------------------------------------------


def test_latest_and_future_versions_clamp_to_the_newest_defined() -> None:
    assert max_version() == v(1, 37)
    obj = pod(restricted_pod())
    assert evaluate_pod_security(obj, "restricted", "latest").evaluated_version == v(1, 37)
    assert evaluate_pod_security(obj, "restricted", "v1.99").evaluated_version == v(1, 37)
    assert evaluate_pod_security(obj, "restricted", "v1.20").evaluated_version == v(1, 20)
    # v1.37 allows tcp_notsent_lowat; v1.36 does not.
    sysctl = pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat"}]}, "containers": []})
    assert evaluate_pod_security(sysctl, "baseline", "v1.99").allowed
    assert not evaluate_pod_security(sysctl, "baseline", "v1.36").allowed


def test_controls_start_at_their_version() -> None:
    obj = pod({"securityContext": {"runAsNonRoot": True, "runAsUser": 0}, "containers": [{"name": "a"}]})
    assert [r.control for r in evaluate_pod_security(obj, "restricted", "v1.7").violations] == []
    assert [r.control for r in evaluate_pod_security(obj, "restricted", "v1.8").violations] == [
        "allowPrivilegeEscalation"
    ]
    assert "runAsUser" in [r.control for r in evaluate_pod_security(obj, "restricted", "v1.23").violations]
    assert "runAsUser" not in [r.control for r in evaluate_pod_security(obj, "restricted", "v1.22").violations]


def test_restricted_replaces_its_baseline_counterparts_per_version() -> None:
    def ids(version: str) -> list[str]:
        return [r.control for r in evaluate_pod_security(pod({"containers": []}), "restricted", version).results]

    assert "capabilities_baseline" in ids("v1.21") and "capabilities_restricted" not in ids("v1.21")
    assert "capabilities_baseline" not in ids("v1.22") and "capabilities_restricted" in ids("v1.22")
    assert "seccompProfile_baseline" in ids("v1.18") and "seccompProfile_baseline" not in ids("v1.19")
    assert (
        "procMount" in ids("v1.34")
        and ids("latest")[-5:]
        == ["procMount_restricted", "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted"][-5:]
    )
    assert "hostPathVolumes" not in ids("v1.0")
    assert (
        evaluate_pod_security(
            pod({"containers": [{"name": "a", "securityContext": {"privileged": True}}]}), "privileged"
        ).results
        == ()
    )


@pytest.mark.parametrize("text", ["v1", "1.20", "v1.05", "v2.0", "Latest", ""])
def test_invalid_versions_and_levels_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match='must be "latest" or "v1.x"'):
        parse_version(text)
    with pytest.raises(ValueError, match="must be one of privileged, baseline, restricted"):
        parse_level(text)
    assert parse_version("v1.0") == Version(False, 1, 0)


# --- relaxations -----------------------------------------------------------------------------------


def test_windows_pods_are_exempt_from_three_restricted_controls_from_v1_25() -> None:
    obj = pod({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True}, "containers": [{"name": "w"}]})
    assert evaluate_pod_security(obj, "restricted", "v1.25").allowed
    assert [r.control for r in evaluate_pod_security(obj, "restricted", "v1.24").violations] == [
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "seccompProfile_restricted",
    ]
    # runAsNonRoot still applies to Windows pods.
    bare = pod({"os": {"name": "windows"}, "containers": [{"name": "w"}]})
    assert [r.control for r in evaluate_pod_security(bare, "restricted").violations] == ["runAsNonRoot"]


def test_user_namespaces_relax_run_as_non_root_run_as_user_and_baseline_proc_mount_from_v1_35() -> None:
    spec = restricted_pod(hostUsers=False)
    spec["securityContext"] = {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}}
    spec["containers"] = [
        {**GOOD_CONTAINER, "securityContext": {**GOOD_CONTAINER["securityContext"], "procMount": "Unmasked"}}
    ]
    obj = pod(spec)
    assert evaluate_pod_security(obj, "baseline", "v1.35").allowed
    assert not evaluate_pod_security(obj, "baseline", "v1.34").allowed
    assert [r.control for r in evaluate_pod_security(obj, "restricted", "latest").violations] == [
        "procMount_restricted"
    ]
    assert [r.control for r in evaluate_pod_security(obj, "restricted", "v1.34").violations] == [
        "procMount",
        "runAsNonRoot",
        "runAsUser",
    ]


# --- what the code does that the PSS page does not say ----------------------------------------------


def test_code_beyond_the_docs() -> None:
    # The restricted volume list on the PSS page omits `image`; the code allows it.
    assert evaluate_pod_security(
        pod(restricted_pod(volumes=[{"name": "i", "image": {"reference": "x"}}])), "restricted", "v1.0"
    ).allowed
    # A volume without a source is an emptyDir (the API server defaults it before admission).
    assert evaluate_pod_security(pod(restricted_pod(volumes=[{"name": "e"}])), "restricted").allowed
    # Ephemeral containers are checked although the doc comments list only containers/initContainers.
    spec = restricted_pod(ephemeralContainers=[{"name": "debug", "securityContext": {"privileged": True}}])
    assert (
        detail(pod(spec), "baseline") == 'privileged (container "debug" must not set securityContext.privileged=true)'
    )
    # AppArmor fields are checked at every version (added to the v1.0 check), not only from v1.30.
    apparmor = pod({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": []})
    assert not evaluate_pod_security(apparmor, "baseline", "v1.0").allowed
    # Exact, case-sensitive capability names.
    lower = pod({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["chown"]}}}]})
    assert not evaluate_pod_security(lower, "baseline").allowed


def test_non_workloads_and_unreadable_pod_specs_are_errors() -> None:
    with pytest.raises(ValueError, match="has no pod spec"):
        evaluate_pod_security({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    with pytest.raises(ValueError, match="no readable pod spec"):
        evaluate_pod_security({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": "x"})


# --- namespaces ------------------------------------------------------------------------------------


namespace = partial(builders.namespace, source="ns.yaml")


P = "pod-security.kubernetes.io/"


def test_namespace_labels_as_the_admission_reads_them() -> None:
    policy = namespace_policy(
        namespace("a", {P + "enforce": "baseline", P + "enforce-version": "v1.29", P + "audit": "restricted"})
    )
    assert (str(policy.enforce), str(policy.audit), str(policy.warn)) == (
        "baseline:v1.29",
        "restricted:latest",
        "baseline:v1.29",
    )
    assert policy.errors == ()
    # Unlabelled: the admission defaults, privileged:latest everywhere.
    assert str(namespace_policy(namespace("b", {})).enforce) == "privileged:latest"
    # An explicit warn label is not overridden by enforce.
    policy = namespace_policy(namespace("c", {P + "enforce": "restricted", P + "warn": "baseline"}))
    assert str(policy.warn) == "baseline:latest"


def test_invalid_labels_fall_back_like_upstream() -> None:
    policy = namespace_policy(
        namespace(
            "d",
            {
                P + "enforce": "Restricted",
                P + "enforce-version": "1.25",
                P + "audit": "bogus",
                P + "warn": "",
                P + "warn-version": "v1.x",
            },
        )
    )
    assert str(policy.enforce) == "restricted:latest"  # fail closed
    assert str(policy.audit) == "privileged:latest"  # fail open
    assert str(policy.warn) == "privileged:latest"
    assert policy.errors[0] == (
        'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "Restricted": must be one of privileged, baseline, restricted'
    )
    assert len(policy.errors) == 5
    # An invalid enforce level does not pull warn up with it.
    assert str(namespace_policy(namespace("e", {P + "enforce": "x"})).warn) == "privileged:latest"


def test_assert_namespace_pod_security() -> None:
    assert_namespace_pod_security(namespace("a", {P + "enforce": "restricted"}))
    assert_namespace_pod_security(namespace("a", {P + "enforce": "restricted"}), level="baseline")
    with pytest.raises(SecurityAssertionError) as info:
        assert_namespace_pod_security(
            [
                namespace("a", {P + "enforce": "baseline"}),
                namespace("b", {}),
                namespace("c", {P + "enforce": "Restricted"}),
            ]
        )
    text = str(info.value)
    assert text.splitlines()[0] == "namespace pod-security enforce>=restricted: 3 violations in 3 objects"
    assert 'namespace "a" enforces PodSecurity "baseline:latest"; want at least "restricted"' in text
    assert 'namespace "b" sets no pod-security.kubernetes.io/enforce label, so enforce is privileged:latest' in text
    assert 'Invalid value: "Restricted"' in text
    with pytest.raises(SecurityAssertionError, match="warn"):
        assert_namespace_pod_security(
            namespace("a", {P + "enforce": "restricted", P + "warn": "baseline"}), mode="warn"
        )
    with pytest.raises(ValueError, match="mode"):
        assert_namespace_pod_security(namespace("a", {}), mode="deny")


def test_assert_pod_security_message() -> None:
    obj = builders.deployment(
        restricted_pod(containers=[{"name": "app"}]),
        name="web",
        namespace="shop",
        selector=False,
        source="deploy/web.yaml",
        line=14,
    )
    with pytest.raises(SecurityAssertionError) as info:
        assert_pod_security(obj, level="restricted")
    lines = str(info.value).splitlines()
    assert lines[0] == "pod-security restricted:latest: 2 violations in Deployment shop/web (deploy/web.yaml:14)"
    assert lines[1] == (
        "  [pss-allow-privilege-escalation] - spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation: "
        'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)'
    )
    assert len(info.value.findings) == 2
    assert_pod_security(obj, level="baseline", version="v1.0")
    with pytest.raises(SecurityAssertionError, match="no workload"):
        assert_pod_security([namespace("a", {})])
    with pytest.raises(ValueError):
        assert_pod_security(obj, level="strict")


def test_assert_pod_security_fails_closed_on_malformed_pods() -> None:
    bad = pod({"containers": "not-a-list"})
    with pytest.raises(SecurityAssertionError, match="malformed-object"):
        assert_pod_security(bad, level="privileged")


def test_assert_namespace_compliant_uses_each_namespaces_enforce_level() -> None:
    strict = namespace("strict", {P + "enforce": "restricted"})
    loose = namespace("loose", {P + "enforce": "baseline", P + "enforce-version": "v1.30"})
    plain = pod({"containers": [{"name": "a"}]}, namespace="loose")
    inventory = Inventory([strict, loose, plain, pod(restricted_pod(), namespace="strict")])
    assert_namespace_compliant(inventory)
    inventory = Inventory([strict, loose, pod({"containers": [{"name": "a"}]}, namespace="strict")])
    with pytest.raises(SecurityAssertionError) as info:
        assert_namespace_compliant(inventory, namespace="strict")
    assert (
        str(info.value).splitlines()[0]
        == "pod-security restricted:latest (namespace strict enforce): 4 violations in Pod strict/p (p.yaml:3)"
    )
    with pytest.raises(SecurityAssertionError, match="no Namespace object for 'other'"):
        assert_namespace_compliant([strict, pod({"containers": []}, namespace="other")])
    with pytest.raises(SecurityAssertionError, match="no workload"):
        assert_namespace_compliant([strict])


# --- one control, read by the checks that build on it ---------------------------------------------


def test_outcome_runs_the_newest_implementation_or_the_one_in_force_at_a_version() -> None:
    from pytest_k8ssec.checks.pss import check_run_as_user
    from pytest_k8ssec.checks.pss._registry import outcome

    root_in_user_namespace = pod(
        {"hostUsers": False, "containers": [{"name": "a", "securityContext": {"runAsUser": 0}}]}
    )
    # v1.35 relaxes runAsUser for pods in a user namespace; v1.23 does not; before v1.23 there was no control.
    assert outcome(check_run_as_user.CONTROL, root_in_user_namespace).allowed
    at_1_23 = outcome(check_run_as_user.CONTROL, root_in_user_namespace, v(1, 23))
    assert not at_1_23.allowed and at_1_23.paths == ("spec.containers[0].securityContext.runAsUser",)
    assert outcome(check_run_as_user.CONTROL, root_in_user_namespace, v(1, 22)).allowed
    no_pod_spec = K8sObject({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, Provenance("c.yaml"))
    assert outcome(check_run_as_user.CONTROL, no_pod_spec).allowed
