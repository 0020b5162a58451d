"""docs/ci.md, docs/ci/in-cluster and .pre-commit-hooks.yaml stay true: the YAML parses, the flags
exist, pre-commit accepts the hook, the ClusterRole grants exactly what the plugin lists, and the
Job passes the plugin's own checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pre_commit.clientlib import InvalidConfigError, InvalidManifestError, load_config, load_manifest

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.sources.cluster import KINDS
from pytest_k8ssec.sources.manifests import load

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci.md"
DEPLOY = ROOT / "docs" / "ci" / "in-cluster"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
READ_VERBS = frozenset({"get", "list", "watch"})

# Options that other parts of the CI-gate work add; the docs may name them before they are merged.
# Once they are in, this set must be emptied: every flag the docs name must then exist.


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), flags=re.M | re.S)


def _yaml_blocks() -> list[Any]:
    return [yaml.safe_load(block) for block in _blocks("yaml")]


def _deploy_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def _one(kind: str) -> dict[str, Any]:
    found = [doc for doc in _deploy_documents() if doc["kind"] == kind]
    assert len(found) == 1, f"{kind}: {len(found)} in docs/ci/in-cluster"
    return found[0]


# --- docs/ci.md ---------------------------------------------------------------------------------


def test_every_yaml_block_of_the_docs_parses() -> None:
    blocks = _yaml_blocks()
    assert len(blocks) == 4  # GitHub workflow, GitLab job, two pre-commit configs
    assert all(isinstance(block, dict) for block in blocks)


def test_the_github_workflow_uploads_sarif_to_code_scanning() -> None:
    workflow = next(block for block in _yaml_blocks() if "jobs" in block)
    job = workflow["jobs"]["k8ssec"]
    assert job["permissions"]["security-events"] == "write"
    steps = job["steps"]
    gate = next(step for step in steps if step.get("run", "").startswith("pytest "))
    for flag in ("--k8s-fail-on high", "--k8s-waivers", "--k8s-sarif k8ssec.sarif", "--junitxml junit.xml"):
        assert flag in gate["run"], flag
    upload = next(step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["uses"].endswith("@v3")
    assert "always()" in upload["if"]
    assert upload["with"]["sarif_file"] == "k8ssec.sarif" and upload["with"]["category"]
    # The gate runs before the upload, the upload after it even when the gate failed.
    assert steps.index(gate) < steps.index(upload)


def test_the_gitlab_job_keeps_junit_and_sarif_always() -> None:
    job = next(block["k8ssec"] for block in _yaml_blocks() if "k8ssec" in block and "script" in block["k8ssec"])
    assert any("--junitxml junit.xml" in line and "--k8s-sarif k8ssec.sarif" in line for line in job["script"])
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"] == {"junit": "junit.xml"}
    assert "k8ssec.sarif" in artifacts["paths"]


def test_the_docs_dockerfile_is_the_shipped_one() -> None:
    (block,) = _blocks("dockerfile")
    assert block == (DEPLOY / "Dockerfile").read_text()


def _flags_named_in_the_docs() -> set[str]:
    texts = [DOC.read_text(), HOOKS.read_text(), *(path.read_text() for path in DEPLOY.iterdir())]
    return {flag for text in texts for flag in re.findall(r"--k8s(?:sec)?-[a-z0-9-]*[a-z0-9]", text)}


def test_every_flag_the_docs_name_is_an_option_of_the_plugin(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    options = set(re.findall(r"(--k8s(?:sec)?-[a-z0-9-]+)", result.stdout.str()))
    assert "--k8s-in-cluster" in options and "--k8s-manifests" in options
    named = _flags_named_in_the_docs()
    assert {"--k8s-in-cluster", "--k8s-fail-on", "--k8s-sarif", "--k8s-manifests"} <= named
    unknown = sorted(named - options)
    assert not unknown, (
        f"docs/ci.md, docs/ci/in-cluster or .pre-commit-hooks.yaml name options that do not exist: {unknown}"
    )


# --- pre-commit ---------------------------------------------------------------------------------


def test_the_hook_manifest_is_valid_for_pre_commit() -> None:
    (hook,) = load_manifest(str(HOOKS))  # pre-commit's own validator: required keys and types
    assert hook["id"] == "k8ssec"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["entry"].startswith("pytest --pyargs pytest_k8ssec.suites.")
    assert re.search(hook["files"], "deploy/web.yaml") and re.search(hook["files"], "chart/values.yml")
    assert re.search(hook["files"], "k8s/app.json") and not re.search(hook["files"], "src/app.py")


def test_pre_commits_validator_rejects_a_hook_without_entry(tmp_path: Path) -> None:
    broken = [
        {key: value for key, value in hook.items() if key != "entry"} for hook in yaml.safe_load(HOOKS.read_text())
    ]
    (tmp_path / "hooks.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(InvalidManifestError, match="entry"):
        load_manifest(str(tmp_path / "hooks.yaml"))


def test_the_pre_commit_configs_of_the_docs_are_valid(tmp_path: Path) -> None:
    configs = [block for block in _yaml_blocks() if "repos" in block]
    assert len(configs) == 2
    hook_ids = {hook["id"] for hook in yaml.safe_load(HOOKS.read_text())}
    for number, config in enumerate(configs):
        path = tmp_path / f"config{number}.yaml"
        path.write_text(yaml.safe_dump(config))
        loaded = load_config(str(path))
        for repo in loaded["repos"]:
            if repo["repo"] != "local":
                assert {hook["id"] for hook in repo["hooks"]} <= hook_ids
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [{"id": "x"}]}]}))
    with pytest.raises(InvalidConfigError):
        load_config(str(tmp_path / "bad.yaml"))


# --- docs/ci/in-cluster: the ClusterRole grants exactly what the plugin lists ----------------------


def _granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    granted: set[tuple[str, str, str]] = set()
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, f"no resourceNames, nonResourceURLs: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert "*" not in (group, resource, verb), f"a wildcard grants more than the plugin lists: {rule}"
                    granted.add((verb, group, resource))
    return granted


def test_the_cluster_role_grants_exactly_what_the_plugin_lists() -> None:
    needed = {(verb, info.group, info.resource) for info in KINDS.values() for verb in READ_VERBS}
    granted = _granted(_one("ClusterRole"))
    assert granted - needed == set(), "granted but never listed"
    assert needed - granted == set(), "listed by the plugin but not granted: a live run would meet a 403"
    assert not any(resource == "secrets" for _, _, resource in granted)


def test_a_kind_added_to_the_plugin_without_a_rule_fails_the_comparison() -> None:
    role = _one("ClusterRole")
    role["rules"] = [rule for rule in role["rules"] if rule["apiGroups"] != ["batch"]]
    needed = {(verb, info.group, info.resource) for info in KINDS.values() for verb in READ_VERBS}
    assert {resource for _, _, resource in needed - _granted(role)} == {"jobs", "cronjobs"}


def test_the_binding_gives_the_role_to_the_jobs_service_account() -> None:
    role, binding, account, job = (
        _one(kind) for kind in ("ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Job")
    )
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": account["metadata"]["namespace"]}
    ]
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert job["metadata"]["namespace"] == account["metadata"]["namespace"] == _one("Namespace")["metadata"]["name"]
    # Only the pod that needs the token mounts it.
    assert account["automountServiceAccountToken"] is False and pod["automountServiceAccountToken"] is True


def test_the_job_runs_a_ready_suite_in_cluster() -> None:
    container = _one("Job")["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[:2] == ["--pyargs", "pytest_k8ssec.suites.cis"] and "--k8s-in-cluster" in args
    assert "@sha256:" in container["image"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "pytest"]' in dockerfile
    user, group = re.findall(r"^USER (\d+):(\d+)$", dockerfile, flags=re.M)[0]
    security = _one("Job")["spec"]["template"]["spec"]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (int(user), int(group))


def test_kustomize_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    files = {path.name for path in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


# --- docs/ci/in-cluster: the plugin's own checks ---------------------------------------------------

# Findings the Job keeps on purpose: the scanner reads the API with its token; registry and
# vulnerability checks judge nothing without a policy or a scan report (a team sets both).
EXPECTED_FINDINGS = {
    ("service-account-token-automount", "Job", "k8ssec-scan"),
    ("image-registry-not-allowed", "Job", "k8ssec-scan"),
    ("image-vulnerable", "Job", "k8ssec-scan"),
}


def test_every_builtin_check_passes_the_deploy_manifests_but_the_token_it_needs() -> None:
    loaded = load([str(DEPLOY)])
    assert not loaded.errors
    assert sorted(obj.kind for obj in loaded.objects) == sorted(doc["kind"] for doc in _deploy_documents())
    findings = evaluate(builtin_registry(), loaded.objects)
    found = {(finding.check.id, finding.obj.kind, finding.obj.name) for finding in findings}
    assert found == EXPECTED_FINDINGS, [
        f"{f.check.id} {f.obj.kind}/{f.obj.name} {f.path}: {f.message}" for f in findings
    ]


def test_the_job_passes_restricted_pod_security_with_the_helpers() -> None:
    from pytest_k8ssec import (
        assert_images_from,
        assert_images_pinned,
        assert_no_privilege_escalation,
        assert_not_privileged,
        assert_pod_security,
        assert_read_only_root_filesystem,
        assert_runs_as_non_root,
    )

    job = [obj for obj in load([str(DEPLOY)]).objects if obj.kind == "Job"]
    assert len(job) == 1
    assert_pod_security(job, level="restricted")
    assert_not_privileged(job)
    assert_no_privilege_escalation(job)
    assert_runs_as_non_root(job)
    assert_read_only_root_filesystem(job)
    assert_images_pinned(job)
    assert_images_from(job, registries=["registry.example.com/"])
