"""service-account-missing.

A pod runs as the ServiceAccount its spec names, and the ServiceAccount admission plugin refuses
to create a pod whose ServiceAccount does not exist in its namespace: a workload naming an absent
account never starts, and the first person who creates an account of that name (and whatever
RoleBindings name it) decides what the pod may do. kube-linter's ``non-existent-service-account``
reports the same ("Indicates when pods reference a service account that is not found").

A selection check: each workload's effective ServiceAccount (``serviceAccountName``, else the
deprecated alias ``serviceAccount``, as ``default-service-account`` computes it) is looked up among
the ServiceAccount objects of the selection in the workload's namespace (an unset namespace is
``default``, as everywhere in the model). ``default`` is never reported: the namespace controller
creates it in every namespace. The verdict is only as complete as the selection: a workload whose
namespace has no ServiceAccount in the selection at all is still reported (fail closed), with a
message that says the selection may be partial, so a test that judges workloads without their
ServiceAccounts learns why instead of passing. A name that is not a string is left to
malformed-object.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import pod_spec

DEFAULT = "default"


def _account(obj: K8sObject) -> tuple[str, str] | None:
    """(field path, name) of the ServiceAccount a workload names, or ``None`` (none named, or default)."""
    pod = pod_spec(obj)
    if pod is None:
        return None
    for field in ("serviceAccountName", "serviceAccount"):
        name = pod.spec.get(field)
        if name is None or name == "":
            continue
        if not isinstance(name, str) or name == DEFAULT:
            return None
        return f"{pod.path}.{field}", name
    return None


def _evaluate(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
    known: dict[str | None, set[str]] = {}
    for obj in objects:
        if obj.kind == "ServiceAccount" and obj.api_group == "":
            known.setdefault(obj.namespace, set()).add(obj.name)
    for obj in objects:
        named = _account(obj)
        if named is None:
            continue
        path, name = named
        accounts = known.get(obj.namespace, set())
        if name in accounts:
            continue
        if accounts:
            message = (
                f'pod runs as ServiceAccount "{name}", which is not among the {len(accounts)} ServiceAccount(s) of '
                f"namespace {obj.namespace} in the selection"
            )
        else:
            message = (
                f'pod runs as ServiceAccount "{name}", and the selection holds no ServiceAccount of namespace '
                f"{obj.namespace}: it cannot show that the account exists (add the ServiceAccounts to the "
                "objects judged)"
            )
        yield obj, Violation(path, message)


CHECK = Check(
    id="service-account-missing",
    title="ServiceAccount named by a workload is missing",
    summary=(
        "A workload must name a ServiceAccount that exists in its namespace: pods naming an absent one are "
        "refused, and whoever creates it later decides their permissions."
    ),
    remediation="Create the ServiceAccount in the workload's namespace (with the manifests), or name an existing one.",
    category=Category.SERVICE_ACCOUNTS,
    severity=Severity.LOW,
    evaluate_selection=_evaluate,
    references=("https://kubernetes.io/docs/concepts/security/service-accounts/",),
)
