"""The --k8s-network-report page rendered by a real browser (Debian's chromium, headless).

The test installs chromium when it is missing (apt-get, as .ci/install does); if that is
impossible it fails with the reason: a picture nobody rendered is not a tested picture.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: "db<&>", namespace: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: pg, image: postgres, ports: [{containerPort: 5432, name: pg}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: db}
spec:
  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}}]
    ports: [{port: pg}]
"""


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        steps = (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"])
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.fail(f"chromium is missing and `{' '.join(step)}` could not run: {exc}", pytrace=False)
            if done.returncode != 0:
                pytest.fail(f"chromium is missing and `{' '.join(step)}` failed ({done.returncode}): {done.stderr[-2000:]}", pytrace=False)
        found = shutil.which("chromium")
        if found is None:
            pytest.fail("apt-get installed chromium but no `chromium` is on PATH", pytrace=False)
    return found


def _render(chromium: str, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=" + str(page.parent / "profile"), *extra, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_matrix_renders_in_headless_chromium(pytester: pytest.Pytester, chromium: str) -> None:
    (pytester.mkdir("deploy") / "net.yaml").write_text(MANIFESTS)
    pytester.makepyfile(test_x="def test_model(k8s_network):\n    assert len(k8s_network.pods) == 2\n")
    result = pytester.runpytest("--k8s-manifests", "deploy", "-p", "no:cacheprovider", "--k8s-network-report", "net.html")
    result.assert_outcomes(passed=1)
    page = pytester.path / "net.html"

    dump = _render(chromium, page, "--dump-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    # Port classes: TCP 5432 (pg), TCP 8080 (http), any other TCP port.
    sections = re.findall(r'<section class="port"[^>]*>\s*<h2>([^<]*)</h2>', dom)
    assert sections == ["TCP 5432 (pg)", "TCP 8080 (http)", "TCP any other port (e.g. 1)"]
    refs = ["Deployment/shop/web", "Deployment/db/db&lt;&amp;&gt;", "internet"]
    assert re.findall(r'<th class="col" scope="col">([^<]*)</th>', dom) == refs * 3
    assert re.findall(r'<th class="row" scope="row">([^<]*)</th>', dom) == refs * 3
    cells = re.findall(r'<td class="(allow|deny|uncertain|na)" title="([^"]*)"', dom)
    assert len(cells) == 27
    per_table = [cells[i * 9:(i + 1) * 9] for i in range(3)]
    # 5432: only shop -> db is admitted into db; everything else reaches non-isolated web and the internet.
    # Rows web, db, internet; columns web, db, internet.
    assert [kind for kind, _ in per_table[0]] == ["allow", "allow", "allow", "allow", "deny", "allow", "allow", "deny", "na"]
    assert "allowed by db/db-ingress ingress[0]" in per_table[0][1][1]
    for table in per_table[1:]:
        assert [kind for kind, _ in table] == ["allow", "deny", "allow", "allow", "deny", "allow", "allow", "deny", "na"]
    counts = re.findall(r'<span class="n-allow">(\d+)</span>, denied: <span class="n-deny">(\d+)</span>', dom)
    assert counts == [("6", "2"), ("5", "3"), ("5", "3")]
    assert "<script" not in dom

    shot = pytester.path / "net.png"
    drawn = _render(chromium, page, f"--screenshot={shot}", "--window-size=1000,1200")
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    assert shot.stat().st_size > 10_000, "the screenshot of the matrix is (nearly) empty"
