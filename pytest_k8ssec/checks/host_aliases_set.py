"""host-aliases-set.

No Pod Security Standard covers ``hostAliases``. kubesec (``HostAliases``, -3: "Managing /etc/hosts
aliases can prevent the container engine from modifying the file after a pod's containers have
already been started") and Trivy (KSV007, "Manages /etc/hosts") report it: ``spec.hostAliases``
makes the kubelet write fixed name-to-address entries into every container's ``/etc/hosts``,
which take precedence over DNS, so a manifest can redirect a name (an API endpoint, a registry,
a cloud metadata host) to another address without any DNS or NetworkPolicy change showing it.

Judged: a non-empty ``spec.hostAliases`` list; each entry is reported with the names and address it
pins. An empty list writes nothing and passes; a value that is not a list is left to
malformed-object.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import pod_spec


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is None:
        return
    for index, entry in enumerate(as_list(pod.spec.get("hostAliases"))):
        alias = as_mapping(entry)
        names = [name for name in as_list(alias.get("hostnames")) if isinstance(name, str)]
        address = alias.get("ip")
        shown = ", ".join(names) if names else "no hostname"
        yield Violation(
            f"{pod.path}.hostAliases[{index}]",
            f"pod pins {shown} to {address if isinstance(address, str) else 'an invalid address'} in /etc/hosts",
        )


CHECK = Check(
    id="host-aliases-set",
    title="Host aliases set",
    summary=(
        "Pods should not set hostAliases: the entries written into /etc/hosts override DNS for every "
        "container, out of sight of DNS and network policy."
    ),
    remediation="Remove spec.hostAliases and publish the names in DNS (a Service, an ExternalName Service or CoreDNS).",
    category=Category.NETWORK,
    severity=Severity.LOW,
    evaluate=_evaluate,
    references=(
        "https://kubernetes.io/docs/tasks/network/customize-hosts-file-for-pods/",
        "https://avd.aquasec.com/misconfig/kubernetes/ksv007/",
    ),
)
