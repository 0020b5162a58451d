"""The CIS Kubernetes Benchmark v1.12 sections 1.2-1.4, 2 and 4.2 as rules over component settings.

One rule per recommendation the settings alone can decide (kube-bench's ``cfg/cis-1.12``
numbering), each judging the *effective* value: the flag when set, else the component's own
default (read from upstream, not from the benchmark's prose: kube-apiserver's ``--anonymous-auth``
and ``--profiling`` default to true, its ``--authorization-mode`` to ``AlwaysAllow``; the kubelet
without a config file defaults to anonymous auth, ``AlwaysAllow`` and read-only port 10255, with
one to the ``KubeletConfiguration`` v1beta1 defaults: off, ``Webhook``, 0). Where a benchmark tool
passes an unset flag whose default is the insecure value (kube-bench's 1.3.7, 1.4.2 and 4.2.10), the
default is what runs, so this reports it.

A few rules claim no CIS item and say why: ``--protect-kernel-defaults`` (4.2.6 up to v1.9,
dropped since), ``--tls-min-version`` below TLS 1.2 (TLS 1.0 and 1.1 are deprecated, RFC 8996).

Pure: the input is a ``Settings`` (parsed flags, and for the kubelet its config file's fields).
The registry checks ``*-flag-insecure`` run these rules on static-pod containers and
KubeletConfiguration files; ``assert_component_flags`` runs them on a host's processes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.model.components import (
    APISERVER,
    CONTROLLER_MANAGER,
    ETCD,
    KUBELET,
    SCHEDULER,
    CommandLine,
    Flag,
    parse,
    truthy,
)
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list


@dataclass(frozen=True, slots=True)
class Setting:
    """An effective value: ``value`` as text, and where it came from (``None``: the default)."""

    value: str
    source: Flag | None = None
    #: The kubelet config file field that set it (``authentication.anonymous.enabled``), if any.
    config_path: str | None = None


@dataclass(frozen=True)
class Settings:
    """What a component runs with: its command line and, for the kubelet, its config file."""

    component: str
    command: CommandLine | None = None
    #: The KubeletConfiguration's fields (None: no ``--config``, so the kubelet's flag defaults).
    config: Mapping[str, Any] | None = None
    #: Where the config file was read from, for messages.
    config_name: str = ""
    #: Problems reading the inputs (a config file that could not be read): each fails closed.
    problems: tuple[str, ...] = field(default=())

    def get(self, flag: str) -> Setting | None:
        """The flag's setting when the command line or (kubelet) the config file sets it."""
        if self.command is not None:
            found = self.command.get(flag)
            if found is not None:
                return Setting(found.value, found)
        if self.config is not None and flag in KUBELET_CONFIG_FIELDS:
            path = KUBELET_CONFIG_FIELDS[flag]
            value = _dig(self.config, path)
            if value is not None:
                return Setting(_text(value), None, path)
        return None

    def list(self, flag: str) -> list[str] | None:
        """A list flag's values (every repeat), or None when unset."""
        if self.command is not None and flag in self.command.lists:
            return list(self.command.lists[flag])
        if self.config is not None and flag in KUBELET_CONFIG_FIELDS:
            value = _dig(self.config, KUBELET_CONFIG_FIELDS[flag])
            if isinstance(value, list):
                return [str(v) for v in value]
        return None


#: Kubelet flag -> the KubeletConfiguration field it overrides (flags win over the file).
KUBELET_CONFIG_FIELDS: Final[Mapping[str, str]] = {
    "anonymous-auth": "authentication.anonymous.enabled",
    "authorization-mode": "authorization.mode",
    "client-ca-file": "authentication.x509.clientCAFile",
    "read-only-port": "readOnlyPort",
    "streaming-connection-idle-timeout": "streamingConnectionIdleTimeout",
    "make-iptables-util-chains": "makeIPTablesUtilChains",
    "protect-kernel-defaults": "protectKernelDefaults",
    "rotate-certificates": "rotateCertificates",
    "tls-cert-file": "tlsCertFile",
    "tls-private-key-file": "tlsPrivateKeyFile",
    "tls-cipher-suites": "tlsCipherSuites",
    "tls-min-version": "tlsMinVersion",
}


def _dig(config: Mapping[str, Any], path: str) -> Any:
    current: Any = config
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class FlagFinding:
    """One recommendation a component's settings miss: the flag, its effective value, the control, the fix."""

    control: str | None
    flag: str
    value: str
    message: str
    fix: str
    #: The setting that decided (None: the flag is unset and its default decided).
    setting: Setting | None = None

    @property
    def item(self) -> str:
        """``CIS 1.2.1`` (or ``no CIS item``) for messages."""
        return self.control.replace("CIS-", "CIS ") if self.control else "no CIS item"


Rule = Callable[[Settings], Iterable[FlagFinding]]


@dataclass(frozen=True)
class ComponentRule:
    """A rule, the control it implements and the flags it reads (the docs and the suite list them)."""

    control: str | None
    flags: tuple[str, ...]
    judge: Rule


def _where(setting: Setting | None, default: str, settings: Settings) -> str:
    if setting is None:
        return f"unset, {settings.component}'s default" if default else "unset"
    if setting.source is not None:
        return (
            f"set by {setting.source.origin}" if setting.source.index is not None else f"from {setting.source.origin}"
        )
    where = f" in {settings.config_name}" if settings.config_name else ""
    return f"set by {setting.config_path}{where}"


def _finding(
    control: str | None,
    flag: str,
    value: str,
    setting: Setting | None,
    default: str,
    settings: Settings,
    why: str,
    fix: str,
) -> FlagFinding:
    if setting is None and not default:
        return FlagFinding(control, flag, value, f"--{flag} is unset: {why}", fix, setting)
    shown = value if value != "" else '""'
    return FlagFinding(
        control, flag, value, f"--{flag} is {shown} ({_where(setting, default, settings)}): {why}", fix, setting
    )


def boolean(control: str | None, flag: str, *, want: bool, default: bool, why: str) -> ComponentRule:
    """The flag's effective boolean must be ``want``."""

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        setting = settings.get(flag)
        value = default if setting is None else truthy(setting.value)
        if value is want:
            return
        shown = _text(default) if setting is None else setting.value
        fix = f"set --{flag}={_text(want)}" + _config_fix(settings, flag, want) + "."
        yield _finding(control, flag, shown, setting, _text(default), settings, why, fix)

    return ComponentRule(control, (flag,), judge)


def _config_fix(settings: Settings, flag: str, value: object) -> str:
    if settings.component == KUBELET and flag in KUBELET_CONFIG_FIELDS:
        return f" (or {KUBELET_CONFIG_FIELDS[flag]}: {_text(value)} in the kubelet config file, with no flag overriding it)"
    return ""


def required(control: str | None, *flags: str, why: str) -> ComponentRule:
    """Each flag must be set to a non-empty value."""

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        for flag in flags:
            setting = settings.get(flag)
            if setting is None or not setting.value.strip():
                fix = f"set --{flag} to the right file{_config_fix(settings, flag, '<file>')}."
                yield _finding(control, flag, "" if setting is None else setting.value, setting, "", settings, why, fix)

    return ComponentRule(control, flags, judge)


def forbidden(control: str | None, flag: str, *, why: str) -> ComponentRule:
    """The flag must not be set (to a non-empty value)."""

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        setting = settings.get(flag)
        if setting is not None and setting.value.strip():
            yield _finding(control, flag, setting.value, setting, "", settings, why, f"remove --{flag}.")

    return ComponentRule(control, (flag,), judge)


def at_least(control: str | None, flag: str, minimum: int, *, default: int, why: str) -> ComponentRule:
    """The flag's integer must be at least ``minimum``."""

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        setting = settings.get(flag)
        text = str(default) if setting is None else setting.value
        try:
            ok = int(text) >= minimum
        except ValueError:
            ok = False
        if not ok:
            yield _finding(
                control, flag, text, setting, str(default), settings, why, f"set --{flag}={minimum} or more."
            )

    return ComponentRule(control, (flag,), judge)


def loopback(control: str | None, flag: str, *, default: str, why: str) -> ComponentRule:
    """The flag must be a loopback address (the component then serves only on the machine itself)."""

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        setting = settings.get(flag)
        text = default if setting is None else setting.value
        try:
            ok = ipaddress.ip_address(text.strip()).is_loopback
        except ValueError:
            ok = False
        if not ok:
            yield _finding(control, flag, text, setting, default, settings, why, f"set --{flag}=127.0.0.1.")

    return ComponentRule(control, (flag,), judge)


# --- kube-apiserver ---------------------------------------------------------------------------------

#: Admission plugins kube-apiserver enables when neither flag names them (v1.35's default-on set
#: for the plugins a rule reads; NodeRestriction, AlwaysAdmit, AlwaysPullImages, EventRateLimit and
#: DenyServiceExternalIPs are off by default).
DEFAULT_ON_ADMISSION: Final = frozenset({"NamespaceLifecycle", "ServiceAccount", "LimitRanger", "PodSecurity"})


def enabled_admission_plugins(settings: Settings) -> tuple[set[str], str]:
    """The plugins kube-apiserver runs, and how the set was decided (for messages).

    The deprecated ``--admission-control`` is the whole list when set (the server refuses it
    together with ``--enable-admission-plugins``); otherwise default-on plugins plus
    ``--enable-admission-plugins`` minus ``--disable-admission-plugins``.
    """
    legacy = settings.list("admission-control")
    if legacy is not None:
        return set(legacy), f"--admission-control={','.join(legacy)}"
    enabled = set(DEFAULT_ON_ADMISSION) | set(settings.list("enable-admission-plugins") or ())
    disabled = set(settings.list("disable-admission-plugins") or ())
    how = []
    if settings.list("enable-admission-plugins"):
        how.append(f"--enable-admission-plugins={','.join(settings.list('enable-admission-plugins') or ())}")
    if disabled:
        how.append(f"--disable-admission-plugins={','.join(sorted(disabled))}")
    return enabled - disabled, " ".join(how) or "the default plugins"


def admission(control: str, plugin: str, *, on: bool, why: str) -> ComponentRule:
    def judge(settings: Settings) -> Iterable[FlagFinding]:
        enabled, how = enabled_admission_plugins(settings)
        if (plugin in enabled) is on:
            return
        state = "not enabled" if on else "enabled"
        fix = (
            f"add {plugin} to --enable-admission-plugins (and remove it from --disable-admission-plugins)."
            if on
            else f"remove {plugin} from --enable-admission-plugins."
        )
        # Located at the flag that decides: the legacy list, the disabling flag, or the enabling one.
        if settings.list("admission-control") is not None:
            flag = "admission-control"
        elif plugin in (settings.list("disable-admission-plugins") or ()):
            flag = "disable-admission-plugins"
        else:
            flag = "enable-admission-plugins"
        yield FlagFinding(control, flag, how, f"admission plugin {plugin} is {state} ({how}): {why}", fix)

    return ComponentRule(control, ("enable-admission-plugins", "disable-admission-plugins", "admission-control"), judge)


def _authorization_modes(settings: Settings, default: str) -> tuple[list[str], Setting | None]:
    setting = settings.get("authorization-mode")
    if settings.component == KUBELET:
        return ([setting.value] if setting is not None else [default]), setting
    modes = settings.list("authorization-mode")
    return (modes if modes is not None else [default]), setting


def authorization(
    control: str, *, includes: str | None = None, excludes: str | None = None, default: str
) -> ComponentRule:
    def judge(settings: Settings) -> Iterable[FlagFinding]:
        if settings.component == APISERVER and settings.get("authorization-config") is not None:
            # The structured file replaces the flag (the server refuses both): judge that file.
            if settings.get("authorization-mode") is None:
                return
        modes, setting = _authorization_modes(settings, default)
        shown = ",".join(modes)
        if excludes is not None and excludes in modes:
            fix = (
                "set --authorization-mode=Node,RBAC."
                if settings.component == APISERVER
                else "set --authorization-mode=Webhook" + _config_fix(settings, "authorization-mode", "Webhook") + "."
            )
            yield _finding(
                control,
                "authorization-mode",
                shown,
                setting,
                default,
                settings,
                f"{excludes} authorizes every request",
                fix,
            )
        if includes is not None and includes not in modes:
            yield _finding(
                control,
                "authorization-mode",
                shown,
                setting,
                default,
                settings,
                f"it does not include {includes}",
                f"add {includes} to --authorization-mode (e.g. --authorization-mode=Node,RBAC).",
            )

    return ComponentRule(control, ("authorization-mode",), judge)


#: CIS 1.2.29 / 4.2.12: the cipher suites kube-bench's cis-1.12 accepts.
STRONG_CIPHERS: Final = frozenset(
    {
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    }
)


def strong_ciphers(control: str) -> ComponentRule:
    def judge(settings: Settings) -> Iterable[FlagFinding]:
        suites = settings.list("tls-cipher-suites")
        fix = f"set --tls-cipher-suites to a subset of {','.join(sorted(STRONG_CIPHERS))}."
        if not suites:
            # Go's default list includes CBC-SHA suites, which the benchmark's list leaves out.
            yield FlagFinding(
                control,
                "tls-cipher-suites",
                "",
                "--tls-cipher-suites is unset: Go's default suites include CBC-mode ciphers the benchmark excludes",
                fix,
            )
            return
        weak = [suite for suite in suites if suite not in STRONG_CIPHERS]
        if weak:
            setting = settings.get("tls-cipher-suites")
            yield _finding(
                control,
                "tls-cipher-suites",
                ",".join(suites),
                setting,
                "",
                settings,
                f"weak suites {', '.join(weak)}",
                fix,
            )

    return ComponentRule(control, ("tls-cipher-suites",), judge)


_OLD_TLS: Final = frozenset({"VersionTLS10", "VersionTLS11"})


def tls_min_version() -> ComponentRule:
    def judge(settings: Settings) -> Iterable[FlagFinding]:
        setting = settings.get("tls-min-version")
        # Unset: Go's servers accept TLS 1.2 and later (since Go 1.22), which is what the fix asks.
        if setting is not None and setting.value in _OLD_TLS:
            yield _finding(
                None,
                "tls-min-version",
                setting.value,
                setting,
                "",
                settings,
                "TLS 1.0 and 1.1 are deprecated (RFC 8996)",
                "set --tls-min-version=VersionTLS12 (or VersionTLS13), or remove it.",
            )

    return ComponentRule(None, ("tls-min-version",), judge)


def _feature_gate(control: str, gate: str, *, default: bool, why: str) -> ComponentRule:
    def judge(settings: Settings) -> Iterable[FlagFinding]:
        gates = settings.command.feature_gates if settings.command is not None else {}
        if gates.get(gate, default):
            return
        setting = settings.get("feature-gates")
        yield _finding(
            control,
            "feature-gates",
            f"{gate}=false",
            setting,
            "",
            settings,
            why,
            f"remove {gate}=false from --feature-gates.",
        )

    return ComponentRule(control, ("feature-gates",), judge)


def _audit_rotation(control: str, flag: str, minimum: int, why: str) -> ComponentRule:
    inner = at_least(control, flag, minimum, default=0, why=why)

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        path = settings.get("audit-log-path")
        if path is not None and path.value == "-":
            return  # the log goes to stdout: no file to rotate
        yield from inner.judge(settings)

    return ComponentRule(control, (flag,), judge)


def _anonymous(control: str, *, default: bool) -> ComponentRule:
    inner = boolean(
        control,
        "anonymous-auth",
        want=False,
        default=default,
        why="unauthenticated requests are served as system:anonymous",
    )

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        if (
            settings.component == APISERVER
            and settings.get("authentication-config") is not None
            and settings.get("anonymous-auth") is None
        ):
            return  # the structured file holds the anonymous section (the server refuses both)
        yield from inner.judge(settings)

    return ComponentRule(control, ("anonymous-auth",), judge)


APISERVER_RULES: Final = (
    _anonymous("CIS-1.2.1", default=True),
    forbidden("CIS-1.2.2", "token-auth-file", why="static tokens never expire and cannot be revoked without a restart"),
    admission("CIS-1.2.3", "DenyServiceExternalIPs", on=True, why="any Service may claim externalIPs (CVE-2020-8554)"),
    required(
        "CIS-1.2.4",
        "kubelet-client-certificate",
        "kubelet-client-key",
        why="the API server cannot authenticate to kubelets",
    ),
    required(
        "CIS-1.2.5",
        "kubelet-certificate-authority",
        why="the API server does not verify kubelets' serving certificates",
    ),
    authorization("CIS-1.2.6", excludes="AlwaysAllow", default="AlwaysAllow"),
    authorization("CIS-1.2.7", includes="Node", default="AlwaysAllow"),
    authorization("CIS-1.2.8", includes="RBAC", default="AlwaysAllow"),
    admission("CIS-1.2.9", "EventRateLimit", on=True, why="nothing limits the rate of events the server accepts"),
    admission("CIS-1.2.10", "AlwaysAdmit", on=False, why="it admits every request, whatever the other plugins decide"),
    admission("CIS-1.2.11", "AlwaysPullImages", on=True, why="pods can use private images already pulled on the node"),
    admission("CIS-1.2.12", "ServiceAccount", on=True, why="pods get no service account handling"),
    admission("CIS-1.2.13", "NamespaceLifecycle", on=True, why="objects can be created in namespaces being deleted"),
    admission("CIS-1.2.14", "NodeRestriction", on=True, why="a kubelet may modify other nodes and their pods"),
    boolean("CIS-1.2.15", "profiling", want=False, default=True, why="/debug/pprof exposes the server's internals"),
    required("CIS-1.2.16", "audit-log-path", why="requests are not audited"),
    _audit_rotation("CIS-1.2.17", "audit-log-maxage", 30, "audit files are not kept 30 days"),
    _audit_rotation("CIS-1.2.18", "audit-log-maxbackup", 10, "fewer than 10 rotated audit files are kept"),
    _audit_rotation("CIS-1.2.19", "audit-log-maxsize", 100, "audit files rotate below 100 MB"),
    boolean(
        "CIS-1.2.21",
        "service-account-lookup",
        want=True,
        default=True,
        why="deleted service accounts' tokens stay valid",
    ),
    required("CIS-1.2.22", "service-account-key-file", why="no key verifies service account tokens"),
    required(
        "CIS-1.2.23",
        "etcd-certfile",
        "etcd-keyfile",
        why="the API server does not authenticate to etcd with a certificate",
    ),
    required("CIS-1.2.24", "tls-cert-file", "tls-private-key-file", why="the server serves a self-signed certificate"),
    required("CIS-1.2.25", "client-ca-file", why="client certificates are not verified"),
    required("CIS-1.2.26", "etcd-cafile", why="the API server does not verify etcd's certificate"),
    required("CIS-1.2.27", "encryption-provider-config", why="Secrets are stored unencrypted in etcd"),
    strong_ciphers("CIS-1.2.29"),
    boolean(
        "CIS-1.2.30",
        "service-account-extend-token-expiration",
        want=False,
        default=True,
        why="projected service account tokens are extended to a year",
    ),
    tls_min_version(),
)

CONTROLLER_MANAGER_RULES: Final = (
    boolean(
        "CIS-1.3.2",
        "profiling",
        want=False,
        default=True,
        why="/debug/pprof exposes the controller manager's internals",
    ),
    boolean(
        "CIS-1.3.3",
        "use-service-account-credentials",
        want=True,
        default=False,
        why="every controller acts with the controller manager's own, broad credentials",
    ),
    required("CIS-1.3.4", "service-account-private-key-file", why="service account tokens cannot be signed"),
    required("CIS-1.3.5", "root-ca-file", why="pods cannot verify the API server's certificate"),
    _feature_gate(
        "CIS-1.3.6", "RotateKubeletServerCertificate", default=True, why="kubelet serving certificates are not rotated"
    ),
    loopback(
        "CIS-1.3.7", "bind-address", default="0.0.0.0", why="the controller manager serves beyond the machine itself"
    ),
    tls_min_version(),
)

SCHEDULER_RULES: Final = (
    boolean("CIS-1.4.1", "profiling", want=False, default=True, why="/debug/pprof exposes the scheduler's internals"),
    loopback("CIS-1.4.2", "bind-address", default="0.0.0.0", why="the scheduler serves beyond the machine itself"),
    tls_min_version(),
)

ETCD_RULES: Final = (
    required("CIS-2.1", "cert-file", "key-file", why="clients talk to etcd without TLS"),
    boolean(
        "CIS-2.2",
        "client-cert-auth",
        want=True,
        default=False,
        why="any client reaching etcd reads and writes the whole cluster state",
    ),
    boolean("CIS-2.3", "auto-tls", want=False, default=False, why="self-signed certificates authenticate nobody"),
    required("CIS-2.4", "peer-cert-file", "peer-key-file", why="members talk to each other without TLS"),
    boolean("CIS-2.5", "peer-client-cert-auth", want=True, default=False, why="any host can join as a peer"),
    boolean(
        "CIS-2.6", "peer-auto-tls", want=False, default=False, why="self-signed peer certificates authenticate nobody"
    ),
)


def _read_only_port(control: str) -> ComponentRule:
    def judge(settings: Settings) -> Iterable[FlagFinding]:
        setting = settings.get("read-only-port")
        default = "0" if settings.config is not None else "10255"
        text = default if setting is None else setting.value
        if text.strip() != "0":
            fix = "set --read-only-port=0" + _config_fix(settings, "read-only-port", 0) + "."
            yield _finding(
                control,
                "read-only-port",
                text,
                setting,
                default,
                settings,
                "it serves pods and node stats without authentication",
                fix,
            )

    return ComponentRule(control, ("read-only-port",), judge)


_ZERO_DURATION: Final = re.compile(r"^[+-]?(0+(\.0*)?(ns|us|µs|ms|s|m|h)?)+$")


def _streaming_timeout(control: str) -> ComponentRule:
    def judge(settings: Settings) -> Iterable[FlagFinding]:
        setting = settings.get("streaming-connection-idle-timeout")
        if setting is not None and _ZERO_DURATION.match(setting.value.strip()):
            fix = (
                "set --streaming-connection-idle-timeout=5m (the default is 4h)"
                + _config_fix(settings, "streaming-connection-idle-timeout", "5m")
                + "."
            )
            yield _finding(
                control,
                "streaming-connection-idle-timeout",
                setting.value,
                setting,
                "4h0m0s",
                settings,
                "idle exec and port-forward streams never close",
                fix,
            )

    return ComponentRule(control, ("streaming-connection-idle-timeout",), judge)


def _kubelet_boolean(
    control: str | None, flag: str, *, want: bool, flag_default: bool, file_default: bool, why: str
) -> ComponentRule:
    with_file = boolean(control, flag, want=want, default=file_default, why=why)
    without = boolean(control, flag, want=want, default=flag_default, why=why)

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        yield from (with_file if settings.config is not None else without).judge(settings)

    return ComponentRule(control, (flag,), judge)


def _kubelet_authorization(control: str) -> ComponentRule:
    # The default differs with and without a config file: AlwaysAllow for flags, Webhook for the file.
    with_file = authorization(control, excludes="AlwaysAllow", default="Webhook")
    without = authorization(control, excludes="AlwaysAllow", default="AlwaysAllow")

    def judge(settings: Settings) -> Iterable[FlagFinding]:
        yield from (with_file if settings.config is not None else without).judge(settings)

    return ComponentRule(control, ("authorization-mode",), judge)


def _config_dir(settings: Settings) -> Iterable[FlagFinding]:
    setting = settings.get("config-dir")
    if setting is not None and setting.value.strip():
        # Drop-in files override the config file; they are not read here, so nothing is passed on them.
        yield _finding(
            None,
            "config-dir",
            setting.value,
            setting,
            "",
            settings,
            "drop-in configuration files are not judged here, so the kubelet's effective settings are unknown",
            "judge the merged configuration (kubectl get --raw /api/v1/nodes/<node>/proxy/configz), or merge the drop-ins into --config.",
        )


KUBELET_RULES: Final = (
    _kubelet_boolean(
        "CIS-4.2.1",
        "anonymous-auth",
        want=False,
        flag_default=True,
        file_default=False,
        why="unauthenticated requests reach the kubelet API",
    ),
    _kubelet_authorization("CIS-4.2.2"),
    required("CIS-4.2.3", "client-ca-file", why="client certificates to the kubelet are not verified"),
    _read_only_port("CIS-4.2.4"),
    _streaming_timeout("CIS-4.2.5"),
    boolean(
        "CIS-4.2.6",
        "make-iptables-util-chains",
        want=True,
        default=True,
        why="the kubelet does not manage its iptables chains",
    ),
    boolean(
        "CIS-4.2.10",
        "rotate-certificates",
        want=True,
        default=False,
        why="the kubelet's client certificate is not renewed before it expires",
    ),
    boolean(
        None,
        "protect-kernel-defaults",
        want=True,
        default=False,
        why="the kubelet changes kernel settings instead of refusing to start (CIS 4.2.6 up to v1.9; dropped since)",
    ),
    tls_min_version(),
    ComponentRule(None, ("config-dir",), _config_dir),
)


RULES: Final[Mapping[str, tuple[ComponentRule, ...]]] = {
    APISERVER: APISERVER_RULES,
    CONTROLLER_MANAGER: CONTROLLER_MANAGER_RULES,
    SCHEDULER: SCHEDULER_RULES,
    ETCD: ETCD_RULES,
    KUBELET: KUBELET_RULES,
}

#: Flags that move a component's settings into a file these rules do not read: judged "unknown".
_SETTINGS_FILES: Final[Mapping[str, tuple[str, ...]]] = {
    ETCD: ("config-file",),
    SCHEDULER: ("config",),
}


def judge(settings: Settings, controls: Iterable[str] | None = None) -> list[FlagFinding]:
    """Every finding of the component's rules (only those of ``controls`` when given).

    Fails closed: a settings file the rules cannot read (etcd ``--config-file``, which makes etcd
    ignore its flags; kube-scheduler ``--config``, which makes it ignore ``--profiling``) and any
    problem reading the inputs are findings, never a pass.
    """
    wanted = None if controls is None else set(controls)
    found: list[FlagFinding] = []
    for problem in settings.problems:
        found.append(FlagFinding(None, "config", "", problem, "make the file readable to the test."))
    for flag in _SETTINGS_FILES.get(settings.component, ()):
        setting = settings.get(flag)
        if setting is not None and setting.value.strip():
            found.append(
                _finding(
                    None,
                    flag,
                    setting.value,
                    setting,
                    "",
                    settings,
                    f"{settings.component} reads its settings from this file, which is not judged here",
                    f"judge the file's settings, or pass them as flags instead of --{flag}.",
                )
            )
    for rule in RULES[settings.component]:
        if wanted is not None and rule.control not in wanted:
            continue
        found.extend(rule.judge(settings))
    return found


def controls_of(component: str) -> tuple[str, ...]:
    """The CIS ids the component's rules implement, in benchmark order."""
    return tuple(dict.fromkeys(rule.control for rule in RULES[component] if rule.control))


# --- the registry checks' evaluation ------------------------------------------------------------------


def _strings(value: object) -> list[str] | None:
    # A non-string argument is malformed (malformed-object reports it): the container is not judged here.
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return list(value)


def container_violations(obj: K8sObject, component: str) -> Iterator[Violation]:
    """Findings of ``component``'s rules for every container of ``obj`` that runs it.

    A container runs the component when its ``command`` starts it (``kube-apiserver``, a path to
    it, or a multi-call binary naming it); without a ``command`` the image's entrypoint is unknown,
    so the container is not identified. ``args`` follow ``command`` as the runtime joins them; etcd
    also reads ``ETCD_*`` variables from ``env`` (a flag wins).
    """
    for ref in containers(obj):
        command, args = _strings(ref.container.get("command")), _strings(ref.container.get("args"))
        if not command or args is None:
            continue
        env = {
            str(item.get("name")): str(item.get("value"))
            for item in as_list(ref.container.get("env"))
            if isinstance(item, Mapping) and isinstance(item.get("value"), str)
        }
        parsed = parse([*command, *args], env)
        if parsed is None or parsed.component != component:
            continue
        settings = Settings(component, parsed)
        if component == ETCD:
            yield from _unread_etcd_env(ref.path, ref.name, ref.container, parsed)
        for finding in judge(settings):
            yield Violation(
                _argv_path(ref.path, finding, settings, len(command), ref.container),
                f'container "{ref.name}": {finding.item}: {finding.message}; fix: {finding.fix}',
                ref.name,
                _controls(finding),
            )


def _controls(finding: FlagFinding) -> tuple[str, ...]:
    # The finding's CIS item travels as its control: reports count it, waivers and
    # --k8s-controls select it, as they do a check's own controls.
    return (finding.control,) if finding.control else ()


def _unread_etcd_env(base: str, name: str, container: Mapping[str, Any], parsed: CommandLine) -> Iterator[Violation]:
    # An ETCD_* variable set from a ConfigMap, a Secret or as a non-string holds a value this check
    # cannot read: unless a flag overrides it, etcd's setting is unknown, so it fails closed.
    for index, item in enumerate(as_list(container.get("env"))):
        if not isinstance(item, Mapping) or isinstance(item.get("value"), str):
            continue
        key = str(item.get("name", ""))
        flag = key[5:].lower().replace("_", "-")
        if key.startswith("ETCD_") and parsed.get(flag) is None:
            yield Violation(
                f"{base}.env[{index}]",
                f'container "{name}": {key} has no literal value here, so etcd\'s --{flag} is unknown; '
                f"fix: set --{flag} on the command line (a flag wins over the variable).",
                name,
            )


def _argv_path(base: str, finding: FlagFinding, settings: Settings, commands: int, container: Mapping[str, Any]) -> str:
    setting = finding.setting or settings.get(finding.flag)
    source = setting.source if setting is not None else None
    if source is not None and source.index is not None:
        index = source.index
        return f"{base}.command[{index}]" if index < commands else f"{base}.args[{index - commands}]"
    if source is not None:
        # An ETCD_* variable of the container's env.
        for index, item in enumerate(as_list(container.get("env"))):
            if isinstance(item, Mapping) and item.get("name") == source.origin:
                return f"{base}.env[{index}]"
    # Unset: the flag belongs where the container's flags are.
    return f"{base}.args" if container.get("args") else f"{base}.command"


def config_violations(obj: K8sObject) -> Iterator[Violation]:
    """Findings of the kubelet's rules for a KubeletConfiguration file (its v1beta1 defaults apply)."""
    settings = Settings(KUBELET, None, obj.raw, obj.provenance.source)
    for finding in judge(settings):
        setting = finding.setting or settings.get(finding.flag)
        # Where the config file sets it, else the field that would (the flag's name if none).
        config_path = setting.config_path if setting is not None else None
        path = config_path if config_path else KUBELET_CONFIG_FIELDS.get(finding.flag, finding.flag)
        message = finding.message.replace(f"--{finding.flag} is", f"{path} is", 1)
        yield Violation(path, f"{finding.item}: {message}; fix: {finding.fix}", controls=_controls(finding))
