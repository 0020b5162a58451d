"""Component command lines read as the components read them, and the CIS rules over them."""

from __future__ import annotations

import pytest

from pytest_k8ssec.checks._components import RULES, Settings, controls_of, judge
from pytest_k8ssec.model.components import (
    APISERVER,
    CONTROLLER_MANAGER,
    ETCD,
    KUBELET,
    SCHEDULER,
    component_of,
    parse,
)
from pytest_k8ssec.suites import cis_nodes


def settings(*argv: str, env: dict[str, str] | None = None, config: dict[str, object] | None = None) -> Settings:
    command = parse(list(argv), env)
    assert command is not None
    return Settings(command.component, command, config, "config.yaml" if config is not None else "")


def controls(found: Settings, only: list[str] | None = None) -> list[str | None]:
    return [finding.control for finding in judge(found, only)]


# --- parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["kube-apiserver"], (APISERVER, 1)),
        (["/usr/local/bin/kube-apiserver", "--v=2"], (APISERVER, 1)),
        (["hyperkube", "kube-scheduler"], (SCHEDULER, 2)),
        (["/cache/k8s-controlplane", "kube-controller-manager", "--profiling=false"], (CONTROLLER_MANAGER, 2)),
        (["etcd"], (ETCD, 1)),
        (["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"], (KUBELET, 1)),
        (["kube-apiserver-proxy"], None),
        (["sh", "-c", "kube-apiserver --profiling=true"], None),
        ([], None),
    ],
)
def test_the_component_is_the_program_or_the_multicall_argument(argv: list[str], expected: object) -> None:
    assert component_of(argv) == expected


def test_pflag_forms_values_booleans_and_the_last_repeat() -> None:
    found = parse(
        [
            "kube-apiserver",
            "--audit-log-path",
            "-",  # a non-boolean takes the next argument, even one starting with a dash
            "--anonymous_auth",  # component-base's WordSepNormalizeFunc: _ is -
            "false",  # a bare boolean is true; "false" is a positional argument
            "--profiling=false",
            "--profiling=true",
            "-v=2",
            "--",
            "--token-auth-file=/after/the/terminator",
        ]
    )
    assert found is not None
    assert found.get("audit-log-path") is not None and found.get("audit-log-path").value == "-"  # type: ignore[union-attr]
    anonymous = found.get("anonymous-auth")
    assert anonymous is not None and (anonymous.value, anonymous.index) == ("true", 3)
    profiling = found.get("profiling")
    assert profiling is not None and (profiling.value, profiling.index) == ("true", 6)
    assert found.get("token-auth-file") is None
    assert found.get("v") is None


def test_list_flags_append_across_repeats_and_feature_gates_merge() -> None:
    found = parse(
        [
            "kube-apiserver",
            "--authorization-mode=Node",
            "--authorization-mode",
            "RBAC, Webhook",
            "--feature-gates=A=true,B=true",
            "--feature-gates=B=false",
        ]
    )
    assert found is not None
    assert found.lists["authorization-mode"] == ("Node", "RBAC", "Webhook")
    assert dict(found.feature_gates) == {"A": True, "B": False}


def test_etcd_reads_go_flags_and_its_environment() -> None:
    found = parse(
        ["etcd", "-client-cert-auth", "-cert-file", "/pki/server.crt", "--auto_tls=true", "serve", "--peer-auto-tls"],
        {"ETCD_CLIENT_CERT_AUTH": "false", "ETCD_KEY_FILE": "/pki/server.key", "HOME": "/root"},
    )
    assert found is not None
    assert found.get("client-cert-auth").value == "true"  # type: ignore[union-attr]  # a flag wins over ETCD_*
    assert found.get("cert-file").value == "/pki/server.crt"  # type: ignore[union-attr]
    assert found.get("key-file").origin == "ETCD_KEY_FILE"  # type: ignore[union-attr]
    # Go's flag package does not normalize names, and stops at the first non-flag argument.
    assert found.get("auto-tls") is None and found.get("auto_tls") is not None
    assert found.get("peer-auto-tls") is None


# --- rules ------------------------------------------------------------------------------------------------


def test_an_api_server_without_flags_runs_with_its_insecure_defaults() -> None:
    found = controls(settings("kube-apiserver"))
    # anonymous auth, AlwaysAllow (so neither Node nor RBAC), NodeRestriction off, profiling on,
    # no audit log, no TLS files: the defaults, not the absence of a flag, decide.
    for item in ("1.2.1", "1.2.6", "1.2.7", "1.2.8", "1.2.14", "1.2.15", "1.2.16", "1.2.24", "1.2.30"):
        assert f"CIS-{item}" in found
    # On by default: ServiceAccount, NamespaceLifecycle, service account lookup; off: AlwaysAdmit.
    for item in ("1.2.10", "1.2.12", "1.2.13", "1.2.21", "1.2.2"):
        assert f"CIS-{item}" not in found


def test_admission_plugins_follow_enable_disable_and_the_legacy_flag() -> None:
    disabled = settings("kube-apiserver", "--disable-admission-plugins=NamespaceLifecycle")
    assert controls(disabled, ["CIS-1.2.13"]) == ["CIS-1.2.13"]
    legacy = settings("kube-apiserver", "--admission-control=NodeRestriction,AlwaysAdmit")
    # The legacy flag is the whole list: the default-on plugins it leaves out are off.
    assert controls(legacy, ["CIS-1.2.10", "CIS-1.2.12", "CIS-1.2.13", "CIS-1.2.14"]) == [
        "CIS-1.2.10",
        "CIS-1.2.12",
        "CIS-1.2.13",
    ]


def test_structured_authorization_and_authentication_files_replace_the_flags() -> None:
    found = settings(
        "kube-apiserver", "--authorization-config=/etc/authz.yaml", "--authentication-config=/etc/authn.yaml"
    )
    assert controls(found, ["CIS-1.2.1", "CIS-1.2.6", "CIS-1.2.7", "CIS-1.2.8"]) == []


def test_audit_rotation_is_not_asked_of_a_log_on_stdout() -> None:
    assert controls(settings("kube-apiserver", "--audit-log-path=-"), ["CIS-1.2.16", "CIS-1.2.17"]) == []
    assert controls(
        settings("kube-apiserver", "--audit-log-path=/var/log/audit.log", "--audit-log-maxage=7"), ["CIS-1.2.17"]
    ) == ["CIS-1.2.17"]


def test_bind_addresses_must_be_loopback() -> None:
    assert controls(settings("kube-scheduler", "--bind-address=127.0.0.1"), ["CIS-1.4.2"]) == []
    assert controls(settings("kube-scheduler", "--bind-address=::1"), ["CIS-1.4.2"]) == []
    assert controls(settings("kube-scheduler"), ["CIS-1.4.2"]) == ["CIS-1.4.2"]  # default 0.0.0.0
    assert controls(settings("kube-controller-manager", "--bind-address=localhost"), ["CIS-1.3.7"]) == ["CIS-1.3.7"]


def test_a_kubelet_without_a_config_file_has_the_legacy_flag_defaults() -> None:
    found = controls(settings("kubelet"))
    # applyLegacyDefaults (cmd/kubelet/app/options): anonymous auth on, AlwaysAllow, read-only port 10255.
    assert {"CIS-4.2.1", "CIS-4.2.2", "CIS-4.2.4"} <= set(found)


def test_a_kubelet_config_file_has_the_v1beta1_defaults_and_flags_override_it() -> None:
    config: dict[str, object] = {
        "authentication": {"x509": {"clientCAFile": "/pki/ca.crt"}},
        "rotateCertificates": True,
    }
    assert controls(settings("kubelet", "--config=/var/lib/kubelet/config.yaml", config=config)) == [
        None
    ]  # protectKernelDefaults
    overridden = settings("kubelet", "--anonymous-auth=true", "--read-only-port", "10255", config=config)
    findings = judge(overridden, ["CIS-4.2.1", "CIS-4.2.4"])
    assert [(f.control, f.value) for f in findings] == [("CIS-4.2.1", "true"), ("CIS-4.2.4", "10255")]
    assert "set by --anonymous-auth=true" in findings[0].message


def test_a_zero_streaming_timeout_in_any_spelling_is_found() -> None:
    for spelling in ("0", "0s", "0m0s", "0h0m0s"):
        assert controls(settings("kubelet", f"--streaming-connection-idle-timeout={spelling}"), ["CIS-4.2.5"]) == [
            "CIS-4.2.5"
        ]
    assert controls(settings("kubelet", "--streaming-connection-idle-timeout=5m"), ["CIS-4.2.5"]) == []


def test_settings_the_rules_cannot_read_fail_closed() -> None:
    assert None in controls(settings("etcd", "--config-file=/etc/etcd.yaml"))
    assert None in controls(settings("kube-scheduler", "--config=/etc/scheduler.yaml", "--profiling=false"))
    drop_ins = judge(settings("kubelet", "--config-dir=/etc/kubelet.conf.d"))
    assert any(f.flag == "config-dir" and f.control is None for f in drop_ins)
    unreadable = Settings(KUBELET, parse(["kubelet"]), problems=("cannot read /var/lib/kubelet/config.yaml",))
    assert any("cannot read" in f.message for f in judge(unreadable))


def test_every_finding_names_the_flag_its_value_and_a_fix() -> None:
    for component in RULES:
        for finding in judge(settings(component)):
            assert finding.flag and finding.fix.endswith(".")
            assert finding.item.startswith("CIS ") or finding.item == "no CIS item"


def test_the_suite_asks_every_item_the_rules_implement() -> None:
    for component, items in cis_nodes.COMPONENTS.items():
        assert items == controls_of(component), component
