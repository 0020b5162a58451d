"""The controls each entry of the risky-permission catalog (``model.rbac.risks``) fails.

rbac-risky-rules and rbac-risky-binding report one entry (or, for a subject, several) per finding,
and each CIS 5.1 item and ATT&CK technique is about some entries only: a finding carries the
controls of its entries (``Violation.controls``), the checks claim only what every finding is
(NSA's RBAC guidance). Entries without a CIS item: exec, attach and port-forward (CIS 5.1 names
no pod subresource), ``services/status`` (CVE-2020-8554).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pytest_k8ssec.model.rbac.risks import CATALOG

RISK_CONTROLS: Final[dict[str, tuple[str, ...]]] = {
    "cluster-admin-service-account": ("CIS-5.1.1",),
    # '*' on '*' is cluster-admin's rule (5.1.1), spelled with wildcards (5.1.3).
    "wildcard-all": ("CIS-5.1.1", "CIS-5.1.3"),
    "escalate": ("CIS-5.1.8", "MITRE-T1098.006"),
    "bind": ("CIS-5.1.8", "MITRE-T1098.006"),
    "impersonate": ("CIS-5.1.8",),
    "read-secrets": ("CIS-5.1.2", "MITRE-T1552.007"),
    "create-pods": ("CIS-5.1.4", "MITRE-T1610"),
    "pods-exec": ("MITRE-T1609",),
    "pods-attach": ("MITRE-T1609",),
    "pods-portforward": (),
    "nodes-proxy": ("CIS-5.1.10",),
    "serviceaccount-token": ("CIS-5.1.13", "MITRE-T1528"),
    "csr-approve": ("CIS-5.1.11",),
    "csr-sign": ("CIS-5.1.11",),
    "webhook-config-write": ("CIS-5.1.12",),
    "services-status-write": (),
    "persistentvolume-create": ("CIS-5.1.9",),
}

#: Every control a finding of the two checks may carry (their ``finding_controls``).
FINDING_CONTROLS: Final = tuple(
    sorted(
        {c for entry in CATALOG for c in RISK_CONTROLS[entry.id]},
        key=lambda c: (
            c.split("-")[0],
            [int(n) if n.isdigit() else n for n in c.split("-", 1)[1].replace("T", "").split(".")],
        ),
    )
)


def controls_of(risk_ids: Iterable[str]) -> tuple[str, ...]:
    """The controls the given catalog entries fail, each once, in the catalog's order of entries."""
    return tuple(dict.fromkeys(c for risk_id in risk_ids for c in RISK_CONTROLS[risk_id]))
