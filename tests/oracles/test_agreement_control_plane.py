"""The control-plane and node checks beside the peers that have the same items.

Of the linters whose labelled sets the project compares against (Polaris, kube-score,
kube-linter, kubesec: ``test_linter_agreement.py``), none has a control-plane flag or node file
check, and none of their manifests runs a component: the comparison is empty, and the first test
here keeps it so (a manifest that starts one would then be compared, not ignored). The peers that
do have these items are checkov (CKV_K8S_68-121, 138-151, on static-pod manifests), kube-bench
(cfg/cis-1.12, on running processes), Kubescape (C-0092-C-0184, cluster-only) and Trivy (KCV, on
node-collector output); no recorded output of theirs is among the oracles, so the cases where our
definition differs from theirs on purpose are named below with the reason, from their published
definitions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.checks._components import Settings, judge
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.components import parse
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.manifests import load_file

IDS = (
    "apiserver-flag-insecure",
    "controller-manager-flag-insecure",
    "scheduler-flag-insecure",
    "etcd-flag-insecure",
    "kubelet-config-insecure",
)


def test_no_manifest_of_the_linter_sets_runs_a_component(oracles: Path) -> None:
    checks = [builtin_registry().get(check_id) for check_id in IDS]
    files = sorted(p for p in (oracles / "linters").rglob("*") if p.suffix in (".yaml", ".yml"))
    assert len(files) > 100, "the linter sets moved: this comparison would be empty for the wrong reason"
    judged = []
    for path in files:
        try:
            objects = load_file(path)
        except ManifestError:
            continue  # files the linters label as broken input; test_linter_agreement judges those
        judged += [(path, c.id) for c in checks for obj in objects if c.applies_to(obj) and evaluate([c], [obj])]
    assert judged == []


def pod(command: list[str], args: list[str] | None = None) -> K8sObject:
    container: dict[str, object] = {"name": "c", "image": "registry.k8s.io/kube-apiserver:v1.35.0", "command": command}
    if args is not None:
        container["args"] = args
    raw = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kube-apiserver"},
        "spec": {"containers": [container]},
    }
    return K8sObject(raw, Provenance("test.yaml", 1))


def anonymous_findings(obj: K8sObject) -> list[str]:
    return [
        f.message
        for f in evaluate([builtin_registry().get("apiserver-flag-insecure")], [obj])
        if ": CIS 1.2.1: " in f.message
    ]


# --- checkov: CKV_K8S_68 (checkov/kubernetes/checks/resource/k8s/ApiServerAnonymousAuth.py) reads
# only `command`, identifies kube-apiserver by the exact token, and passes only the exact token
# `--anonymous-auth=false`. The API server reads args too, runs from any path, and normalizes names.


def test_checkov_differs_flags_in_args_are_the_servers_flags() -> None:
    # checkov passes (it reads no `args`): the server runs with --anonymous-auth=true from args.
    assert anonymous_findings(pod(["kube-apiserver"], ["--anonymous-auth=true"]))
    # checkov fails (no `--anonymous-auth=false` token in command): args set it false.
    assert not anonymous_findings(pod(["kube-apiserver"], ["--anonymous-auth=false"]))


def test_checkov_differs_the_binary_may_have_a_path() -> None:
    # checkov passes `/usr/local/bin/kube-apiserver` (the token `kube-apiserver` is not in the list).
    assert anonymous_findings(pod(["/usr/local/bin/kube-apiserver"]))


def test_checkov_differs_pflag_normalizes_and_takes_separate_values() -> None:
    # checkov fails both; kube-apiserver reads both as --anonymous-auth=false.
    assert not anonymous_findings(pod(["kube-apiserver", "--anonymous_auth=false"]))
    assert not anonymous_findings(pod(["kube-apiserver", "--anonymous-auth=false", "--anonymous-auth=false"]))
    # And agrees on the trap: a boolean takes no separate value, so `--anonymous-auth false` is true.
    assert anonymous_findings(pod(["kube-apiserver", "--anonymous-auth", "false"]))


# --- kube-bench (cfg/cis-1.12): some items pass an unset flag whose upstream default is the insecure
# value. The default is what runs, so ours reports it.


@pytest.mark.parametrize(
    ("argv", "control", "why"),
    [
        (["kube-controller-manager"], "CIS-1.3.7", "--bind-address defaults to 0.0.0.0 (SecureServingOptions)"),
        (["kube-scheduler"], "CIS-1.4.2", "--bind-address defaults to 0.0.0.0 (SecureServingOptions)"),
        (["kubelet"], "CIS-4.2.10", "--rotate-certificates defaults to false (KubeletConfiguration v1beta1)"),
    ],
)
def test_kube_bench_differs_an_unset_insecure_default_is_a_finding(argv: list[str], control: str, why: str) -> None:
    command = parse(argv)
    assert command is not None
    assert [f.control for f in judge(Settings(command.component, command), [control])] == [control], why


def test_kube_bench_agrees_on_the_kubelet_config_files_defaults() -> None:
    # 4.2.1 / 4.2.4 with a config file that leaves them out: anonymous auth off and read-only port 0
    # are the file's defaults (kube-bench passes an unset `authentication.anonymous.enabled` too).
    command = parse(["kubelet", "--config=/var/lib/kubelet/config.yaml"])
    assert judge(Settings("kubelet", command, {}), ["CIS-4.2.1", "CIS-4.2.4"]) == []
