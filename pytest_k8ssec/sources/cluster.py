"""Live clusters: the only module that imports ``kubernetes``.

One ``ApiClient`` per context, built from the kubeconfig for that context alone (never the client
library's process-wide default configuration, the root of kubetest#133). Objects are read as the
raw JSON the API serves (camelCase, exactly what manifests hold) rather than through the client's
Python models, which would rename fields and cost a conversion per object. Each kind is listed
once per run with ``limit``/``continue`` pages; errors are kept per kind and raised to every test
that needs that kind, so a 403 or a timeout fails those tests and never shrinks the inventory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException
from kubernetes.config import incluster_config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import load_kube_config

from pytest_k8ssec.errors import ClusterError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.cluster_options import ClusterOptions


@dataclass(frozen=True)
class KindInfo:
    """Where the API serves a kind: group, version, plural resource name, and its scope."""

    group: str
    version: str
    resource: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``apps/v1``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None) -> str:
        """The collection URL path, across namespaces or in one."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None and self.namespaced:
            return f"{base}/namespaces/{urllib.parse.quote(namespace, safe='')}/{self.resource}"
        return f"{base}/{self.resource}"


# The kinds a security suite reads. Secrets are deliberately absent: listing them reads every
# secret value into memory, which a read-only test run has no business doing.
KINDS: Final[dict[str, KindInfo]] = {
    "Namespace": KindInfo("", "v1", "namespaces", False),
    "Pod": KindInfo("", "v1", "pods", True),
    "PodTemplate": KindInfo("", "v1", "podtemplates", True),
    "ReplicationController": KindInfo("", "v1", "replicationcontrollers", True),
    "Service": KindInfo("", "v1", "services", True),
    "ServiceAccount": KindInfo("", "v1", "serviceaccounts", True),
    "ConfigMap": KindInfo("", "v1", "configmaps", True),
    "Deployment": KindInfo("apps", "v1", "deployments", True),
    "StatefulSet": KindInfo("apps", "v1", "statefulsets", True),
    "DaemonSet": KindInfo("apps", "v1", "daemonsets", True),
    "ReplicaSet": KindInfo("apps", "v1", "replicasets", True),
    "Job": KindInfo("batch", "v1", "jobs", True),
    "CronJob": KindInfo("batch", "v1", "cronjobs", True),
    "NetworkPolicy": KindInfo("networking.k8s.io", "v1", "networkpolicies", True),
    "Ingress": KindInfo("networking.k8s.io", "v1", "ingresses", True),
    "Role": KindInfo("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": KindInfo("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": KindInfo("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": KindInfo("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
}

IN_CLUSTER: Final = "in-cluster"


class ClusterSource:
    """One cluster context: an isolated API client, a per-kind cache of listed objects, a request count."""

    def __init__(self, context: str, api_client: k8s_client.ApiClient, options: ClusterOptions) -> None:
        self.context = context
        self.api_client = api_client
        self.options = options
        self.requests = 0
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[K8sObject, ...] | ClusterError] = {}
        self._username: str | None = None
        self._discovery: dict[str, dict[str, KindInfo]] = {}

    # --- construction ---------------------------------------------------------------------------

    @classmethod
    def from_kubeconfig(cls, context: str, options: ClusterOptions) -> ClusterSource:
        """A source for ``context`` of the kubeconfig (``options.kubeconfig``, else $KUBECONFIG,
        files merged as kubectl merges them, else ~/.kube/config).

        Raises:
            ClusterError: the kubeconfig or the context cannot be loaded.
        """
        configuration = k8s_client.Configuration()
        # The client reads $KUBECONFIG once, at import; read it now so a changed environment counts.
        where = options.kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        try:
            # Into our own Configuration: the library's process-wide default stays untouched.
            load_kube_config(
                config_file=where, context=context, client_configuration=configuration, persist_config=False
            )
        except (ConfigException, OSError, TypeError, ValueError) as exc:
            raise ClusterError(f"context {context!r}: cannot load it from kubeconfig {where}: {exc}") from None
        return cls(context, _client(configuration), options)

    @classmethod
    def in_cluster(
        cls,
        options: ClusterOptions,
        *,
        token_file: str = incluster_config.SERVICE_TOKEN_FILENAME,
        ca_file: str = incluster_config.SERVICE_CERT_FILENAME,
        environ: Mapping[str, str] | None = None,
    ) -> ClusterSource:
        """A source for the cluster this process runs in: the pod's service-account token and CA,
        and the ``KUBERNETES_SERVICE_HOST``/``PORT`` the kubelet sets (paths overridable for tests)."""
        configuration = k8s_client.Configuration()
        try:
            loader = incluster_config.InClusterConfigLoader(
                token_filename=token_file,
                cert_filename=ca_file,
                environ=dict(environ if environ is not None else os.environ),
            )
            loader.load_and_set(configuration)
        except ConfigException as exc:
            raise ClusterError(f"in-cluster configuration is not available: {exc}") from None
        return cls(IN_CLUSTER, _client(configuration), options)

    @property
    def server(self) -> str:
        """The API server URL."""
        return str(self.api_client.configuration.host)

    # --- requests -------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """One API request; returns (HTTP status, decoded JSON body). Never raises for an HTTP status.

        A body that is not JSON comes back as a ``NotJson`` (never as a dict that could pass
        for an answer). 429, and 5xx to a GET, are retried ``RETRIES`` times with backoff
        (``Retry-After`` when the server gives one, at most ``MAX_RETRY_DELAY_S``).

        Raises:
            ClusterError: the server cannot be reached or does not answer in time.
        """
        headers = {"Accept": "application/json"}
        payload: bytes | None = None
        if body is not None:
            headers["Content-Type"] = content_type
            # JSON is valid YAML: one serialization serves an apply patch too.
            payload = json.dumps(body).encode()
        try:
            _, url, headers, _, _ = self.api_client.param_serialize(
                method=method,
                resource_path=path,
                query_params=list(query),
                header_params=headers,
                auth_settings=["BearerToken"],
            )
        except (ApiException, ConfigException) as exc:  # a credential plugin or token refresh failed
            raise ClusterError(f"context {self.context!r}: cannot get credentials: {exc}") from None
        try:
            for attempt in range(RETRIES + 1):
                status, data, answer_headers = self._send(method, url, headers, payload, path)
                retriable = status == 429 or (status in _RETRIED_5XX and method == "GET")
                if not retriable or attempt == RETRIES:
                    break
                time.sleep(_retry_delay(answer_headers.get("Retry-After"), attempt))
        except ClusterError as exc:
            # `--showlocals` prints this frame: the Authorization header (a bearer token) and the
            # body (a Secret being applied) must be gone before the error travels on.
            del headers, payload, body
            raise exc from None
        return status, _decode(data, answer_headers.get("Content-Type"))

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], payload: bytes | None, path: str
    ) -> tuple[int, bytes, Mapping[str, str]]:
        with self._lock:
            self.requests += 1
        timeout = self.options.timeout
        # urllib3's read timeout bounds each socket read, so a server that sends one byte a
        # second never trips it; the deadline closes the connection when the whole request
        # (connect, headers, body) has taken longer than the timeout.
        deadline = _Deadline(timeout)
        response = None
        try:
            with deadline:
                response = self.api_client.rest_client.pool_manager.request(
                    method,
                    url,
                    body=payload,
                    headers=dict(headers),
                    timeout=urllib3.Timeout(connect=timeout, read=timeout),
                    retries=_CONNECT_RETRY,
                    preload_content=False,
                )
                data = response.read()
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            del headers, payload  # `--showlocals` prints this frame: no bearer token, no Secret body
            if deadline.fired:
                raise ClusterError(
                    f"context {self.context!r}: {method} {self.server}{path}: no complete answer within "
                    f"{timeout:g} s (the timeout is --k8s-request-timeout, a bound on the whole request)"
                ) from None
            raise ClusterError(
                f"context {self.context!r}: cannot reach {self.server} within {timeout:g} s: "
                f"{_cause(exc)} ({method} {path}; the timeout is --k8s-request-timeout)"
            ) from None
        finally:
            if response is not None:
                if deadline.fired:
                    response.close()
                response.release_conn()
        if deadline.fired:
            # The read ended only because the deadline closed the connection: what arrived may be cut short.
            del headers, payload
            raise ClusterError(
                f"context {self.context!r}: {method} {self.server}{path}: no complete answer within {timeout:g} s "
                "(the timeout is --k8s-request-timeout, a bound on the whole request)"
            )
        return response.status, data, response.headers

    def whoami(self) -> str:
        """The authenticated user name (SelfSubjectReview), or ``unknown user``."""
        if self._username is None:
            try:
                status, body = self.request(
                    "POST",
                    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                    body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                )
            except ClusterError:
                status, body = 0, None
            # A refusal (403, or 404 before 1.28) is a Status whose "status" is the string "Failure".
            user = _dig(body, "status", "userInfo", "username")
            self._username = user if status == 201 and isinstance(user, str) and user else "unknown user"
        return self._username

    def server_version(self) -> str:
        """``gitVersion`` from /version."""
        status, body = self.request("GET", "/version")
        if status != 200 or not isinstance(body, dict):
            raise self._error(status, body, "get", "/version", None, None)
        return str(body.get("gitVersion", ""))

    def can_i(
        self,
        verb: str,
        resource: str,
        namespace: str | None = None,
        group: str = "",
        subresource: str = "",
        name: str = "",
    ) -> bool:
        """Whether this context's user may do ``verb`` on ``resource`` (SelfSubjectAccessReview)."""
        attributes: dict[str, str] = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        if name:
            attributes["name"] = name
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        status, body = self.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review)
        if status != 201 or not isinstance(body, dict):
            raise self._error(status, body, "create", "selfsubjectaccessreviews", "authorization.k8s.io", None)
        return bool(body.get("status", {}).get("allowed"))

    def subject_access_review(self, user: str, groups: Sequence[str], attrs: Mapping[str, str]) -> dict[str, Any]:
        """The API server's own authorization decision for ``user`` in ``groups`` (SubjectAccessReview).

        ``attrs`` are resourceAttributes (verb, group, resource, subresource, namespace, name), or
        nonResourceAttributes when they hold a ``path``. The review adds no implicit group: ``groups``
        is exactly what the authorizers see. Returns the review's status (``allowed``, ``denied``,
        ``reason``, ``evaluationError``). Nothing is stored.

        Raises:
            ClusterError: the review was refused (it needs ``create`` on
                subjectaccessreviews.authorization.k8s.io) or the server could not be reached.
        """
        spec: dict[str, Any] = {"groups": list(groups)}
        if user:
            spec["user"] = user
        if "path" in attrs:
            spec["nonResourceAttributes"] = {"path": attrs["path"], "verb": attrs.get("verb", "")}
        else:
            spec["resourceAttributes"] = {key: value for key, value in attrs.items() if value or key == "group"}
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        status, body = self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=review)
        if status != 201 or not isinstance(body, dict):
            raise self._error(status, body, "create", "subjectaccessreviews", "authorization.k8s.io", None)
        result = body.get("status")
        return dict(result) if isinstance(result, dict) else {"allowed": False}

    # --- server-side dry-run (never persisted: safe on any cluster) ----------------------------

    def dry_run_create(self, obj: Mapping[str, Any], namespace: str) -> tuple[int, Any]:
        """POST ``obj`` with ``dryRun=All``: admission runs in full, nothing is stored.

        Returns (HTTP status, body): 201 admitted; 403/400 with the admission's message denied;
        422 the object itself is invalid.
        """
        info = self.resource_of(str(obj.get("apiVersion")), str(obj.get("kind")))
        metadata = {**(obj.get("metadata") or {}), "namespace": namespace} if info.namespaced else obj.get("metadata")
        return self.request(
            "POST",
            info.path(namespace if info.namespaced else None),
            [("dryRun", "All")],
            body={**obj, "metadata": metadata},
        )

    # --- namespaces this run owns ---------------------------------------------------------------

    def create_namespace(self, name: str, labels: Mapping[str, str]) -> dict[str, Any]:
        """Create a namespace (the only object the plugin ever creates outside dry-run)."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}
        status, answer = self.request("POST", "/api/v1/namespaces", body=body)
        if status != 201 or not isinstance(answer, dict):
            raise self._error(status, answer, "create", "namespaces", "", None)
        return answer

    def delete_namespace(self, name: str, owner_labels: Mapping[str, str]) -> bool:
        """Delete a namespace if, and only if, it carries ``owner_labels`` (this run's labels).

        Returns False when it is already gone; raises ClusterError when it belongs to someone else.
        """
        status, current = self.request("GET", f"/api/v1/namespaces/{urllib.parse.quote(name, safe='')}")
        if status == 404:
            return False
        if status != 200 or not isinstance(current, dict):
            raise self._error(status, current, "get", "namespaces", "", None)
        labels = current.get("metadata", {}).get("labels") or {}
        if any(labels.get(key) != value for key, value in owner_labels.items()):
            raise ClusterError(
                f"context {self.context!r}: refusing to delete namespace {name!r}: it was not created by this run"
            )
        status, answer = self.request("DELETE", f"/api/v1/namespaces/{urllib.parse.quote(name, safe='')}")
        if status not in (200, 202, 404):
            raise self._error(status, answer, "delete", "namespaces", "", None)
        return status != 404

    # --- server-side apply (only ever aimed at a cluster the run owns) --------------------------

    def resource_of(self, api_version: str, kind: str) -> KindInfo:
        """Where the server serves ``kind`` (API discovery, cached per group version).

        Raises:
            ClusterError: the server does not serve that kind.
        """
        cache = self._discovery.get(api_version)
        if cache is None:
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            status, body = self.request("GET", path)
            cache = {}
            if status == 200 and isinstance(body, dict):
                group, _, version = api_version.rpartition("/")
                for resource in body.get("resources", []):
                    if "/" in resource.get("name", ""):
                        continue  # subresources
                    cache[resource["kind"]] = KindInfo(
                        group, version, resource["name"], bool(resource.get("namespaced"))
                    )
            self._discovery[api_version] = cache
        info = cache.get(kind)
        if info is None:
            self._discovery.pop(api_version, None)  # a CRD may be established later: ask again then
            raise ClusterError(f"context {self.context!r}: the server does not serve {kind} in {api_version}")
        return info

    def apply(self, obj: Mapping[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Server-side apply ``obj`` (field manager ``pytest-k8ssec``, conflicts forced)."""
        info = self.resource_of(str(obj.get("apiVersion")), str(obj.get("kind")))
        metadata = dict(obj.get("metadata") or {})
        name = str(metadata.get("name"))
        if info.namespaced:
            namespace = str(metadata.get("namespace") or namespace or "default")
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        body = {**obj, "metadata": metadata}
        path = f"{info.path(namespace if info.namespaced else None)}/{urllib.parse.quote(name, safe='')}"
        try:
            status, answer = self.request(
                "PATCH",
                path,
                [("fieldManager", "pytest-k8ssec"), ("force", "true")],
                body,
                content_type="application/apply-patch+yaml",
            )
        except ClusterError:
            del obj, body  # the object's values: --showlocals must not print them with the error
            raise
        if status not in (200, 201) or not isinstance(answer, dict):
            message = answer.get("message") if isinstance(answer, dict) else answer
            kind = obj.get("kind")
            del obj, body  # the object's values: --showlocals must not print them with the error
            raise ClusterError(f"context {self.context!r}: applying {kind} {name} failed with HTTP {status}: {message}")
        return answer

    # --- listing --------------------------------------------------------------------------------

    def objects(self, kind: str) -> tuple[K8sObject, ...]:
        """Every object of ``kind`` the namespace filters keep, listed once per run.

        Raises:
            ClusterError: the list was refused (the message spells out the missing permission) or
                the cluster was unreachable; the same error is raised to every later caller.
        """
        with self._lock:
            cached = self._cache.get(kind)
        if cached is None:
            try:
                cached = self._list(kind)
            except ClusterError as exc:
                cached = exc
            with self._lock:
                self._cache[kind] = cached
        if isinstance(cached, ClusterError):
            # A fresh exception each time: re-raising one object would append every caller's
            # frames to its traceback (N tests printed N(N+1)/2 frames).
            raise ClusterError(str(cached))
        return cached

    def _list(self, kind: str) -> tuple[K8sObject, ...]:
        info = KINDS.get(kind)
        if info is None:
            raise ClusterError(
                f"context {self.context!r}: listing {kind} is not supported (known kinds: {', '.join(KINDS)})"
            )
        scopes: Iterable[str | None] = (
            self.options.namespaces if (info.namespaced and self.options.namespaces) else (None,)
        )
        provenance = Provenance.of_cluster(self.context)
        excluded = set(self.options.exclude_namespaces)
        found: list[K8sObject] = []
        for namespace in scopes:
            for item in self._pages(info, namespace):
                metadata = _dig(item, "metadata")
                if not isinstance(metadata, dict):
                    # Skipping it would make the object vanish from every test.
                    raise ClusterError(f"context {self.context!r}: listing {info.resource}: an item without metadata")
                # managedFields is bookkeeping of the server, not part of the object's meaning.
                metadata.pop("managedFields", None)
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", info.api_version)
                if kind == "Namespace":
                    name = metadata.get("name")
                    if (self.options.namespaces and name not in self.options.namespaces) or name in excluded:
                        continue
                elif metadata.get("namespace") in excluded:
                    continue
                found.append(K8sObject(item, provenance))
        return tuple(found)

    def _pages(self, info: KindInfo, namespace: str | None) -> Iterable[Any]:
        path = info.path(namespace)
        list_kind = f"{_kind_of(info)}List"
        where = f"{self.server}{path}"
        token = ""
        tokens: set[str] = set()
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = [("limit", str(self.options.page_size))]
            if token:
                query.append(("continue", token))
            status, body = self.request("GET", path, query)
            if status != 200:
                raise self._error(status, body, "list", info.resource, info.group, namespace, url=where)
            items = _dig(body, "items")
            if _dig(body, "kind") != list_kind or not isinstance(items, list):
                # An HTML page or a cut-off answer read as "no items" would hide every object.
                found = (
                    body if isinstance(body, NotJson) else f"kind {_dig(body, 'kind')!r}, items {type(items).__name__}"
                )
                raise ClusterError(
                    f"context {self.context!r}: GET {where} answered HTTP 200 with {found}, not a {list_kind} "
                    "with a list of items; nothing of that kind can be judged"
                )
            after = _dig(body, "metadata", "continue") or ""
            if not isinstance(after, str):
                raise ClusterError(
                    f"context {self.context!r}: listing {info.resource} ({where}): the continue token is not a string"
                )
            if after and after in tokens | {token}:
                raise ClusterError(
                    f"context {self.context!r}: listing {info.resource} ({where}): the server sent the same continue "
                    "token twice; paging would never end"
                )
            for item in items:
                key = _identity(item)
                if key in seen:
                    raise ClusterError(
                        f"context {self.context!r}: listing {info.resource} ({where}) returned {key} twice "
                        "across pages: the server is repeating itself, the list cannot be trusted"
                    )
                seen.add(key)
                yield item
            if not after:
                return
            tokens.add(after)
            token = after
        raise ClusterError(
            f"context {self.context!r}: listing {info.resource} ({where}) did not end after {MAX_PAGES} pages of "
            f"{self.options.page_size} (--k8s-page-size)"
        )

    def _error(
        self,
        status: int,
        body: object,
        verb: str,
        resource: str,
        group: str | None,
        namespace: str | None,
        url: str = "",
    ) -> ClusterError:
        message = _dig(body, "message")
        if url:
            # After the retries of request(): a 429 or 5xx that is still there is the answer.
            scope_note = f" (GET {url}{', after ' + str(RETRIES + 1) + ' attempts' if status == 429 or status in _RETRIED_5XX else ''})"
        else:
            scope_note = ""
        said = message if isinstance(message, str) and message else str(body) if body is not None else status
        scope = f'in namespace "{namespace}"' if namespace else "at the cluster scope"
        if status == 403:
            user = self.whoami()
            if user == "unknown user" and isinstance(message, str):
                # The identity lookup itself may be refused; the server's message names the user.
                named = re.search(r'User "([^"]*)"', message)
                user = named.group(1) if named else user
            return ClusterError(
                f"context {self.context!r}: forbidden: {user} cannot {verb} {resource} "
                f'(API group "{group or ""}") {scope}; grant it with a Role/ClusterRole allowing '
                f"verb {verb!r} on {resource!r}. Server said: {said}{scope_note}"
            )
        if status == 401:
            return ClusterError(
                f"context {self.context!r}: unauthorized (401): {self.server} did not accept the credentials "
                f"(expired or revoked?): {said}{scope_note}"
            )
        return ClusterError(
            f"context {self.context!r}: {verb} {resource} {scope} failed with HTTP {status}{scope_note}: {said}"
        )


def _kind_of(info: KindInfo) -> str:
    return next(kind for kind, known in KINDS.items() if known is info)


def _identity(item: object) -> str:
    uid = _dig(item, "metadata", "uid")
    if isinstance(uid, str) and uid:
        return f"uid {uid}"
    return f"{_dig(item, 'metadata', 'namespace')}/{_dig(item, 'metadata', 'name')}"


def _client(configuration: k8s_client.Configuration) -> k8s_client.ApiClient:
    # For callers of .api_client (custom calls): one retry for connection errors.
    configuration.retries = 1
    client = k8s_client.ApiClient(configuration)
    manager = client.rest_client.pool_manager
    if isinstance(manager, urllib3.PoolManager) and set(manager.pool_classes_by_scheme) == {"http", "https"}:
        # Our connection classes let the deadline find the socket of the request in flight.
        # (A SOCKS proxy brings its own; there the timeout bounds each read, not the whole request.)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return client


# Connection errors are retried once; everything else is ours to decide (status retries above).
_CONNECT_RETRY: Final = urllib3.Retry(
    total=1,
    connect=1,
    read=0,
    status=0,
    other=0,
    redirect=0,
    raise_on_redirect=False,
    raise_on_status=False,
    respect_retry_after_header=False,
)
RETRIES: Final = 2
MAX_RETRY_DELAY_S: Final = 5.0
_RETRIED_5XX: Final = frozenset({500, 502, 503, 504})
# Pages of one list: beyond this the server is taken to be looping (500 objects a page: 5 million).
MAX_PAGES: Final = 10_000


def _retry_delay(retry_after: str | None, attempt: int) -> float:
    try:
        asked = float(retry_after) if retry_after is not None else None
    except ValueError:
        asked = None  # an HTTP date: rare from an API server, and backoff is as good
    delay = asked if asked is not None and asked >= 0 else 0.5 * 2**attempt
    return min(delay, MAX_RETRY_DELAY_S)


_IN_FLIGHT = threading.local()


class _Deadline:
    """Bounds one request as a whole: when the timeout passes, the socket in flight is shut down."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._done = False
        self._connection: Any = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _IN_FLIGHT.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
        _IN_FLIGHT.deadline = None

    def attach(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection
            late = self.fired
        if late:
            self._shutdown(connection)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            connection = self._connection
        if connection is not None:
            self._shutdown(connection)

    @staticmethod
    def _shutdown(connection: Any) -> None:
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _attach(connection: Any) -> None:
    deadline = getattr(_IN_FLIGHT, "deadline", None)
    if deadline is not None:
        deadline.attach(connection)


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


@dataclass(frozen=True)
class NotJson:
    """A body that is not JSON: what it was, never its content (it may hold anything)."""

    content_type: str
    size: int
    reason: str

    def __str__(self) -> str:
        return f"a body that is not JSON ({self.content_type or 'no Content-Type'}, {self.size} bytes: {self.reason})"


def _decode(data: bytes | None, content_type: str | None = None) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:  # UnicodeDecodeError included
        reason = f"{exc.msg} at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        return NotJson(content_type or "", len(data), reason)


def _dig(value: object, *keys: str) -> object:
    """``value[k1][k2]...`` where every level is a dict, else None (bodies are never trusted to have a shape)."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    return text if len(text) < 300 else text[:297] + "..."
