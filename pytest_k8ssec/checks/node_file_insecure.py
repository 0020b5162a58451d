"""node-file-insecure.

CIS Kubernetes Benchmark v1.12, sections 1.1 "Control Plane Node Configuration Files" and 4.1
"Worker Node Configuration Files": static-pod manifests, kubeconfigs, the PKI, the etcd data
directory, the CNI configuration and the kubelet's service, kubeconfig, client CA and config
files must have at most the mode the benchmark names ("600 or more restrictive": no bit outside
0600, setuid/setgid/sticky included) and be owned by root:root (etcd's data directory by
etcd:etcd). Paths are kubeadm's unless given; an absent file is not a finding, none at all is an
error. Rules: ``model/node_files.py``.

A requirement check: it reads a machine's files through a testinfra host; run it with
assert_node_files().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity
from pytest_k8ssec.model.node_files import file_controls

CHECK = Check(
    id="node-file-insecure",
    title="Node file permissions or owner insecure",
    summary="Control-plane and node files (manifests, kubeconfigs, PKI, kubelet config) must be root-owned and not group- or world-accessible.",
    remediation="Run the chmod or chown each finding names on the node.",
    category=Category.CONTROL_PLANE,
    controls=("NSA-net-control-plane",),
    finding_controls=file_controls(),
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_node_files",),
    references=("https://www.cisecurity.org/benchmark/kubernetes",),
)
