"""secret-in-manifest.

Kubernetes documentation, Secrets: "Kubernetes Secrets are, by default, stored unencrypted in the
API server's underlying data store (etcd)", and the values in ``data`` are only base64-encoded:
base64 is an encoding, not protection. A Secret with real values committed to a repository with
the manifests hands them to everyone who can read the repository and its history.

A Secret fails for every ``data`` or ``stringData`` key with a non-empty value (only the key is
named; the value is redacted), and for a ``kubectl.kubernetes.io/last-applied-configuration``
annotation that repeats such values. What passes: no data, empty values, values that are wholly
references filled in at deploy time (``${VAR}``, ``{{ ... }}``), and so a
``kubernetes.io/service-account-token`` Secret left empty for the token controller to fill. Keep
secrets out of the manifests: create them from a secret manager (External Secrets, Vault) or
commit them encrypted (Sealed Secrets, SOPS); those are other kinds, not ``v1/Secret``. On a live
cluster every populated Secret fails: run this check on manifests.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.credentials import (
    LAST_APPLIED,
    LAST_APPLIED_PATH,
    decode_base64,
    field_path,
    is_reference,
    iter_strings,
    last_applied,
    redact,
    safe_name,
)
from pytest_k8ssec.model.objects import K8sObject

#: Shorter committed values are not searched for in other objects: "true" or "admin" would match
#: words that are no copy of them.
MIN_REPEATED_CHARS = 6


def _populated(value: object, encoded: bool) -> str | bytes | None:
    """The value as it would be stored, when it holds anything; None for empty or reference values."""
    if not isinstance(value, str):
        # A non-string value is refused by the API server; it still was committed (fail closed).
        return None if value is None else json.dumps(value, default=str)
    if not value.strip() or is_reference(value):
        return None
    if encoded:
        decoded = decode_base64(value)
        if decoded is None:
            return value  # not base64: the API server rejects it, but it is committed content
        if not decoded.strip() or is_reference(decoded.decode("utf-8", errors="replace")):
            return None
        return decoded
    return value


def _keys(raw: Mapping[str, object]) -> Iterator[tuple[str, str, str | bytes]]:
    for field, encoded in (("data", True), ("stringData", False)):
        for key, value in iter_strings(raw.get(field)):
            stored = _populated(value, encoded)
            if stored is not None:
                yield field, key, stored


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    kind = obj.raw.get("type")
    kind_text = f" of type {kind}" if isinstance(kind, str) and kind else ""
    for field, key, stored in _keys(obj.raw):
        how = "base64-encoded, not encrypted" if field == "data" else "plain text"
        yield Violation(
            field_path(field, key),
            f'Secret{kind_text} commits key "{safe_name(key)}" in {field} ({how}): {redact(stored)}',
        )
    applied = obj.annotations.get(LAST_APPLIED)
    if isinstance(applied, str):
        try:
            previous = json.loads(applied)
        except ValueError:
            previous = None
        if isinstance(previous, Mapping) and any(True for _ in _keys(previous)):
            keys = sorted({safe_name(key) for _, key, _ in _keys(previous)})
            yield Violation(
                f'metadata.annotations["{LAST_APPLIED}"]',
                f"the last-applied-configuration annotation repeats the values of key(s) {', '.join(keys)}: {redact(applied)}",
            )


CHECK = Check(
    id="secret-in-manifest",
    title="Secret values committed in a manifest",
    summary="Secret objects in manifests must not carry values: base64 in data is an encoding, not protection.",
    remediation="Remove data/stringData values from the manifest; create the Secret from a secret manager "
    "(External Secrets, Vault) or commit it encrypted (Sealed Secrets, SOPS), and rotate every value that was committed.",
    category=Category.CREDENTIALS,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    targets=frozenset({"Secret"}),
    controls=("NSA-net-secrets", "MITRE-T1552.001"),
    references=(
        "https://kubernetes.io/docs/concepts/configuration/secret/",
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        "https://cwe.mitre.org/data/definitions/798.html",
        "https://owasp.org/www-project-kubernetes-top-ten/2022/en/src/K08-secrets-management",
    ),
)


def _forms(value: str | bytes) -> set[str]:
    """How a committed value can appear inside another object's JSON annotation."""
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    raw = value if isinstance(value, bytes) else value.encode()
    return {text, json.dumps(text)[1:-1], base64.b64encode(raw).decode()}


def across(objects: Iterable[K8sObject]) -> Check:
    """``CHECK`` that also knows every Secret among ``objects``, for ``assert_no_secrets_in_manifests``.

    Besides the Secrets themselves, any other object fails whose last-applied-configuration
    annotation records a Secret with values, or repeats a value committed in one of the Secrets
    (issue 12 item 8: a Secret's value in another object's annotation went unseen). Same id, so
    findings and reports treat it as this check.
    """
    objects = list(objects)
    committed: dict[str, str] = {}
    for obj in objects:
        if obj.kind == "Secret":
            for _, key, stored in _keys(obj.raw):
                if len(stored.strip()) >= MIN_REPEATED_CHARS:
                    for form in _forms(stored):
                        committed.setdefault(form, f'key "{safe_name(key)}" of {obj.display}')
    kinds = frozenset({"Secret"} | {obj.kind for obj in objects if isinstance(obj.annotations.get(LAST_APPLIED), str)})

    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        if obj.kind == "Secret":
            yield from _evaluate(obj)
            return
        annotation = obj.annotations.get(LAST_APPLIED)
        if not isinstance(annotation, str):
            return
        copy = last_applied(obj.raw)
        if copy is not None and copy.get("kind") == "Secret" and any(True for _ in _keys(copy)):
            keys = sorted({safe_name(key) for _, key, _ in _keys(copy)})
            yield Violation(
                LAST_APPLIED_PATH,
                f"the last-applied-configuration annotation records a Secret with values of key(s) {', '.join(keys)}: "
                f"{redact(annotation)}",
            )
            return
        repeated = sorted({where for form, where in committed.items() if form in annotation})
        if repeated:
            shown = ", ".join(repeated[:3]) + (", ..." if len(repeated) > 3 else "")
            yield Violation(
                LAST_APPLIED_PATH,
                f"the last-applied-configuration annotation repeats the committed value of {shown}: {redact(annotation)}",
            )

    return dataclasses.replace(CHECK, targets=kinds, evaluate=evaluate)
