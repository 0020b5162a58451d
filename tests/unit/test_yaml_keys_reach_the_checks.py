"""Issue 12 item 1, end to end: credentials under keys YAML writes as numbers or booleans are found,
because the loader hands every check the string keys the API server stores."""

from __future__ import annotations

import pytest

from pytest_k8ssec import SecurityAssertionError, assert_no_credential_literals, assert_no_secrets_in_manifests
from pytest_k8ssec.sources.manifests import load_text


def test_a_secret_value_under_a_numeric_key_is_found() -> None:
    objects = load_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {1234: Sup3rS3cretPassw0rd}\n", "s.yaml"
    )
    with pytest.raises(SecurityAssertionError, match=r'stringData\["1234"\]: Secret commits key'):
        assert_no_secrets_in_manifests(objects)


def test_credentials_under_numeric_and_boolean_configmap_keys_are_found() -> None:
    objects = load_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        "data: {1: AKIAIOSFODNN7EXAMPL2, true: ghp_abcdefghijklmnopqrstuvwxyz0123456789}\n",
        "c.yaml",
    )
    with pytest.raises(SecurityAssertionError, match="2 violations in ConfigMap default/c"):
        assert_no_credential_literals(objects)
