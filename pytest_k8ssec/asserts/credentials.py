"""Assertion helpers for credentials: literals in env and ConfigMaps, committed Secrets, secrets as env vars, default ServiceAccounts.

Thin wrappers over the checks of the same names, run through the same path as every helper in
``asserts.py`` (malformed-object alongside, empty selections fail, results recorded for the
reports). Failure messages name objects, keys and variables, never values: the checks redact them
(``model/credentials.py``), and these frames keep no value in a local variable that pytest's
``--showlocals`` could print.
"""

from __future__ import annotations

from pytest_k8ssec.asserts._failure import Objects, _named, _objects, _run
from pytest_k8ssec.checks import secret_in_manifest
from pytest_k8ssec.errors import SecurityAssertionError


def assert_no_credential_literals(objs: Objects) -> None:
    """Assert no container env value and no ConfigMap entry holds a credential-like literal.

    Judges ``env[].value`` of every container (init and ephemeral included) and every ConfigMap's
    ``data``/``binaryData``: known token formats (AWS, GitHub, Slack, JWT, PEM private keys, ...),
    credential-like names (``DB_PASSWORD``, ``apiKey``) with any literal value, and high-entropy
    strings. Values are redacted in the failure message.

    Raises:
        SecurityAssertionError: a credential-like literal, or no workload or ConfigMap given.
    """
    __tracebackhide__ = True
    _named(("env-credential-literal", "configmap-credential"), objs)


def assert_no_secrets_in_manifests(objs: Objects) -> None:
    """Assert no Secret object carries values (``data``/``stringData``); only keys are named on failure.

    The ``kubectl.kubernetes.io/last-applied-configuration`` annotation of every object is searched
    too: a copy of a Secret there, or a value committed in one of the given Secrets, fails.
    Manifests without any Secret pass: that is the state this asserts. Live targets never list
    Secrets (the plugin does not read Secret values), so objects that all come from a cluster
    cannot be judged and fail.

    Raises:
        SecurityAssertionError: a populated Secret, no objects, or only live objects.
    """
    __tracebackhide__ = True
    objects = _objects(objs)
    if objects and all(obj.provenance.from_cluster for obj in objects):
        raise SecurityAssertionError(
            "secret-in-manifest: the objects come from a live cluster, whose Secrets the plugin never lists; "
            "run this helper on manifests"
        )
    _run("secret-in-manifest", [secret_in_manifest.across(objects)], objects, require_judged=False)


def assert_secrets_as_files(objs: Objects) -> None:
    """Assert containers read Secrets from mounted files, not ``secretKeyRef``/``envFrom.secretRef`` (CIS 5.4.1).

    Raises:
        SecurityAssertionError: a Secret read into an environment variable, or no workload given.
    """
    __tracebackhide__ = True
    _named(("secret-env-var",), objs)


def assert_not_default_service_account(objs: Objects) -> None:
    """Assert every workload runs as a dedicated ServiceAccount, not its namespace's ``default`` (CIS 5.1.5).

    The deprecated ``serviceAccount`` field is read as the API server reads it: an alias that
    ``serviceAccountName`` overrides.

    Raises:
        SecurityAssertionError: a workload on the default ServiceAccount, or no workload given.
    """
    __tracebackhide__ = True
    _named(("default-service-account",), objs)


__all__ = (
    "assert_no_credential_literals",
    "assert_no_secrets_in_manifests",
    "assert_not_default_service_account",
    "assert_secrets_as_files",
)
