"""The control catalog: every control id a check or a test may claim, with its framework and title.

Ids are data, not prose, so reports can count per control, ``--k8s-controls CIS-5.2.*`` can
select by them and a typo is an error instead of a control nobody implements:

- ``CIS-5.x.y``: CIS Kubernetes Benchmark **v1.12**, section 5 (Policies), every item, numbered as
  kube-bench's ``cfg/cis-1.12/policies.yaml`` carries it. The numbering drifts between benchmark
  versions: v1.9 to v1.11 had 13 items in 5.2 (5.2.9 "added capabilities", so HostProcess,
  HostPath and HostPorts were 5.2.11 to 5.2.13), v1.9/v1.10 put General Policies at 5.7 (v1.11
  moved them to 5.6), and v1.12 dropped "added capabilities". Ids follow v1.12 only; a tool that
  cites ``5.7.1`` means ``CIS-5.6.1`` here.
- ``CIS-1.x.y`` to ``CIS-4.x.y``: sections 1-4 of the same benchmark (control plane components and
  files, etcd, control plane configuration, worker nodes), as kube-bench's ``cfg/cis-1.12``
  numbers them (etcd's items are ``CIS-2.1`` to ``CIS-2.7``).
- ``NSA-<slug>``: a section of the NSA/CISA Kubernetes Hardening Guidance v1.2 (August 2022).
- ``PSS-<level>-<slug>``: a Pod Security Standards control, the slug spelled from the name the
  upstream page gives it (``PSS-baseline-privileged-containers``). Each maps to one upstream
  check id (``PSS_UPSTREAM``), so the ``pss-*`` checks derive theirs.
- ``MITRE-T<id>``: a MITRE ATT&CK technique of the Containers matrix a check mitigates
  (``MITRE-T1611``, ``MITRE-T1552.001``).

A team's own ids join with ``register_control`` (the ``k8s_extra_controls`` ini key does that).
Pure: no pytest, no I/O.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pytest_k8ssec.errors import K8sSecError

#: Framework key -> the document it names (the docs and reports print this).
FRAMEWORKS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "CIS": "CIS Kubernetes Benchmark v1.12, section 5 (Policies) and sections 1-4 (control plane, etcd, nodes)",
        "NSA": "NSA/CISA Kubernetes Hardening Guidance v1.2",
        "PSS": "Pod Security Standards",
        "MITRE": "MITRE ATT&CK for Containers",
        "extra": "Controls registered by the project (k8s_extra_controls)",
    }
)

# Ids are matched with fnmatch patterns and written one per ini line as "ID: title", so they may
# not hold wildcards, spaces or colons.
_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class UnknownControlError(K8sSecError, ValueError):
    """A control id (or a pattern) that names no known control; the message lists close matches."""


@dataclass(frozen=True, slots=True)
class Control:
    """A control of a framework: stable id, the framework's title and section, and where to read it."""

    id: str
    framework: str
    title: str
    url: str = ""
    section: str = ""

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"control id {self.id!r} must be letters, digits and . _ / - (no spaces or wildcards)")
        if not self.title.strip():
            raise ValueError(f"control {self.id} needs a title")


# --- CIS Kubernetes Benchmark v1.12, section 5 --------------------------------------------------

_CIS_URL: Final = "https://www.cisecurity.org/benchmark/kubernetes"
_CIS_SECTIONS: Final = {
    "5.1": "5.1 RBAC and Service Accounts",
    "5.2": "5.2 Pod Security Standards",
    "5.3": "5.3 Network Policies and CNI",
    "5.4": "5.4 Secrets Management",
    "5.5": "5.5 Extensible Admission Control",
    "5.6": "5.6 General Policies",
}
_CIS: Final = (
    ("5.1.1", "Ensure that the cluster-admin role is only used where required"),
    ("5.1.2", "Minimize access to secrets"),
    ("5.1.3", "Minimize wildcard use in Roles and ClusterRoles"),
    ("5.1.4", "Minimize access to create pods"),
    ("5.1.5", "Ensure that default service accounts are not actively used"),
    ("5.1.6", "Ensure that Service Account Tokens are only mounted where necessary"),
    ("5.1.7", "Avoid use of system:masters group"),
    ("5.1.8", "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"),
    ("5.1.9", "Minimize access to create persistent volumes"),
    ("5.1.10", "Minimize access to the proxy sub-resource of nodes"),
    ("5.1.11", "Minimize access to the approval sub-resource of certificatesigningrequests objects"),
    ("5.1.12", "Minimize access to webhook configuration objects"),
    ("5.1.13", "Minimize access to the service account token creation"),
    ("5.2.1", "Ensure that the cluster has at least one active policy control mechanism in place"),
    ("5.2.2", "Minimize the admission of privileged containers"),
    ("5.2.3", "Minimize the admission of containers wishing to share the host process ID namespace"),
    ("5.2.4", "Minimize the admission of containers wishing to share the host IPC namespace"),
    ("5.2.5", "Minimize the admission of containers wishing to share the host network namespace"),
    ("5.2.6", "Minimize the admission of containers with allowPrivilegeEscalation"),
    ("5.2.7", "Minimize the admission of root containers"),
    ("5.2.8", "Minimize the admission of containers with the NET_RAW capability"),
    ("5.2.9", "Minimize the admission of containers with capabilities assigned"),
    ("5.2.10", "Minimize the admission of Windows HostProcess containers"),
    ("5.2.11", "Minimize the admission of HostPath volumes"),
    ("5.2.12", "Minimize the admission of containers which use HostPorts"),
    ("5.3.1", "Ensure that the CNI in use supports NetworkPolicies"),
    ("5.3.2", "Ensure that all Namespaces have NetworkPolicies defined"),
    ("5.4.1", "Prefer using Secrets as files over Secrets as environment variables"),
    ("5.4.2", "Consider external secret storage"),
    ("5.5.1", "Configure Image Provenance using ImagePolicyWebhook admission controller"),
    ("5.6.1", "Create administrative boundaries between resources using namespaces"),
    ("5.6.2", "Ensure that the seccomp profile is set to docker/default in your Pod definitions"),
    ("5.6.3", "Apply SecurityContext to your Pods and Containers"),
    ("5.6.4", "The default namespace should not be used"),
)

# --- NSA/CISA Kubernetes Hardening Guidance v1.2 ------------------------------------------------

_NSA_URL: Final = (
    "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF"
)
_NSA: Final = (
    ("pod-non-root", "Kubernetes Pod security", '"Non-root" containers and "rootless" container engines'),
    ("pod-immutable-fs", "Kubernetes Pod security", "Immutable container file systems"),
    ("pod-secure-images", "Kubernetes Pod security", "Building secure container images"),
    ("pod-security-enforcement", "Kubernetes Pod security", "Pod security enforcement"),
    ("pod-sa-tokens", "Kubernetes Pod security", "Protecting Pod service account tokens"),
    ("pod-hardening", "Kubernetes Pod security", "Hardening container environments"),
    ("net-namespaces", "Network separation and hardening", "Namespaces"),
    ("net-policies", "Network separation and hardening", "Network policies"),
    ("net-resource-policies", "Network separation and hardening", "Resource policies"),
    ("net-control-plane", "Network separation and hardening", "Control plane hardening"),
    ("net-secrets", "Network separation and hardening", "Secrets"),
    ("net-cloud-infra", "Network separation and hardening", "Protecting sensitive cloud infrastructure"),
    ("authn-users", "Authentication and authorization", "Authentication"),
    ("authz-rbac", "Authentication and authorization", "Role-based access control"),
    ("audit-logging", "Audit logging and threat detection", "Audit logging and threat detection"),
    ("upgrades", "Upgrading and application security practices", "Upgrading and application security practices"),
)

# --- Pod Security Standards -----------------------------------------------------------------------

_PSS_URL: Final = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
# (level, name as the upstream page gives it, upstream check id in k8s.io/pod-security-admission)
_PSS: Final = (
    ("baseline", "HostProcess", "windowsHostProcess"),
    ("baseline", "Host Namespaces", "hostNamespaces"),
    ("baseline", "Privileged Containers", "privileged"),
    ("baseline", "Capabilities", "capabilities_baseline"),
    ("baseline", "HostPath Volumes", "hostPathVolumes"),
    ("baseline", "Host Ports", "hostPorts"),
    ("baseline", "Host Probes / Lifecycle Hooks", "hostProbesAndHostLifecycle"),
    ("baseline", "AppArmor", "appArmorProfile"),
    ("baseline", "SELinux", "seLinuxOptions"),
    ("baseline", "/proc Mount Type", "procMount"),
    ("baseline", "Seccomp", "seccompProfile_baseline"),
    ("baseline", "Sysctls", "sysctls"),
    ("restricted", "Volume Types", "restrictedVolumes"),
    ("restricted", "Privilege Escalation", "allowPrivilegeEscalation"),
    ("restricted", "Running as Non-root", "runAsNonRoot"),
    ("restricted", "Running as Non-root user", "runAsUser"),
    ("restricted", "Seccomp", "seccompProfile_restricted"),
    ("restricted", "Capabilities", "capabilities_restricted"),
    # Upstream v1.35 split /proc Mount Type: restricted keeps the rule without the baseline's
    # user-namespace relaxation, as its own check (procMount_restricted).
    ("restricted", "/proc Mount Type", "procMount_restricted"),
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def pss_id(level: str, name: str) -> str:
    """``("baseline", "HostPath Volumes")`` -> ``PSS-baseline-hostpath-volumes``."""
    return f"PSS-{level}-{_slug(name)}"


#: Upstream Pod Security check id (``privileged``) -> its control id here.
PSS_UPSTREAM: Final[Mapping[str, str]] = MappingProxyType(
    {upstream: pss_id(level, name) for level, name, upstream in _PSS}
)

# --- MITRE ATT&CK for Containers --------------------------------------------------------------------

# (technique, title, tactic(s) in the Containers matrix)
_MITRE: Final = (
    ("T1046", "Network Service Discovery", "Discovery"),
    ("T1068", "Exploitation for Privilege Escalation", "Privilege Escalation"),
    ("T1078.001", "Valid Accounts: Default Accounts", "Initial Access, Persistence, Privilege Escalation"),
    ("T1098", "Account Manipulation", "Persistence, Privilege Escalation"),
    ("T1098.006", "Account Manipulation: Additional Container Cluster Roles", "Persistence, Privilege Escalation"),
    ("T1190", "Exploit Public-Facing Application", "Initial Access"),
    ("T1204.003", "User Execution: Malicious Image", "Execution"),
    ("T1496", "Resource Hijacking", "Impact"),
    ("T1499", "Endpoint Denial of Service", "Impact"),
    ("T1525", "Implant Internal Image", "Persistence"),
    ("T1528", "Steal Application Access Token", "Credential Access"),
    ("T1552.001", "Unsecured Credentials: Credentials In Files", "Credential Access"),
    ("T1552.007", "Unsecured Credentials: Container API", "Credential Access"),
    ("T1609", "Container Administration Command", "Execution"),
    ("T1610", "Deploy Container", "Execution, Defense Evasion"),
    ("T1611", "Escape to Host", "Privilege Escalation"),
    ("T1612", "Build Image on Host", "Defense Evasion"),
    ("T1613", "Container and Resource Discovery", "Discovery"),
)


# --- CIS Kubernetes Benchmark v1.12, sections 1-4 (control plane, etcd, control plane configuration, nodes) ---

# Numbered as kube-bench's cfg/cis-1.12 (master.yaml, etcd.yaml, controlplane.yaml, node.yaml) carries them;
# the checks over component flags and node files (checks/_components.py, model/node_files.py) claim them.
_CIS_NODE_SECTIONS: Final = {
    "1.1": "1.1 Control Plane Node Configuration Files",
    "1.2": "1.2 API Server",
    "1.3": "1.3 Controller Manager",
    "1.4": "1.4 Scheduler",
    "2": "2 Etcd Node Configuration",
    "3.1": "3.1 Authentication and Authorization",
    "3.2": "3.2 Logging",
    "4.1": "4.1 Worker Node Configuration Files",
    "4.2": "4.2 Kubelet",
    "4.3": "4.3 kube-proxy",
}
_CIS_NODES: Final = (
    ("1.1.1", "Ensure that the API server pod specification file permissions are set to 600 or more restrictive"),
    ("1.1.2", "Ensure that the API server pod specification file ownership is set to root:root"),
    (
        "1.1.3",
        "Ensure that the controller manager pod specification file permissions are set to 600 or more restrictive",
    ),
    ("1.1.4", "Ensure that the controller manager pod specification file ownership is set to root:root"),
    ("1.1.5", "Ensure that the scheduler pod specification file permissions are set to 600 or more restrictive"),
    ("1.1.6", "Ensure that the scheduler pod specification file ownership is set to root:root"),
    ("1.1.7", "Ensure that the etcd pod specification file permissions are set to 600 or more restrictive"),
    ("1.1.8", "Ensure that the etcd pod specification file ownership is set to root:root"),
    ("1.1.9", "Ensure that the Container Network Interface file permissions are set to 600 or more restrictive"),
    ("1.1.10", "Ensure that the Container Network Interface file ownership is set to root:root"),
    ("1.1.11", "Ensure that the etcd data directory permissions are set to 700 or more restrictive"),
    ("1.1.12", "Ensure that the etcd data directory ownership is set to etcd:etcd"),
    ("1.1.13", "Ensure that the default administrative credential file permissions are set to 600"),
    ("1.1.14", "Ensure that the default administrative credential file ownership is set to root:root"),
    ("1.1.15", "Ensure that the scheduler.conf file permissions are set to 600 or more restrictive"),
    ("1.1.16", "Ensure that the scheduler.conf file ownership is set to root:root"),
    ("1.1.17", "Ensure that the controller-manager.conf file permissions are set to 600 or more restrictive"),
    ("1.1.18", "Ensure that the controller-manager.conf file ownership is set to root:root"),
    ("1.1.19", "Ensure that the Kubernetes PKI directory and file ownership is set to root:root"),
    ("1.1.20", "Ensure that the Kubernetes PKI certificate file permissions are set to 644 or more restrictive"),
    ("1.1.21", "Ensure that the Kubernetes PKI key file permissions are set to 600"),
    ("1.2.1", "Ensure that the --anonymous-auth argument is set to false"),
    ("1.2.2", "Ensure that the --token-auth-file parameter is not set"),
    ("1.2.3", "Ensure that the --DenyServiceExternalIPs is set"),
    ("1.2.4", "Ensure that the --kubelet-client-certificate and --kubelet-client-key arguments are set as appropriate"),
    ("1.2.5", "Ensure that the --kubelet-certificate-authority argument is set as appropriate"),
    ("1.2.6", "Ensure that the --authorization-mode argument is not set to AlwaysAllow"),
    ("1.2.7", "Ensure that the --authorization-mode argument includes Node"),
    ("1.2.8", "Ensure that the --authorization-mode argument includes RBAC"),
    ("1.2.9", "Ensure that the admission control plugin EventRateLimit is set"),
    ("1.2.10", "Ensure that the admission control plugin AlwaysAdmit is not set"),
    ("1.2.11", "Ensure that the admission control plugin AlwaysPullImages is set"),
    ("1.2.12", "Ensure that the admission control plugin ServiceAccount is set"),
    ("1.2.13", "Ensure that the admission control plugin NamespaceLifecycle is set"),
    ("1.2.14", "Ensure that the admission control plugin NodeRestriction is set"),
    ("1.2.15", "Ensure that the --profiling argument is set to false"),
    ("1.2.16", "Ensure that the --audit-log-path argument is set"),
    ("1.2.17", "Ensure that the --audit-log-maxage argument is set to 30 or as appropriate"),
    ("1.2.18", "Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate"),
    ("1.2.19", "Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate"),
    ("1.2.20", "Ensure that the --request-timeout argument is set as appropriate"),
    ("1.2.21", "Ensure that the --service-account-lookup argument is set to true"),
    ("1.2.22", "Ensure that the --service-account-key-file argument is set as appropriate"),
    ("1.2.23", "Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate"),
    ("1.2.24", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate"),
    ("1.2.25", "Ensure that the --client-ca-file argument is set as appropriate"),
    ("1.2.26", "Ensure that the --etcd-cafile argument is set as appropriate"),
    ("1.2.27", "Ensure that the --encryption-provider-config argument is set as appropriate"),
    ("1.2.28", "Ensure that encryption providers are appropriately configured"),
    ("1.2.29", "Ensure that the API Server only makes use of Strong Cryptographic Ciphers"),
    ("1.2.30", "Ensure that the --service-account-extend-token-expiration parameter is set to false"),
    ("1.3.1", "Ensure that the --terminated-pod-gc-threshold argument is set as appropriate"),
    ("1.3.2", "Ensure that the --profiling argument is set to false"),
    ("1.3.3", "Ensure that the --use-service-account-credentials argument is set to true"),
    ("1.3.4", "Ensure that the --service-account-private-key-file argument is set as appropriate"),
    ("1.3.5", "Ensure that the --root-ca-file argument is set as appropriate"),
    ("1.3.6", "Ensure that the RotateKubeletServerCertificate argument is set to true"),
    ("1.3.7", "Ensure that the --bind-address argument is set to 127.0.0.1"),
    ("1.4.1", "Ensure that the --profiling argument is set to false"),
    ("1.4.2", "Ensure that the --bind-address argument is set to 127.0.0.1"),
    ("2.1", "Ensure that the --cert-file and --key-file arguments are set as appropriate"),
    ("2.2", "Ensure that the --client-cert-auth argument is set to true"),
    ("2.3", "Ensure that the --auto-tls argument is not set to true"),
    ("2.4", "Ensure that the --peer-cert-file and --peer-key-file arguments are set as appropriate"),
    ("2.5", "Ensure that the --peer-client-cert-auth argument is set to true"),
    ("2.6", "Ensure that the --peer-auto-tls argument is not set to true"),
    ("2.7", "Ensure that a unique Certificate Authority is used for etcd"),
    ("3.1.1", "Client certificate authentication should not be used for users"),
    ("3.1.2", "Service account token authentication should not be used for users"),
    ("3.1.3", "Bootstrap token authentication should not be used for users"),
    ("3.2.1", "Ensure that a minimal audit policy is created"),
    ("3.2.2", "Ensure that the audit policy covers key security concerns"),
    ("4.1.1", "Ensure that the kubelet service file permissions are set to 600 or more restrictive"),
    ("4.1.2", "Ensure that the kubelet service file ownership is set to root:root"),
    ("4.1.3", "If proxy kubeconfig file exists ensure permissions are set to 600 or more restrictive"),
    ("4.1.4", "If proxy kubeconfig file exists ensure ownership is set to root:root"),
    ("4.1.5", "Ensure that the --kubeconfig kubelet.conf file permissions are set to 600 or more restrictive"),
    ("4.1.6", "Ensure that the --kubeconfig kubelet.conf file ownership is set to root:root"),
    ("4.1.7", "Ensure that the certificate authorities file permissions are set to 644 or more restrictive"),
    ("4.1.8", "Ensure that the client certificate authorities file ownership is set to root:root"),
    (
        "4.1.9",
        "If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive",
    ),
    (
        "4.1.10",
        "If the kubelet config.yaml configuration file is being used validate file ownership is set to root:root",
    ),
    ("4.2.1", "Ensure that the --anonymous-auth argument is set to false"),
    ("4.2.2", "Ensure that the --authorization-mode argument is not set to AlwaysAllow"),
    ("4.2.3", "Ensure that the --client-ca-file argument is set as appropriate"),
    ("4.2.4", "Verify that if defined, the --read-only-port argument is set to 0"),
    ("4.2.5", "Ensure that the --streaming-connection-idle-timeout argument is not set to 0"),
    ("4.2.6", "Ensure that the --make-iptables-util-chains argument is set to true"),
    ("4.2.7", "Ensure that the --hostname-override argument is not set"),
    ("4.2.8", "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate event capture"),
    ("4.2.9", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate"),
    ("4.2.10", "Ensure that the --rotate-certificates argument is not set to false"),
    ("4.2.11", "Verify that the RotateKubeletServerCertificate argument is set to true"),
    ("4.2.12", "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers"),
    ("4.2.13", "Ensure that a limit is set on pod PIDs"),
    ("4.2.14", "Ensure that the --seccomp-default parameter is set to true"),
    ("4.3.1", "Ensure that the kube-proxy metrics service is bound to localhost"),
)


def _builtin() -> dict[str, Control]:
    controls = [
        Control(f"CIS-{item}", "CIS", title, _CIS_URL, _CIS_SECTIONS[item.rsplit(".", 1)[0]]) for item, title in _CIS
    ]
    controls += [
        Control(f"CIS-{item}", "CIS", title, _CIS_URL, _CIS_NODE_SECTIONS[item.rsplit(".", 1)[0]])
        for item, title in _CIS_NODES
    ]
    controls += [Control(f"NSA-{slug}", "NSA", title, _NSA_URL, section) for slug, section, title in _NSA]
    controls += [
        Control(pss_id(level, name), "PSS", f"{level.capitalize()}: {name}", f"{_PSS_URL}#{level}", level)
        for level, name, _ in _PSS
    ]
    controls += [
        Control(
            f"MITRE-{technique}",
            "MITRE",
            title,
            f"https://attack.mitre.org/techniques/{technique.replace('.', '/')}/",
            tactic,
        )
        for technique, title, tactic in _MITRE
    ]
    return {control.id: control for control in controls}


BUILTIN_CONTROLS: Final[Mapping[str, Control]] = MappingProxyType(_builtin())
_extra: dict[str, Control] = {}


def _all() -> dict[str, Control]:
    return {**BUILTIN_CONTROLS, **_extra}


def all_ids() -> list[str]:
    """Every known control id (built-in and registered), in catalog order."""
    return list(_all())


def known(control_id: str) -> bool:
    """True when ``control_id`` is a built-in or registered control."""
    return control_id in BUILTIN_CONTROLS or control_id in _extra


def close_matches(text: str, ids: Iterable[str] | None = None) -> list[str]:
    """Known ids that look like ``text`` (case-insensitive), best first, for error messages."""
    candidates = list(_all() if ids is None else ids)
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    found = difflib.get_close_matches(text.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[match] for match in found]


_OLD_GENERAL_POLICIES: Final = re.compile(r"^CIS-5\.7\.(\d+)$")


def unknown_message(control_id: str) -> str:
    """``unknown control id 'CIS-5.7.1'; did you mean ...?``: the text every refusal uses."""
    old = _OLD_GENERAL_POLICIES.match(control_id)
    if old and known(f"CIS-5.6.{old[1]}"):
        return (
            f"unknown control id {control_id!r}; CIS v1.9/v1.10 numbered General Policies 5.7, "
            f"v1.12 (the numbering of these ids) 5.6: did you mean 'CIS-5.6.{old[1]}'?"
        )
    near = close_matches(control_id)
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else "; docs/controls.md lists the known ids"
    return f"unknown control id {control_id!r}{hint}"


def control(control_id: str) -> Control:
    """The control of ``control_id``; ``UnknownControlError`` names close matches when there is none."""
    found = BUILTIN_CONTROLS.get(control_id) or _extra.get(control_id)
    if found is None:
        raise UnknownControlError(unknown_message(control_id))
    return found


def expand(pattern: str) -> list[str]:
    """The known ids an fnmatch pattern matches (``CIS-5.2.*``), in catalog order; case-sensitive."""
    return [control_id for control_id in _all() if fnmatch.fnmatchcase(control_id, pattern)]


def controls_by_framework() -> dict[str, list[Control]]:
    """Every known control grouped by framework, frameworks and controls in catalog order."""
    grouped: dict[str, list[Control]] = {}
    for found in _all().values():
        grouped.setdefault(found.framework, []).append(found)
    return grouped


def register_control(new: Control) -> None:
    """Make a project's own control known (idempotent for the same record).

    A built-in id cannot be redefined: the catalog is what reports and other projects rely on.
    """
    existing = BUILTIN_CONTROLS.get(new.id) or _extra.get(new.id)
    if existing is not None and existing != new:
        raise ValueError(f"control id {new.id!r} is already known as {existing.title!r}")
    _extra[new.id] = new


def unregister_control(control_id: str) -> None:
    """Forget a registered control (a run removes its own at the end; built-ins stay)."""
    _extra.pop(control_id, None)


def parse_extra(line: str, where: str) -> Control:
    """One ``k8s_extra_controls`` line, ``ID: title``, as a Control of framework ``extra``."""
    control_id, sep, title = line.partition(":")
    control_id, title = control_id.strip(), title.strip()
    if not sep or not control_id or not title:
        raise ValueError(f"{where}: {line.strip()!r} must read 'ID: title'")
    try:
        return Control(control_id, "extra", title)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


__all__ = (
    "BUILTIN_CONTROLS",
    "FRAMEWORKS",
    "PSS_UPSTREAM",
    "Control",
    "UnknownControlError",
    "close_matches",
    "control",
    "controls_by_framework",
    "expand",
    "known",
    "parse_extra",
    "pss_id",
    "register_control",
    "unknown_message",
    "unregister_control",
)
