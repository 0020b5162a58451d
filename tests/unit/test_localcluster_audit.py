"""The local control plane's audit log option: off by default, metadata only when on."""

from __future__ import annotations

from pathlib import Path

import yaml

from pytest_k8ssec.sources.local_control_plane import AUDIT_POLICY, LocalControlPlane


def test_the_audit_log_is_off_by_default(tmp_path: Path) -> None:
    plane = LocalControlPlane(tmp_path)
    assert plane.audit_log is None and plane._audit_args() == []


def test_the_audit_log_records_no_body_but_namespace_creation(tmp_path: Path) -> None:
    plane = LocalControlPlane(tmp_path, audit_log=tmp_path / "logs" / "audit.log")
    args = plane._audit_args()
    assert f"--audit-log-path={tmp_path / 'logs' / 'audit.log'}" in args and "--audit-log-format=json" in args
    policy = yaml.safe_load((tmp_path / "audit-policy.yaml").read_text())
    assert policy == yaml.safe_load(AUDIT_POLICY)
    # Request (with bodies) only for creating namespaces: never for Secrets or anything else.
    assert policy["rules"] == [
        {"level": "Request", "verbs": ["create"], "resources": [{"group": "", "resources": ["namespaces"]}]},
        {"level": "Metadata"},
    ]
