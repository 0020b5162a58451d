"""PSS restricted ``procMount_restricted`` (v1.35; overrides baseline ``procMount``).

"The default /proc masks are set up to reduce attack surface, and should be required by the
restricted profile." Restricted fields: ``spec.containers[*].securityContext.procMount`` (and init
and ephemeral containers); allowed values: undefined/null, ``Default`` -- with no user-namespace
relaxation: from v1.35 the baseline check allows any value under ``hostUsers: false``, restricted
keeps the unconditional v1.0 rule (k8s.io/pod-security-admission ``policy/check_procMount_restricted.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.checks.pss.check_proc_mount import proc_mount_1_0

CONTROL = Control(
    "procMount_restricted",
    "restricted",
    (Versioned(v(1, 35), proc_mount_1_0, ("procMount",)),),
    "pss-proc-mount-restricted",
)

CHECK = make_check(
    CONTROL,
    title="PSS restricted: /proc mount type",
    summary="Containers must keep the default masked /proc mount, user namespace or not (Pod Security Standards, restricted, v1.35+).",
    remediation="Remove securityContext.procMount or set it to Default.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    controls=("MITRE-T1611",),
)
