"""Live loading: pytest-k8ssec against `kubectl get pods -A -o json` on the same real API server.

Starts the local control plane (printing its start time), creates N Pods (default 5,000; they stay
Pending: no scheduler, no kubelet), then measures, medians of --repeat runs, each with a fresh
client and no cache:

- kubectl: `kubectl get pods -A -o json` (the floor: the same server, pages of 500, JSON out);
- ours: the Pods through the plugin's source (paginated LIST, raw JSON, K8sObject per pod), and
  the same plus every built-in check on them;
- the API requests of whole pytest runs with 1 test and with one test per Pod: the number must
  not grow with the number of tests (objects are listed once per kind per run).

Target: ours <= 3x kubectl. Figures only; nothing here passes or fails.

    python benchmarks/bench_live.py [--pods 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pytest_k8ssec.checks import load_builtin_checks  # noqa: E402
from pytest_k8ssec.engine import evaluate  # noqa: E402
from pytest_k8ssec.sources.cluster import ClusterSource  # noqa: E402
from pytest_k8ssec.sources.cluster_options import ClusterOptions  # noqa: E402
from pytest_k8ssec.sources.local_control_plane import Binaries, LocalControlPlane  # noqa: E402

NAMESPACES = 10


def _pod(index: int) -> dict[str, object]:
    privileged = index % 3 == 0  # about a third with a problem, as in the manifest corpus
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"pod-{index:05d}",
            "namespace": f"bench-{index % NAMESPACES}",
            "labels": {"app": f"a{index % 50}"},
        },
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "app",
                    "image": f"registry.example.com/app-{index % 50}:1.{index % 7}",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                    "securityContext": {"privileged": privileged, "allowPrivilegeEscalation": privileged},
                }
            ],
        },
    }


def _source(plane: LocalControlPlane) -> ClusterSource:
    return ClusterSource.from_kubeconfig("admin", ClusterOptions(kubeconfig=str(plane.kubeconfig)))


def _populate(plane: LocalControlPlane, pods: int) -> float:
    admin = _source(plane)
    for n in range(NAMESPACES):
        admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{n}"}})
    for n in range(NAMESPACES):  # pods need their namespace's default ServiceAccount
        while admin.request("GET", f"/api/v1/namespaces/bench-{n}/serviceaccounts/default")[0] != 200:
            time.sleep(0.1)
    start = time.perf_counter()

    def create(index: int) -> None:
        body = _pod(index)
        status, answer = admin.request("POST", f"/api/v1/namespaces/{body['metadata']['namespace']}/pods", body=body)  # type: ignore[index]
        if status != 201:
            raise RuntimeError(f"creating pod {index}: HTTP {status}: {answer}")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(pods)))
    return time.perf_counter() - start


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    kubectl = shutil.which("kubectl")
    build = subprocess.run(["bash", str(REPO / "controlplane" / "build.sh")], capture_output=True, text=True)
    print(
        "control plane build:",
        " | ".join(line for line in build.stdout.splitlines() if line.startswith("controlplane:")),
    )
    last = REPO / "controlplane" / ".cache" / "last-build.txt"
    print(
        "control plane last real build:",
        last.read_text().strip() if last.exists() else "not recorded (built before build.sh kept the figure)",
    )
    started = time.perf_counter()
    with LocalControlPlane.start(Binaries.find()) as plane:
        start_s = time.perf_counter() - started
        print(
            f"control plane start: {start_s:.2f} s to ready (etcd {plane.timings['etcd']:.2f} s, "
            f"kube-apiserver {plane.timings['kube-apiserver']:.2f} s, aggregated roles and default SA {plane.timings['ready']:.2f} s)"
        )
        created = _populate(plane, args.pods)
        print(f"created {args.pods} pods in {created:.1f} s ({args.pods / created:.0f}/s, 8 client threads)")

        kubectl_s = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = subprocess.run(
                [
                    kubectl,
                    "--kubeconfig",
                    str(plane.kubeconfig),
                    "--context",
                    "admin",
                    "get",
                    "pods",
                    "-A",
                    "-o",
                    "json",
                ],
                capture_output=True,
                check=True,
            ).stdout
            kubectl_s.append(time.perf_counter() - t)
        kubectl_count = out.count(b'"kind": "Pod"')
        ours_s, checks_s, requests = [], [], 0
        checks = load_builtin_checks()
        for _ in range(args.repeat):
            source = _source(plane)
            t = time.perf_counter()
            pods = source.objects("Pod")
            ours_s.append(time.perf_counter() - t)
            requests = source.requests
            t = time.perf_counter()
            findings = evaluate(checks, pods)
            checks_s.append(time.perf_counter() - t + ours_s[-1])
        k, o, c = _median(kubectl_s), _median(ours_s), _median(checks_s)
        print(f"\n{'':24} {'seconds':>8}  {'ratio':>6}")
        print(f"{'kubectl get pods -A':24} {k:8.2f}  {1:6.2f}   ({kubectl_count} pods)")
        print(f"{'ours: load':24} {o:8.2f}  {o / k:6.2f}   ({len(pods)} pods, {requests} API requests, page size 500)")
        print(f"{'ours: load + all checks':24} {c:8.2f}  {c / k:6.2f}   ({len(findings)} findings)")
        print("target: ours <= 3x kubectl")

        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "test_one.py").write_text("def test_all(k8s_workloads):\n    assert k8s_workloads\n")
            Path(tmp, "test_each.py").write_text(
                "def test_each(k8s_workload):\n    assert k8s_workload.kind == 'Pod'\n"
            )
            print()
            for name in ("test_one.py", "test_each.py"):
                t = time.perf_counter()
                run = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        "--tb=no",
                        name,
                        f"--k8ssec-kubeconfig={plane.kubeconfig}",
                        "--k8s-context",
                        "admin",
                    ],
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                )
                wall = time.perf_counter() - t
                found = re.search(r"target admin: (\d+) API requests", run.stdout)
                tail = run.stdout.strip().splitlines()[-1]
                print(f"pytest {name:14} {wall:6.2f} s  API requests: {found.group(1) if found else '?'}  ({tail})")


if __name__ == "__main__":
    main()
