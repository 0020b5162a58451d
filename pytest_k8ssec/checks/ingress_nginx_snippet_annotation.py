"""ingress-nginx-snippet-annotation.

ingress-nginx (CVE-2021-25742, kubernetes/ingress-nginx#7837): a user who can create or update an
Ingress can put raw NGINX configuration into the controller through the ``*-snippet``
annotations, and so read the controller's service account token and every Secret it can read
(by default, all of them). Upstream rates exactly five annotations ``Critical``, the ones it does
not validate at all (``parser.AnnotationRiskCritical`` with ``ValidateNull`` in
internal/ingress/annotations): ``configuration-snippet``, ``server-snippet``, ``stream-snippet``,
``auth-snippet`` and ``modsecurity-snippet``. Since v1.9 the controller ignores them unless
``allow-snippet-annotations`` is true, and since v1.12 it rejects annotations above
``annotations-risk-level`` (default High); an Ingress that sets one either depends on that
guard being off or is broken by it.

A violation is each of those annotations with a value the controller would use: upstream trims
each line and ignores a value that is then empty. The annotation prefix is the controller's
``--annotations-prefix`` (default ``nginx.ingress.kubernetes.io``); ``configure(prefix=...)``
judges a controller that runs with another. The CVE-2025-1974 family ("IngressNightmare") injected
configuration through validated annotations (``auth-url``, ``auth-tls-match-cn``,
``mirror-target``) that are legitimate features: its fix is the controller's version, not the
Ingress, so those are not judged here. An annotation value that is not a string (the API server
rejects it) is reported as unjudgeable.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.model.objects import K8sObject

ID = "ingress-nginx-snippet-annotation"

DEFAULT_PREFIX = "nginx.ingress.kubernetes.io"
#: The annotations ingress-nginx rates Critical (not validated: raw NGINX configuration).
SNIPPETS = ("configuration-snippet", "server-snippet", "stream-snippet", "auth-snippet", "modsecurity-snippet")

# A DNS subdomain, as an annotation key's prefix must be.
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _used(value: str) -> bool:
    # normalizeString in internal/ingress/annotations/parser: each line trimmed; "" is ignored.
    return "\n".join(line.strip() for line in value.split("\n")) != ""


def _evaluator(prefix: str) -> Callable[[K8sObject], Iterator[Violation]]:
    keys = tuple(f"{prefix}/{name}" for name in SNIPPETS)

    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        if obj.api_group not in ("networking.k8s.io", "extensions"):
            return
        annotations = obj.metadata.get("annotations")
        if annotations is not None and not isinstance(annotations, dict):
            yield Violation("metadata.annotations", "annotations are not a mapping, so they cannot be judged")
            return
        for key in keys:
            if annotations is None or key not in annotations:
                continue
            value = annotations[key]
            path = f'metadata.annotations["{key}"]'
            if not isinstance(value, str):
                yield Violation(path, f"annotation {key} is not a string, so it cannot be judged")
            elif _used(value):
                yield Violation(
                    path,
                    f"annotation {key} injects raw NGINX configuration into the ingress controller "
                    "(CVE-2021-25742: it can read the controller's token and Secrets)",
                )

    return evaluate


CHECK = Check(
    id=ID,
    title="Snippet annotation on an ingress-nginx Ingress",
    summary=(
        "Ingresses must not set the ingress-nginx snippet annotations, which inject unvalidated NGINX "
        "configuration into the controller (CVE-2021-25742)."
    ),
    remediation=(
        "Remove the snippet annotation and use the dedicated annotation or the controller's ConfigMap; "
        "keep allow-snippet-annotations false."
    ),
    category=Category.NETWORK,
    severity=Severity.HIGH,
    evaluate=_evaluator(DEFAULT_PREFIX),
    targets=frozenset({"Ingress"}),
    controls=("MITRE-T1068",),
    references=(
        "https://github.com/kubernetes/ingress-nginx/issues/7837",
        "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations-risk/",
    ),
    parameters=(("prefix", DEFAULT_PREFIX),),
)


def configure(prefix: str = DEFAULT_PREFIX) -> Check:
    """``CHECK`` for a controller started with ``--annotations-prefix=<prefix>``."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix) or len(prefix) > 253:
        raise ValueError(f"annotation prefix {prefix!r} is not a DNS subdomain such as {DEFAULT_PREFIX!r}")
    return _configured(prefix)


@one_variant_per_argument
def _configured(prefix: str) -> Check:
    return dataclasses.replace(CHECK, evaluate=_evaluator(prefix), parameters=(("prefix", prefix),))
