"""configmap-credential.

Kubernetes documentation, ConfigMaps: "ConfigMap does not provide secrecy or encryption. If the
data you want to store are confidential, use a Secret rather than a ConfigMap". Polaris's
``sensitiveConfigmapContent`` check enforces the same on key names and PEM private keys.

Every ``data`` entry is judged as a named value with the rules of ``model/credentials.py`` (known
token formats, credential-like key names with a literal, high entropy), and so are the
``key=value``/``key: value`` pairs inside it, since a ConfigMap entry is often a whole config file
(``application.properties`` with ``spring.datasource.password=...``). ``binaryData`` entries are
decoded and searched for known formats; a key named like a private-key or credential file
(``tls.key``, ``id_rsa``, ``.pgpass``) with content fails in either map. The copy in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation is judged the same way (an entry
removed from ``data`` stays readable there). Messages name the key and redact the value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._last_applied import with_last_applied
from pytest_k8ssec.model.credentials import (
    classify,
    credential_file,
    decode_base64,
    field_path,
    iter_strings,
    redact,
    safe_name,
    token_format,
)
from pytest_k8ssec.model.objects import K8sObject


def _judge(raw: Mapping[str, object]) -> Iterator[tuple[Violation, object]]:
    for key, value in iter_strings(raw.get("data")):
        if not isinstance(value, str):
            continue  # the API server requires strings; nothing of ours reads a non-string entry
        match = classify(key, value)
        rule = match.rule if match is not None else None
        if rule is None and value.strip() and credential_file(key):
            rule = "the key names a private-key or credential file"
        if rule is not None:
            yield (
                Violation(
                    field_path("data", key),
                    f'ConfigMap key "{safe_name(key)}" holds a credential-like value: {redact(value, rule)}',
                ),
                value,
            )
    for key, value in iter_strings(raw.get("binaryData")):
        if not isinstance(value, str) or not value.strip():
            continue
        path = field_path("binaryData", key)
        decoded = decode_base64(value)
        if decoded is None:
            # The API server rejects it; what cannot be read is not passed (fail closed).
            yield (
                Violation(
                    path, f'ConfigMap binaryData key "{safe_name(key)}" is not valid base64 and cannot be checked'
                ),
                value,
            )
            continue
        found = token_format(decoded.decode("utf-8", errors="replace"))
        rule = f"looks like {found}" if found is not None else None
        if rule is None and credential_file(key):
            rule = "the key names a private-key or credential file"
        if rule is not None:
            yield (
                Violation(
                    path,
                    f'ConfigMap binaryData key "{safe_name(key)}" holds a credential-like value: {redact(decoded, rule)}',
                ),
                value,
            )


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    return with_last_applied(obj.raw, _judge)


CHECK = Check(
    id="configmap-credential",
    title="Credential in ConfigMap",
    summary="ConfigMaps must not hold passwords, tokens, keys or config files with credentials in them.",
    remediation="Move the credential into a Secret created outside the manifests (or an external secret store), "
    "mount it where the application reads it, and rotate the exposed value.",
    category=Category.CREDENTIALS,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    targets=frozenset({"ConfigMap"}),
    controls=("NSA-net-secrets", "MITRE-T1552.001", "MITRE-T1552.007"),
    references=(
        "https://kubernetes.io/docs/concepts/configuration/configmap/",
        "https://cwe.mitre.org/data/definitions/798.html",
        "https://owasp.org/www-project-kubernetes-top-ten/2022/en/src/K08-secrets-management",
    ),
)
