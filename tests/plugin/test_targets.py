"""Targets as a user expects them (pytester): several targets, namespaces, duplicates, rootdir, xdist."""

from __future__ import annotations

import subprocess
import sys

import pytest

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}{ns}}}
spec:
  containers: [{{name: app, image: registry.example.com/app:1.0}}]
"""

# A context whose server refuses every connection at once: a second target that never answers.
NOWHERE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: someone, user: {token: not-a-real-token}}]
contexts: [{name: nowhere, context: {cluster: nowhere, user: someone}}]
current-context: nowhere
"""


def _pod(name: str, namespace: str | None = None) -> str:
    return POD.format(name=name, ns=f", namespace: {namespace}" if namespace else "")


@pytest.fixture
def two_targets(pytester: pytest.Pytester) -> list[str]:
    """Arguments for two targets: the manifests (one Pod) and a context nobody answers."""
    (pytester.path / "deploy.yaml").write_text(_pod("web", "shop"))
    (pytester.path / "kubeconfig").write_text(NOWHERE_KUBECONFIG)
    return [
        "--k8s-manifests=deploy.yaml",
        "--k8s-context=nowhere",
        "--k8ssec-kubeconfig=kubeconfig",
        "--k8s-request-timeout=2",
    ]


def test_every_target_fixture_works_with_two_targets(pytester: pytest.Pytester, two_targets: list[str]) -> None:
    pytester.makepyfile(
        """
        def test_target(k8s_target): assert k8s_target.name in ("manifests", "nowhere")
        def test_inventory(k8s_inventory, k8s_target):
            assert k8s_inventory is k8s_target.inventory
            if k8s_target.name == "manifests":
                assert [o.name for o in k8s_inventory] == ["web"]
        def test_inventory_alone(k8s_inventory): assert k8s_inventory is not None
        def test_workloads(k8s_workloads): assert [w.name for w in k8s_workloads] == ["web"]
        def test_workload(k8s_workload): assert k8s_workload.name == "web"
        def test_pods(k8s_pods): assert [p.name for p in k8s_pods] == ["web"]
        def test_rbac(k8s_rbac): assert k8s_rbac is not None
        def test_network(k8s_network): assert k8s_network is not None
        def test_cluster(k8s_cluster): assert k8s_cluster.context == "nowhere"
        def test_namespace(k8s_namespace): pass
        def test_pod_host(k8s_pod_host): pass
        def test_workload_namespace(k8s_workload_namespace): assert k8s_workload_namespace.name == "shop"
        """
    )
    result = pytester.runpytest(*two_targets, "-p", "no:cacheprovider", "-v", "-rA")
    out = result.stdout.str()
    assert "uses no argument" not in out and "ERROR collecting" not in out, out
    # Every test runs once per target: the manifests' cases pass (or skip where a cluster is
    # needed), the unreachable context's cases fail with the cause.
    for name in (
        "target",
        "inventory",
        "inventory_alone",
        "workloads",
        "workload",
        "pods",
        "rbac",
        "network",
        "workload_namespace",
    ):
        assert f"test_{name}[manifests" in out, name
        assert f"test_{name}[nowhere" in out, name
    result.stdout.fnmatch_lines_random(
        [
            "PASSED test_*.py::test_inventory[[]manifests[]]",
            "PASSED test_*.py::test_inventory_alone[[]manifests[]]",
            "PASSED test_*.py::test_inventory_alone[[]nowhere[]]",
            "PASSED test_*.py::test_workloads[[]manifests[]]",
            "PASSED test_*.py::test_workload[[]manifests:Pod/shop/web[]]",
            "PASSED test_*.py::test_rbac[[]manifests[]]",
            "PASSED test_*.py::test_network[[]manifests[]]",
            "PASSED test_*.py::test_cluster[[]nowhere[]]",
            "PASSED test_*.py::test_workload_namespace[[]manifests:shop[]]",
            "ERROR test_*.py::test_workload_namespace[[]nowhere:no-workload-matched[]]*",
            "*::test_cluster[[]manifests[]] SKIPPED*",
            "*::test_namespace[[]manifests[]] SKIPPED*",
            "*::test_pod_host[[]manifests[]] SKIPPED*",
            "ERROR test_*.py::test_workloads[[]nowhere[]]*",
            "ERROR test_*.py::test_namespace[[]nowhere[]]*",
        ]
    )
    assert "INTERNALERROR" not in out
    assert out.count("target 'manifests' is not a cluster") == 3
    assert "context 'nowhere': cannot reach https://127.0.0.1:1" in out


def test_namespace_options_narrow_manifests_as_they_narrow_clusters(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "deploy.yaml").write_text(
        "---\n".join(
            [
                _pod("server", "argocd"),
                _pod("agent", "logging"),
                _pod("loose"),  # no namespace: "default", as kubectl applies it
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: argocd}\n",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: logging}\n",
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: []\n",
            ]
        )
    )
    pytester.makepyfile(
        """
        import os
        def test_x(k8s_inventory):
            print("REFS", sorted(o.ref for o in k8s_inventory))
            assert sorted(o.ref for o in k8s_inventory) == sorted(os.environ["EXPECTED"].split(","))
        """
    )
    base = ["--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider"]
    monkeypatch.setenv("EXPECTED", "ClusterRole/reader,Namespace/argocd,Pod/argocd/server")
    result = pytester.runpytest(*base, "--k8s-namespace", "argocd")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "k8ssec: namespaces: argocd (manifests and live targets; cluster-scoped objects kept)",
            "k8ssec: manifests: 3 object(s) outside the namespaces read were left out",
        ]
    )
    monkeypatch.setenv("EXPECTED", "ClusterRole/reader,Namespace/argocd,Pod/argocd/server,Pod/default/loose")
    result = pytester.runpytest(*base, "--k8s-exclude-namespace", "logging")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["k8ssec: namespaces: all except logging (*", "k8ssec: manifests: 2 object(s) *left out"]
    )
    # The ini keys narrow as well.
    pytester.makeini("[pytest]\nk8s_namespaces = argocd\n    default\n")
    monkeypatch.setenv("EXPECTED", "ClusterRole/reader,Namespace/argocd,Pod/argocd/server,Pod/default/loose")
    pytester.runpytest(*base).assert_outcomes(passed=1)


def test_default_namespace_places_namespaced_objects_as_kubectl_apply_n(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    crds = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: apps.argoproj.io}
spec: {group: argoproj.io, scope: Namespaced, names: {kind: Application, plural: applications}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterthings.example.com}
spec: {group: example.com, scope: Cluster, names: {kind: ClusterThing, plural: clusterthings}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook}
---
apiVersion: example.com/v1
kind: ClusterThing
metadata: {name: thing}
---
apiVersion: unknown.example.org/v1
kind: Mystery
metadata: {name: m}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
"""
    (pytester.path / "deploy.yaml").write_text(crds + _pod("loose") + "---\n" + _pod("placed", "shop"))
    pytester.makepyfile(
        """
        import os
        def test_x(k8s_inventory):
            refs = sorted(o.ref for o in k8s_inventory if o.kind != "CustomResourceDefinition")
            assert refs == sorted(os.environ["EXPECTED"].split(","))
            for obj in k8s_inventory:
                # The object reads as the API server would serve it, and keeps its file and line.
                assert obj.raw["metadata"].get("namespace") in (obj.namespace, None)
                assert str(obj.provenance).startswith("deploy.yaml:")
        """
    )
    base = ["--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider"]
    monkeypatch.setenv(
        "EXPECTED",
        "Application/team/guestbook,ClusterThing/thing,Mystery/m,ClusterRole/reader,Pod/team/loose,Pod/shop/placed",
    )
    result = pytester.runpytest(*base, "--k8s-default-namespace", "team")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["k8ssec: manifest objects of namespaced kinds without a namespace go to team"])
    pytester.makeini("[pytest]\nk8s_default_namespace = team\n")
    pytester.runpytest(*base).assert_outcomes(passed=1)
    # Without it: "default" (as kubectl applies them), custom resources of known scope too.
    (pytester.path / "tox.ini").unlink()
    monkeypatch.setenv(
        "EXPECTED",
        "Application/default/guestbook,ClusterThing/thing,Mystery/m,ClusterRole/reader,Pod/default/loose,Pod/shop/placed",
    )
    pytester.runpytest(*base).assert_outcomes(passed=1)
    result = pytester.runpytest(*base, "--k8s-default-namespace", "Not_A_Namespace")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_default_namespace: 'Not_A_Namespace' is not a namespace name*"])


def test_duplicates_warn_naming_both_places_and_both_are_judged(pytester: pytest.Pytester) -> None:
    (pytester.path / "a.yaml").write_text(_pod("web", "shop") + "---\n" + _pod("web", "shop"))
    (pytester.path / "b.yaml").write_text(
        "# the same pod again\n" + _pod("web", "shop") + "---\n" + _pod("web", "other")
    )
    pytester.makepyfile(
        """
        def test_each(k8s_workload): pass
        def test_inventory(k8s_inventory): assert len(k8s_inventory) == 4
        """
    )
    result = pytester.runpytest("--k8s-manifests=a.yaml", "--k8s-manifests=b.yaml", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=5, warnings=2)
    result.stdout.fnmatch_lines_random(
        [
            "*K8sSecWarning: Pod shop/web is defined twice: a.yaml:1 and a.yaml:7 *both are judged",
            "*K8sSecWarning: Pod shop/web is defined twice: a.yaml:1 and b.yaml:2 *both are judged",
        ]
    )
    assert "other/web is defined twice" not in result.stdout.str()
    # The duplicates' test cases say where each one is.
    result.stdout.fnmatch_lines_random(
        [
            "*test_each[[]Pod/shop/web[]] PASSED*",
            "*test_each[[]Pod/shop/web@a.yaml:7[]] PASSED*",
            "*test_each[[]Pod/shop/web@b.yaml:2[]] PASSED*",
        ]
    )


def test_k8s_select_exclude_leaves_objects_out_and_is_validated(pytester: pytest.Pytester) -> None:
    ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {n}, namespace: {ns}}}\nspec:\n  template:\n    spec: {{containers: [{{name: a, image: x}}]}}\n"
    (pytester.path / "deploy.yaml").write_text(
        "---\n".join(
            [
                ds.format(n="fluentd", ns="logging"),
                ds.format(n="vector", ns="logging"),
                ds.format(n="node-exporter", ns="monitoring"),
                _pod("web", "shop"),
            ]
        )
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_select(kind="DaemonSet", exclude={"namespace": "logging"})
        def test_each(k8s_workload): assert k8s_workload.name == "node-exporter"

        @pytest.mark.k8s_select(exclude=[{"kind": "DaemonSet", "name": "fluentd"}, "Pod/shop/web"])
        def test_all(k8s_workloads): assert sorted(w.name for w in k8s_workloads) == ["node-exporter", "vector"]

        @pytest.mark.k8s_select(kind="DaemonSet", exclude={"kind": "DaemonSet"})
        def test_nothing_left(k8s_workloads): pass
        """
    )
    result = pytester.runpytest("--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_each[[]DaemonSet/monitoring/node-exporter[]] PASSED*"])
    result.stdout.fnmatch_lines(
        ["*the selection (kind='DaemonSet', exclude=[[]kind='DaemonSet'[]]) matched no workload*"]
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_select(exclude={"namspace": "logging"})
        def test_each(k8s_workload): pass
        """
    )
    result = pytester.runpytest("--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider")
    # Raised while collecting: pytest reports the UsageError as a collection error and stops.
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*UsageError: @pytest.mark.k8s_select: exclude: unknown key(s) namspace (known: kind, namespace, name, labels, exclude)*"
        ]
    )


def test_k8s_workload_namespace_one_case_per_namespace_with_its_labels_and_workloads(pytester: pytest.Pytester) -> None:
    (pytester.path / "deploy.yaml").write_text(
        "---\n".join(
            [
                _pod("web", "shop"),
                _pod("api", "shop"),
                _pod("agent", "logging"),
                _pod("loose"),
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {pod-security.kubernetes.io/enforce: restricted}}\n",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: empty}\n",
                "apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: other}\n",
            ]
        )
    )
    pytester.makepyfile(
        """
        import pytest

        def test_ns(k8s_workload_namespace):
            ns = k8s_workload_namespace
            assert ns.labels["kubernetes.io/metadata.name"] == ns.name
            names = sorted(w.name for w in ns.workloads)
            if ns.name == "shop":
                assert ns.namespace is not None and ns.namespace.kind == "Namespace"
                assert ns.labels["pod-security.kubernetes.io/enforce"] == "restricted"
                assert names == ["api", "web"]
            else:
                assert ns.namespace is None and dict(ns.labels) == {"kubernetes.io/metadata.name": ns.name}
                assert names == {"logging": ["agent"], "default": ["loose"]}[ns.name]

        @pytest.mark.k8s_select(exclude={"namespace": ["shop", "logging", "default"]})
        def test_none_left(k8s_workload_namespace): pass

        @pytest.mark.k8s_select(namespace="shop", exclude="Pod/shop/web")
        def test_selected(k8s_workload_namespace):
            assert [w.name for w in k8s_workload_namespace.workloads] == ["api"]
        """
    )
    result = pytester.runpytest("--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "*test_ns[[]default[]] PASSED*",
            "*test_ns[[]logging[]] PASSED*",
            "*test_ns[[]shop[]] PASSED*",
            "*test_selected[[]shop[]] PASSED*",
            "*test_none_left[[]no-workload-matched[]] ERROR*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*the selection (exclude=[[]namespace=*) matched no workload among the 7 loaded objects*"]
    )
    pytester.makepyfile("def test_both(k8s_workload, k8s_workload_namespace): pass")
    result = pytester.runpytest("--k8s-manifests=deploy.yaml", "-p", "no:cacheprovider")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*k8s_workload and k8s_workload_namespace each make one test case per object; use one of them*"]
    )


def test_api_requests_in_the_summary_are_summed_over_xdist_workers(
    pytester: pytest.Pytester, two_targets: list[str]
) -> None:
    # Each worker writes what it counted itself: the summary must be their sum, not the
    # controller's own count (it runs no test: 0).
    pytester.makeconftest(
        """
        from pathlib import Path
        from pytest_k8ssec.fixtures.targets import run_state

        def pytest_sessionfinish(session):
            worker = getattr(session.config, "workerinput", {}).get("workerid")
            if worker:
                counted = sum(t.cluster.requests for t in run_state(session.config).targets if t.cluster)
                Path(session.config.rootpath, f"requests-{worker}").write_text(str(counted))
        """
    )
    pytester.makepyfile("\n".join(f"def test_{i}(k8s_workloads): pass" for i in range(8)))
    result = pytester.runpytest_subprocess(*two_targets, "-p", "xdist", "-n", "2", "-p", "no:cacheprovider")
    counts = {path.name: int(path.read_text()) for path in pytester.path.glob("requests-gw*")}
    assert sorted(counts) == ["requests-gw0", "requests-gw1"], result.stdout.str()
    total = sum(counts.values())
    assert total >= 2
    result.stdout.fnmatch_lines([f"k8ssec: target nowhere: {total} API requests"])


def test_manifests_path_in_space_form_cannot_move_the_rootdir(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = pytester.mkdir("project")
    (project / "pytest.ini").write_text("[pytest]\nk8s_default_namespace = team\n")
    (project / "test_x.py").write_text("def test_x(k8s_workload): assert k8s_workload.namespace == 'team'\n")
    elsewhere = pytester.mkdir("elsewhere")
    (elsewhere / "deploy.yaml").write_text(_pod("web"))
    monkeypatch.chdir(project)
    result = pytester.runpytest("--k8s-manifests", str(elsewhere))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*pytest chose its rootdir {pytester.path} (ini file: none) reading --k8s-manifests {elsewhere} as a test path*"
            f"without it the rootdir is {project} (ini file: {project / 'pytest.ini'}). Write --k8s-manifests={elsewhere} (with '='), "
            f"or pass -c {project / 'pytest.ini'}.",
        ]
    )
    assert not (elsewhere / ".pytest_cache").exists() and not (pytester.path / ".pytest_cache").exists()
    # The two fixes it names work, and the project's ini is read (the namespace comes from it).
    pytester.runpytest(f"--k8s-manifests={elsewhere}").assert_outcomes(passed=1)
    pytester.runpytest("--k8s-manifests", str(elsewhere), "-c", str(project / "pytest.ini")).assert_outcomes(passed=1)
    # --rootdir alone does not bring the ini file back: still refused.
    result = pytester.runpytest("--k8s-manifests", str(elsewhere), f"--rootdir={project}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # A space-form path that does not move the rootdir is fine: a test path is given and the
    # manifests lie inside the project.
    (project / "deploy.yaml").write_text(_pod("web"))
    result = pytester.runpytest("test_x.py", "--k8s-manifests", "deploy.yaml")
    result.assert_outcomes(passed=1)
    assert "pytest chose its rootdir" not in result.stdout.str()
    # Without an ini file to lose, a moved rootdir (the cache's folder) is a warning with the fix.
    (project / "pytest.ini").unlink()
    (project / "test_x.py").write_text("def test_x(k8s_workload): pass\n")
    result = pytester.runpytest("--k8s-manifests", str(elsewhere))
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            f"*K8sSecWarning: pytest-k8ssec: pytest chose its rootdir {pytester.path} *Write --k8s-manifests={elsewhere} (with '='), or pass --rootdir={project}."
        ]
    )


def test_manifests_from_stdin_reach_every_xdist_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_inventory(k8s_inventory): assert len(k8s_inventory) == 3
        def test_each(k8s_workload): assert k8s_workload.kind == "Pod"
        """
    )
    manifests = "---\n".join(_pod(name, "shop") for name in ("a", "b", "c")).encode()
    for extra in ([], ["-p", "xdist", "-n", "2"]):
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--k8s-manifests", "-", *extra],
            input=manifests, cwd=pytester.path, capture_output=True, timeout=120,
        )  # fmt: skip
        out = proc.stdout.decode()
        assert proc.returncode == 0, out
        assert "4 passed" in out, out


def test_local_node_needs_the_local_control_plane(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--k8s-local-node")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--k8s-local-node needs --k8s-local-control-plane (the node joins it)*"])
