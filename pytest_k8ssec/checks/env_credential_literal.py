"""env-credential-literal.

CWE-798, "Use of Hard-coded Credentials": "The product contains hard-coded credentials, such as a
password or cryptographic key". Kubernetes' answer is the Secret ("a Secret is an object that
contains a small amount of sensitive data ... so that you don't need to include confidential data
in your application code"): a container's ``env[].value`` is a literal in the manifest, readable by
everyone who can read the workload, and printed by ``kubectl describe``.

Every container (init, regular, ephemeral) is judged by each ``env[]`` entry's literal ``value``
with the rules of ``model/credentials.py``: known token formats, credential-like names with any
literal (a weak default like ``changeme`` included, a fill-in-here placeholder like
``<your-password>`` not), high entropy for other names. ``valueFrom`` is
not a literal and passes here (``secret-env-var`` has the opinion on secrets as variables).
The copy of the object in its ``kubectl.kubernetes.io/last-applied-configuration`` annotation is
judged too: a literal removed from the spec stays readable there. Messages name the variable and
redact the value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._last_applied import with_last_applied
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.credentials import classify, redact, safe_name
from pytest_k8ssec.model.objects import K8sObject, as_list


def literal(value: object) -> str | None:
    """An env value as text: YAML may give ``123456`` as a number, which the API would refuse, but it is a literal."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _judge(obj: K8sObject) -> Iterator[tuple[Violation, str]]:
    for ref in containers(obj):
        for index, entry in enumerate(as_list(ref.container.get("env"))):
            if type(entry) is not dict and not isinstance(entry, Mapping):  # dicts skip abc's check
                continue
            value = literal(entry.get("value"))
            if value is None:
                continue
            name = entry.get("name")
            name = name if isinstance(name, str) else ""
            match = classify(name, value)
            if match is None:
                continue
            yield (
                Violation(
                    f"{ref.path}.env[{index}].value",
                    f'container "{ref.name}" sets environment variable {safe_name(name) or "(unnamed)"} to a credential-like '
                    f"literal: {redact(value, match.rule)}",
                    ref.name,
                ),
                value,
            )


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    # The object itself is judged as it is (its container walk is memoized on it); only the
    # last-applied copy needs an object of its own.
    return with_last_applied(obj.raw, lambda raw: _judge(obj if raw is obj.raw else K8sObject(raw, obj.provenance)))


CHECK = Check(
    id="env-credential-literal",
    title="Credential literal in environment variable",
    summary="Containers must not carry passwords, tokens or keys as literal environment variable values.",
    remediation="Put the credential in a Secret created outside the manifests (or an external secret store) and "
    "reference it with env[].valueFrom.secretKeyRef or, better, a mounted Secret volume; then rotate the exposed value.",
    category=Category.CREDENTIALS,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("NSA-net-secrets", "MITRE-T1552.001", "MITRE-T1552.007"),
    references=(
        "https://cwe.mitre.org/data/definitions/798.html",
        "https://kubernetes.io/docs/concepts/configuration/secret/",
        "https://owasp.org/www-project-kubernetes-top-ten/2022/en/src/K08-secrets-management",
    ),
)
