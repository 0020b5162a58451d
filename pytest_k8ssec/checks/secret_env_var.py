"""secret-env-var.

CIS Kubernetes Benchmark 5.4.1: "Prefer using secrets as files over secrets as environment
variables." Environment variables are inherited by child processes, end up in crash dumps and
debug output, and cannot be rotated without a restart; a mounted Secret volume can. kube-linter's
``read-secret-from-env-var`` reports ``env[].valueFrom.secretKeyRef``.

An optional policy check (a preference, not a vulnerability): every container (init, regular,
ephemeral) fails for each ``env[].valueFrom.secretKeyRef`` and, beyond kube-linter, for each
``envFrom[].secretRef``, which loads every key of a Secret into the environment. Messages name the
Secret and key, which are references, never values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.credentials import safe_name
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    for ref in containers(obj):
        for index, entry in enumerate(as_list(ref.container.get("env"))):
            if type(entry) is not dict and not isinstance(entry, Mapping):  # dicts skip abc's check
                continue
            selector = as_mapping(entry.get("valueFrom")).get("secretKeyRef")
            if not isinstance(selector, Mapping):
                continue
            secret, key = _text(selector.get("name")), _text(selector.get("key"))
            yield Violation(
                f"{ref.path}.env[{index}].valueFrom.secretKeyRef",
                f'container "{ref.name}" reads key "{safe_name(key)}" of Secret "{secret}" into environment variable '
                f"{safe_name(_text(entry.get('name')))}",
                ref.name,
            )
        for index, entry in enumerate(as_list(ref.container.get("envFrom"))):
            if type(entry) is not dict and not isinstance(entry, Mapping):  # dicts skip abc's check
                continue
            source = entry.get("secretRef")
            if not isinstance(source, Mapping):
                continue
            yield Violation(
                f"{ref.path}.envFrom[{index}].secretRef",
                f'container "{ref.name}" loads every key of Secret "{_text(source.get("name"))}" into its environment',
                ref.name,
            )


CHECK = Check(
    id="secret-env-var",
    title="Secret read into environment variables",
    summary="Containers should read Secrets from mounted files, not from environment variables.",
    remediation="Mount the Secret as a volume (items: to pick keys) and have the application read the file; "
    "many images accept a *_FILE variable that names the file.",
    category=Category.CREDENTIALS,
    severity=Severity.LOW,
    evaluate=_evaluate,
    controls=("CIS-5.4.1", "MITRE-T1552.007"),
    references=(
        "https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod",
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    ),
)
