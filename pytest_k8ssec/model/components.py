"""Control-plane and node components' command lines, read as the components read them.

Pure: no pytest, no I/O. The input is an argv (a process's ``/proc/<pid>/cmdline``, or a
static-pod container's ``command`` + ``args``) and, for the kubelet, its configuration file's
fields; the output is each flag's effective value and where it was set.

Parsing follows the components' own parsers:

- kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet use spf13/pflag with
  component-base's ``WordSepNormalizeFunc`` (``--anonymous_auth`` is ``--anonymous-auth``):
  ``--flag=value`` and ``--flag value`` (a non-boolean flag takes the next argument, even one
  starting with ``-``), a bare boolean ``--flag`` is ``true`` (``--flag false`` sets true and
  leaves ``false`` as a positional argument), ``--`` ends the flags, and a repeated flag's last
  value wins, except list flags (pflag ``StringSlice``: ``--authorization-mode``,
  ``--enable-admission-plugins``...), whose repeats append and whose values split on commas, and
  ``--feature-gates`` (a map: repeats merge, a later key wins).
- etcd uses Go's ``flag`` package: ``-flag`` and ``--flag`` are the same, parsing stops at the
  first argument that is not a flag, and a boolean takes a value only as ``-flag=value``.
  Unset flags fall back to the ``ETCD_<FLAG>`` environment variable (a flag wins over it).

A multi-call binary (``hyperkube kube-apiserver ...``, this project's ``k8s-controlplane
kube-apiserver ...``) names the component in its first argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

APISERVER: Final = "kube-apiserver"
CONTROLLER_MANAGER: Final = "kube-controller-manager"
SCHEDULER: Final = "kube-scheduler"
ETCD: Final = "etcd"
KUBELET: Final = "kubelet"
COMPONENTS: Final = (APISERVER, CONTROLLER_MANAGER, SCHEDULER, ETCD, KUBELET)

# Boolean flags: they take no separate value argument. Only the ones a rule reads or a kubeadm
# manifest commonly carries; an unknown flag followed by a bare word is read as taking it as its
# value, as pflag does for every non-boolean flag.
_BOOLEAN: Final[Mapping[str, frozenset[str]]] = {
    APISERVER: frozenset(
        {
            "anonymous-auth",
            "profiling",
            "allow-privileged",
            "enable-bootstrap-token-auth",
            "service-account-lookup",
            "service-account-extend-token-expiration",
            "enable-aggregator-routing",
            "enable-priority-and-fairness",
            "contention-profiling",
            "enable-garbage-collector",
            "enable-logs-handler",
        }
    ),
    CONTROLLER_MANAGER: frozenset(
        {"profiling", "use-service-account-credentials", "leader-elect", "allocate-node-cidrs", "contention-profiling"}
    ),
    SCHEDULER: frozenset({"profiling", "leader-elect", "contention-profiling"}),
    ETCD: frozenset(
        {
            "client-cert-auth",
            "peer-client-cert-auth",
            "auto-tls",
            "peer-auto-tls",
            "unsafe-no-fsync",
            "enable-pprof",
            "strict-reconfig-check",
            "force-new-cluster",
            "enable-v2",
            "experimental-initial-corrupt-check",
        }
    ),
    KUBELET: frozenset(
        {
            "anonymous-auth",
            "authentication-token-webhook",
            "protect-kernel-defaults",
            "rotate-certificates",
            "rotate-server-certificates",
            "make-iptables-util-chains",
            "enable-server",
            "enable-debugging-handlers",
            "fail-swap-on",
            "register-node",
            "serialize-image-pulls",
            "seccomp-default",
        }
    ),
}
_LISTS: Final[Mapping[str, frozenset[str]]] = {
    APISERVER: frozenset(
        {
            "authorization-mode",
            "enable-admission-plugins",
            "disable-admission-plugins",
            "admission-control",
            "tls-cipher-suites",
        }
    ),
    CONTROLLER_MANAGER: frozenset({"controllers", "tls-cipher-suites"}),
    SCHEDULER: frozenset({"tls-cipher-suites"}),
    ETCD: frozenset(),
    KUBELET: frozenset({"tls-cipher-suites"}),
}


@dataclass(frozen=True, slots=True)
class Flag:
    """A flag's effective value and where it came from.

    ``index`` is the position in the component's argv of the argument that set it last (``None``
    for an environment variable, a config file field or a default); ``origin`` says which in words
    (``--profiling=true``, ``ETCD_CLIENT_CERT_AUTH``, ``authentication.anonymous.enabled``).
    """

    value: str
    index: int | None
    origin: str


@dataclass(frozen=True)
class CommandLine:
    """A component's argv, parsed: its flags by normalized name (without dashes), in order."""

    component: str
    argv: tuple[str, ...]
    #: Index in ``argv`` of the first argument after the program (and the multi-call name).
    start: int
    flags: Mapping[str, Flag] = field(default_factory=dict)
    #: List flags: every value, in order, across repeats.
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``--feature-gates`` merged (gate -> enabled).
    feature_gates: Mapping[str, bool] = field(default_factory=dict)

    def get(self, name: str) -> Flag | None:
        """The flag ``name`` (``anonymous-auth``) when the command line (or etcd's environment) sets it."""
        return self.flags.get(name)


def component_of(argv: Sequence[str]) -> tuple[str, int] | None:
    """(component, index of its first flag) when ``argv`` starts one of ``COMPONENTS``, else None.

    The program is recognised by its file name (``/usr/local/bin/kube-apiserver``); a multi-call
    program names the component in its first argument.
    """
    if not argv:
        return None
    program = argv[0].rsplit("/", 1)[-1]
    if program in COMPONENTS:
        return program, 1
    if len(argv) > 1 and argv[1] in COMPONENTS:
        return argv[1], 2
    return None


def normalize(name: str, component: str) -> str:
    """The name a flag is registered under: Kubernetes components read ``_`` as ``-``; etcd does not."""
    return name if component == ETCD else name.replace("_", "-")


def parse(argv: Sequence[str], env: Mapping[str, str] | None = None) -> CommandLine | None:
    """Parse a component's argv (None when it starts none of ``COMPONENTS``).

    ``env`` is the process's (or container's) environment: etcd reads an unset flag from
    ``ETCD_<FLAG>`` (upper case, ``-`` as ``_``).
    """
    found = component_of(argv)
    if found is None:
        return None
    component, start = found
    booleans, lists = _BOOLEAN[component], _LISTS[component]
    flags: dict[str, Flag] = {}
    list_values: dict[str, list[str]] = {}
    gates: dict[str, bool] = {}
    index = start
    args = list(argv)
    while index < len(args):
        arg = args[index]
        if arg == "--":
            break
        if component == ETCD:
            if not arg.startswith("-") or arg == "-":
                break  # Go's flag package stops at the first non-flag argument
            body = arg[2:] if arg.startswith("--") else arg[1:]
        else:
            if not arg.startswith("--"):
                index += 1  # a positional argument, or a shorthand (-v=2): no rule reads either
                continue
            body = arg[2:]
        name, has_value, value = body.partition("=")
        name = normalize(name, component)
        at = index
        if not has_value:
            if name in booleans:
                value = "true"
            elif index + 1 < len(args):
                index += 1
                value = args[index]
            else:
                value = ""  # the component refuses to start: "flag needs an argument"
        index += 1
        if name in lists:
            # pflag's StringSlice: the first Set replaces the default, later ones append.
            list_values.setdefault(name, []).extend(part.strip() for part in value.split(",") if part.strip())
        if name == "feature-gates":
            for pair in value.split(","):
                gate, _, enabled = pair.partition("=")
                if gate.strip():
                    gates[gate.strip()] = enabled.strip().lower() == "true"
        flags[name] = Flag(value, at, args[at] if has_value or name in booleans else f"{args[at]} {value}")
    if component == ETCD and env:
        for key, value in env.items():
            if key.startswith("ETCD_"):
                name = key[5:].lower().replace("_", "-")
                flags.setdefault(name, Flag(value, None, key))
    return CommandLine(
        component,
        tuple(argv),
        start,
        flags,
        {name: tuple(values) for name, values in list_values.items()},
        gates,
    )


def truthy(value: str) -> bool | None:
    """Go's ``strconv.ParseBool`` (what pflag and flag use): None for what it refuses."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


__all__ = (
    "APISERVER",
    "COMPONENTS",
    "CONTROLLER_MANAGER",
    "ETCD",
    "KUBELET",
    "SCHEDULER",
    "CommandLine",
    "Flag",
    "component_of",
    "normalize",
    "parse",
    "truthy",
)
