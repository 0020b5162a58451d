"""The --k8s-network-report page rendered by a real browser (Debian's chromium, headless).

The test installs chromium when it is missing (apt-get, as .ci/install does); if that is
impossible it fails with the reason: a picture nobody rendered is not a tested picture.
"""

from __future__ import annotations

import json
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
                done = subprocess.run(
                    step,
                    capture_output=True,
                    text=True,
                    timeout=900,
                    env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.fail(f"chromium is missing and `{' '.join(step)}` could not run: {exc}", pytrace=False)
            if done.returncode != 0:
                pytest.fail(
                    f"chromium is missing and `{' '.join(step)}` failed ({done.returncode}): {done.stderr[-2000:]}",
                    pytrace=False,
                )
        found = shutil.which("chromium")
        if found is None:
            pytest.fail("apt-get installed chromium but no `chromium` is on PATH", pytrace=False)
    return found


def _render(chromium: str, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--user-data-dir=" + str(page.parent / "profile"),
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_matrix_renders_in_headless_chromium(pytester: pytest.Pytester, chromium: str) -> None:
    (pytester.mkdir("deploy") / "net.yaml").write_text(MANIFESTS)
    pytester.makepyfile(test_x="def test_model(k8s_network):\n    assert len(k8s_network.pods) == 2\n")
    result = pytester.runpytest("--k8s-manifests=deploy", "-p", "no:cacheprovider", "--k8s-network-report=net.html")
    result.assert_outcomes(passed=1)
    page = pytester.path / "net.html"

    dump = _render(chromium, page, "--dump-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    # Port classes: TCP 5432 (pg), TCP 8080 (http), any other TCP port; the last two have the same
    # verdicts and reasons in every cell, so they share one matrix.
    sections = re.findall(r'<section class="port"[^>]*>\s*<h2>([^<]*)</h2>', dom)
    assert sections == ["TCP 5432 (pg)", "TCP 8080 (http), TCP any other port (e.g. 1)"]
    refs = ["Deployment/shop/web", "Deployment/db/db&lt;&amp;&gt;", "internet"]
    # The overview and the two matrices.
    assert re.findall(r'<th class="col" scope="col" title="[^"]*"><span>([^<]*)</span></th>', dom) == refs * 3
    assert re.findall(r'<th class="row" scope="row">([^<]*)</th>', dom) == refs * 3
    overview = re.findall(
        r'<td class="(allow|deny|partial|uncertain|na)"[^>]*>([^<]*)</td>', dom.split('<section class="port"')[0]
    )
    # Rows web, db, internet; columns web, db, internet: only shop reaches db, and only on 5432.
    assert overview == [
        ("allow", "✓ all"),
        ("partial", "✓ TCP 5432"),
        ("allow", "✓ all"),
        ("allow", "✓ all"),
        ("deny", "✗"),
        ("allow", "✓ all"),
        ("allow", "✓ all"),
        ("deny", "✗"),
        ("na", "–"),
    ]
    cells = re.findall(
        r'<td class="(allow|deny|uncertain|na)" title="([^"]*)">', dom.split('<section class="port"', 1)[1]
    )
    assert len(cells) == 18
    per_table = [cells[i * 9 : (i + 1) * 9] for i in range(2)]
    # 5432: only shop -> db is admitted into db; everything else reaches non-isolated web and the internet.
    assert [kind for kind, _ in per_table[0]] == [
        "allow",
        "allow",
        "allow",
        "allow",
        "deny",
        "allow",
        "allow",
        "deny",
        "na",
    ]
    assert "allowed by db/db-ingress ingress[0]" in per_table[0][1][1]
    assert [kind for kind, _ in per_table[1]] == [
        "allow",
        "deny",
        "allow",
        "allow",
        "deny",
        "allow",
        "allow",
        "deny",
        "na",
    ]
    counts = re.findall(r'<span class="n-allow">(\d+)</span>, denied: <span class="n-deny">(\d+)</span>', dom)
    assert counts == [("6", "2"), ("5", "3")]
    assert "<script" not in dom

    shot = pytester.path / "net.png"
    drawn = _render(chromium, page, f"--screenshot={shot}", "--window-size=1000,1200")
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    assert shot.stat().st_size > 10_000, "the screenshot of the matrix is (nearly) empty"


# --- a real-world set: Argo CD's components, ports and per-component policies (issue 11 item 8) -----

ARGOCD = {
    "argocd-application-controller": [(8082, "metrics")],
    "argocd-applicationset-controller": [(7000, "webhook"), (8080, "metrics")],
    "argocd-dex-server": [(5556, "http"), (5557, "grpc"), (5558, "metrics")],
    "argocd-notifications-controller": [(9001, "metrics")],
    "argocd-redis": [(6379, "redis")],
    "argocd-repo-server": [(8081, "server"), (8084, "metrics")],
    "argocd-server": [(8080, "server"), (8083, "metrics")],
    "argocd-commit-server": [(8086, "server"), (8087, "metrics")],
}
REDIS_CLIENTS = ("argocd-server", "argocd-repo-server", "argocd-application-controller")


def _argocd() -> str:
    docs = []
    for name, ports in ARGOCD.items():
        container_ports = ", ".join(f"{{containerPort: {p}, name: {n}}}" for p, n in ports)
        docs.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: argocd}}\nspec:\n"
            f"  selector: {{matchLabels: {{app.kubernetes.io/name: {name}}}}}\n  template:\n"
            f"    metadata: {{labels: {{app.kubernetes.io/name: {name}}}}}\n"
            f"    spec: {{containers: [{{name: {name}, image: quay.io/argoproj/argocd:v3.1.0, ports: [{container_ports}]}}]}}\n"
        )
        peers = ", ".join(f"{{podSelector: {{matchLabels: {{app.kubernetes.io/name: {c}}}}}}}" for c in REDIS_CLIENTS)
        rule = (
            f"[{{from: [{peers}], ports: [{{port: 6379, protocol: TCP}}]}}]"
            if name == "argocd-redis"
            else "[{ports: [" + ", ".join(f"{{port: {p}, protocol: TCP}}" for p, _ in ports) + "]}]"
        )
        docs.append(
            f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}-network-policy, namespace: argocd}}\n"
            f"spec: {{podSelector: {{matchLabels: {{app.kubernetes.io/name: {name}}}}}, policyTypes: [Ingress], ingress: {rule}}}\n"
        )
    return "---\n".join(docs)


# Run in the page, only for this test (the report itself carries no script): for every matrix,
# the bottom of the text above it, its top, and the highest visible pixel of its column headers
# (text rectangles, cut by the element that clips them, if any).
MEASURE = """<script>
window.addEventListener("load", () => {
  const out = [];
  for (const table of document.querySelectorAll("table.matrix, table.overview")) {
    let top = Infinity;
    for (const th of table.querySelectorAll("th.col")) {
      const clipper = [th, ...th.querySelectorAll("*")].find(el => getComputedStyle(el).overflow === "hidden");
      const clip = clipper ? clipper.getBoundingClientRect().top : -Infinity;
      const range = document.createRange(); range.selectNodeContents(th);
      for (const r of range.getClientRects()) top = Math.min(top, Math.max(r.top, clip));
    }
    out.push([table.previousElementSibling.getBoundingClientRect().bottom, table.getBoundingClientRect().top, top]);
  }
  const pre = document.createElement("pre"); pre.id = "boxes"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def test_a_real_world_page_keeps_headers_in_the_table_and_groups_ports(
    pytester: pytest.Pytester, chromium: str
) -> None:
    (pytester.mkdir("deploy") / "argocd.yaml").write_text(_argocd())
    pytester.makepyfile(test_x="def test_model(k8s_network):\n    assert len(k8s_network.pods) == 8\n")
    result = pytester.runpytest("--k8s-manifests=deploy", "-p", "no:cacheprovider", "--k8s-network-report=net.html")
    result.assert_outcomes(passed=1)
    page = (pytester.path / "net.html").read_text()
    assert "<script" not in page
    measured = pytester.path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"))
    dump = _render(chromium, measured, "--dump-dom", "--window-size=1400,1000")
    assert dump.returncode == 0, dump.stderr[-2000:]
    boxes = json.loads(re.search(r'<pre id="boxes">([^<]*)</pre>', dump.stdout).group(1))
    # Fewer sections than ports: 14 port classes, 10 groups of identical verdicts, one overview.
    sections = re.findall(r'<section class="port"[^>]*>\s*<h2>([^<]*)</h2>', dump.stdout)
    assert "TCP 5556 (http), TCP 5557 (grpc), TCP 5558 (metrics)" in sections
    assert len(sections) == 10 and page.count('<table class="overview">') == 1
    assert len(boxes) == 11
    for above_bottom, table_top, headers_top in boxes:
        # The headers stay in the table's own space: below its top edge, so below the text above.
        assert headers_top >= table_top - 0.5 and table_top >= above_bottom, (above_bottom, table_top, headers_top)
