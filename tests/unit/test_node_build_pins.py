"""The local node's build recipe says what it pins: go.mod files, build-node.sh and the README agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONTROLPLANE = Path(__file__).resolve().parents[2] / "controlplane"
NODE = CONTROLPLANE / "node"

# module folder -> (upstream module, the programs its go.mod names as tools)
MODULES = {
    "containerd": (
        "github.com/containerd/containerd/v2",
        {"containerd", "ctr", "containerd-shim-runc-v2"},
    ),
    "cni-plugins": (
        "github.com/containernetworking/plugins",
        {"bridge", "host-local", "loopback", "portmap"},
    ),
    "kube-router": ("github.com/cloudnativelabs/kube-router/v2", {"kube-router"}),
}


def _go_mod(folder: str) -> str:
    return (NODE / folder / "go.mod").read_text()


def _required_version(go_mod: str, module: str) -> str:
    found = re.findall(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod, re.M)
    assert len(found) == 1, f"{module} is required {len(found)} times"
    return found[0]


def _tools(go_mod: str) -> set[str]:
    block = re.search(r"^tool\s*\(\n(.*?)^\)", go_mod, re.M | re.S)
    lines = block.group(1).split() if block else re.findall(r"^tool\s+(\S+)", go_mod, re.M)
    return {path.rsplit("/", 1)[-1] for path in lines}


@pytest.mark.parametrize("folder", sorted(MODULES))
def test_each_module_pins_its_upstream_and_names_its_programs(folder: str) -> None:
    module, programs = MODULES[folder]
    go_mod = _go_mod(folder)
    version = _required_version(go_mod, module)
    assert _tools(go_mod) == programs
    # go.sum holds the hash of exactly that version, so -mod=readonly builds it and nothing else.
    assert f"{module} {version} h1:" in (NODE / folder / "go.sum").read_text()


def test_build_script_builds_the_programs_the_modules_name() -> None:
    script = (CONTROLPLANE / "build-node.sh").read_text()
    listed = re.search(r"^programs=\(([^)]*)\)", script, re.M)
    assert listed is not None
    assert set(listed.group(1).split()) == set().union(*(programs for _, programs in MODULES.values()))


def test_readme_states_the_pinned_versions() -> None:
    readme = (CONTROLPLANE / "README.md").read_text()
    section = readme.split("## Node components", 1)[1].split("\n## ", 1)[0]
    for folder, (module, _) in MODULES.items():
        version = _required_version(_go_mod(folder), module)
        row = re.search(rf"^\|[^\n]*\*\*{re.escape(version)}\*\*[^\n]*`{re.escape(module)}`", section, re.M)
        assert row is not None, f"README's node table does not state {module} {version}"


def test_containerd_template_keeps_every_path_in_the_run_dir() -> None:
    tomllib = pytest.importorskip("tomllib", reason="reading TOML needs tomllib (Python 3.11+)")
    text = (NODE / "containerd-config.toml.example").read_text()
    filled = (
        text.replace("{{dir}}", "/run-dir")
        .replace("{{cni_bin_dir}}", "/built/node")
        .replace("{{runc}}", "/usr/sbin/runc")
        .replace("{{sandbox_image}}", "localhost/pause:test")
    )
    assert "{{" not in filled, "a placeholder the README does not document"

    def strings(value: object) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    config = tomllib.loads(filled)
    paths = [s for s in strings(config) if s.startswith("/")]
    assert paths, "no paths found: the template changed shape"
    assert [p for p in paths if not p.startswith("/run-dir/")] == ["/usr/sbin/runc", "/built/node"]
    plugins = config["plugins"]
    assert plugins["io.containerd.cri.v1.runtime"]["netns_mounts_under_state_dir"] is True
    runc = plugins["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["runc"]["options"]
    assert runc["SystemdCgroup"] is False  # kubelet runs with cgroupDriver: cgroupfs
    assert plugins["io.containerd.grpc.v1.cri"]["stream_server_address"] == "127.0.0.1"
