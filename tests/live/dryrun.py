"""Send text to the real API server byte for byte, as a server-side dry-run, and serve test CRDs.

The YAML judges (test_yaml_semantics_live.py, test_duplicate_keys_live.py) compare what the loader
reads with what the server decodes from the very same bytes, so the body must not be re-encoded:
the client's own request path would turn it into JSON first.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pytest_k8ssec.sources.cluster import ClusterSource

GROUP = "k8ssec.test"


def post(
    admin: ClusterSource, path: str, text: str, content_type: str = "application/yaml", validation: str = "Strict"
) -> tuple[int, Any]:
    """POST ``text`` as it is with ``dryRun=All`` (nothing is stored) and ``fieldValidation``
    (Strict, the default here, refuses a key set twice)."""
    client = admin.api_client
    method, url, headers, _, _ = client.param_serialize(
        method="POST",
        resource_path=path,
        query_params=[("dryRun", "All"), ("fieldValidation", validation)],
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    headers["Content-Type"] = content_type
    response = client.rest_client.pool_manager.request(method, url, body=text.encode(), headers=headers, timeout=30)
    return response.status, json.loads(response.data)


def serve_crd(admin: ClusterSource, kind: str, plural: str, spec_schema: dict[str, Any]) -> str:
    """Apply a namespaced CRD ``<plural>.k8ssec.test`` whose ``spec`` follows ``spec_schema``, wait
    until the server serves it, and return the path of its objects in namespace ``default``."""
    admin.apply(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}"},
            "spec": {
                "group": GROUP,
                "scope": "Namespaced",
                "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec_schema}}},
                    }
                ],
            },
        }
    )
    path = f"/apis/{GROUP}/v1/namespaces/default/{plural}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # served once the CRD is Established
        if admin.request("GET", path)[0] == 200:
            return path
        time.sleep(0.2)
    pytest.fail(f"the {kind} CRD was not served within 60 s")
