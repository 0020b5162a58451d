"""The local node's images: valid OCI layouts, named for containerd, deterministic, with the
content the in-pod tests rely on."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec import (
    SecurityAssertionError,
    assert_in_pod_no_package_manager,
    assert_in_pod_no_shell,
)
from pytest_k8ssec.asserts.inpod import PACKAGE_MANAGERS, SHELLS
from pytest_k8ssec.sources import local_images
from pytest_k8ssec.sources.local_images import LocalImageError, build_images, image_refs, import_images
from pytest_k8ssec.sources.local_node import tool

REPO = Path(__file__).resolve().parents[2]
PROBE_BIN = REPO / "controlplane" / ".cache" / "bin" / "k8ssec-probe"
NAMES = ["pause", "probe", "probe-root", "probe-pkg", "probe-shell", "distroless"]

# chroot lives in /usr/sbin, often not on a CI's PATH.
CHROOT = tool("chroot") or "chroot"


def elf(payload: bytes, *, interpreter: bool = False) -> bytes:
    """A 64-bit ELF header with one program header (PT_INTERP or PT_LOAD), then ``payload``."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)  # e_phoff
    struct.pack_into("<HH", header, 0x36, 56, 1)  # e_phentsize, e_phnum
    program = struct.pack("<I", 3 if interpreter else 1).ljust(56, b"\0")
    return bytes(header) + program + payload


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Any]:
    """Stand-in input files: the layout does not care what the binaries do."""
    files = tmp_path / "in"
    files.mkdir()
    (files / "probe").write_bytes(elf(b"probe"))
    (files / "busybox").write_bytes(elf(b"busybox"))
    (files / "dash").write_bytes(b"\x7fELF dash")
    (files / "ld.so").write_bytes(b"\x7fELF ld")
    (files / "libc.so.6").write_bytes(b"\x7fELF libc")
    return {
        "probe_binary": files / "probe",
        "busybox": files / "busybox",
        "shell": files / "dash",
        "shell_libs": {
            "lib64/ld-linux-x86-64.so.2": files / "ld.so",
            "lib/x86_64-linux-gnu/libc.so.6": files / "libc.so.6",
        },
    }


@dataclass
class Layout:
    index: dict[str, Any]
    manifest: dict[str, Any]
    config: dict[str, Any]
    layer: tarfile.TarFile
    blobs: dict[str, bytes]
    outer: list[tarfile.TarInfo]

    def member(self, path: str) -> tarfile.TarInfo:
        return self.layer.getmember(path)

    def paths(self) -> list[str]:
        return self.layer.getnames()


def read_layout(path: Path) -> Layout:
    with tarfile.open(path) as outer:
        members = outer.getmembers()
        files = {m.name: outer.extractfile(m).read() for m in members if m.isfile()}  # type: ignore[union-attr]
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    blobs = {name.removeprefix("blobs/sha256/"): data for name, data in files.items() if name.startswith("blobs/")}
    for hexdigest, data in blobs.items():
        assert hashlib.sha256(data).hexdigest() == hexdigest, f"blob {hexdigest} does not match its name"

    def blob(descriptor: dict[str, Any]) -> bytes:
        data = blobs[descriptor["digest"].removeprefix("sha256:")]
        assert len(data) == descriptor["size"]
        return data

    index = json.loads(files["index.json"])
    manifest = json.loads(blob(index["manifests"][0]))
    config = json.loads(blob(manifest["config"]))
    (layer_descriptor,) = manifest["layers"]
    layer_tar = gzip.decompress(blob(layer_descriptor))
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]}
    return Layout(index, manifest, config, tarfile.open(fileobj=io.BytesIO(layer_tar)), blobs, members)


@pytest.fixture
def built(inputs: dict[str, Any], tmp_path: Path) -> dict[str, Path]:
    return build_images(out_dir=tmp_path / "out", **inputs)


def test_every_image_is_a_valid_oci_layout_named_for_containerd(built: dict[str, Path]) -> None:
    assert sorted(built) == sorted(NAMES)
    for name, path in built.items():
        layout = read_layout(path)
        assert layout.index["schemaVersion"] == 2
        assert layout.index["mediaType"] == "application/vnd.oci.image.index.v1+json"
        (entry,) = layout.index["manifests"]
        assert entry["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
        # containerd names the image after io.containerd.image.name, unchanged; the OCI ref name
        # is the tag alone, as containerd's own exporter writes it.
        assert entry["annotations"] == {
            "io.containerd.image.name": f"k8ssec.local/{name}:1",
            "org.opencontainers.image.ref.name": "1",
        }
        assert layout.manifest["schemaVersion"] == 2
        assert layout.manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        assert layout.manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
        assert layout.manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        assert (layout.config["architecture"], layout.config["os"]) == ("amd64", "linux")
        assert len(layout.blobs) == 3, "exactly the layer, the config and the manifest"
    assert image_refs()["probe"] == "k8ssec.local/probe:1"


def test_users_and_entrypoints(built: dict[str, Path]) -> None:
    got = {name: read_layout(path).config["config"] for name, path in built.items()}
    assert {name: c["User"] for name, c in got.items()} == {
        "pause": "65535:65535",
        "probe": "65534:65534",
        "probe-root": "0:0",
        "probe-pkg": "65534:65534",
        "probe-shell": "65534:65534",
        "distroless": "65532:65532",
    }
    assert got["pause"]["Entrypoint"] == ["/bin/k8ssec-probe", "pause"]
    assert "Cmd" not in got["pause"]
    for name in NAMES[1:]:
        assert got[name]["Entrypoint"] == ["/bin/k8ssec-probe"]
        assert got[name]["Cmd"] == ["serve", "--port", "8080", "--protocols", "tcp,udp,sctp"]


def test_layer_entries_are_sorted_owned_by_root_with_a_fixed_time(built: dict[str, Path]) -> None:
    for path in built.values():
        layout = read_layout(path)
        names = layout.paths()
        assert names == sorted(names)
        for member in [*layout.layer.getmembers(), *layout.outer]:
            assert (member.uid, member.gid, member.uname, member.gname, member.mtime) == (0, 0, "", "", 0), member.name


def test_probe_images_hold_busybox_applets_dash_and_no_package_manager(built: dict[str, Path]) -> None:
    layout = read_layout(built["probe"])
    links = {m.name.removeprefix("bin/"): m.linkname for m in layout.layer.getmembers() if m.issym()}
    for applet in ("id", "nc", "wget", "cat", "ls", "ps", "sleep"):
        assert links[applet] == "busybox"
    assert set(links.values()) == {"busybox"}
    assert layout.member("bin/busybox").isfile() and layout.member("bin/busybox").mode == 0o755
    sh = layout.layer.extractfile("bin/sh")
    assert sh is not None and sh.read() == b"\x7fELF dash", "/bin/sh is dash, not a busybox link"
    assert layout.member("lib64/ld-linux-x86-64.so.2").isfile()
    assert layout.member("lib/x86_64-linux-gnu/libc.so.6").isfile()
    tmp = layout.member("tmp")
    assert tmp.isdir() and tmp.mode == 0o1777
    assert not set(links) & (set(PACKAGE_MANAGERS) | set(SHELLS))

    pkg = {m.name.removeprefix("bin/") for m in read_layout(built["probe-pkg"]).layer.getmembers() if m.issym()}
    assert pkg - set(links) == {"dpkg", "dpkg-deb", "rpm"}
    shell = {m.name.removeprefix("bin/") for m in read_layout(built["probe-shell"]).layer.getmembers() if m.issym()}
    assert shell - set(links) == {"ash"}
    root = read_layout(built["probe-root"])
    assert root.paths() == layout.paths()


def test_pause_and_distroless_have_no_shell(built: dict[str, Path]) -> None:
    pause = read_layout(built["pause"])
    assert [m.name for m in pause.layer.getmembers() if not m.isdir()] == ["bin/k8ssec-probe"]
    distroless = read_layout(built["distroless"])
    assert [m.name for m in distroless.layer.getmembers() if not m.isdir()] == [
        "bin/k8ssec-probe",
        "etc/group",
        "etc/passwd",
    ]
    passwd = distroless.layer.extractfile("etc/passwd")
    assert passwd is not None and b"nonroot:x:65532:65532:" in passwd.read()


def test_the_build_is_byte_for_byte_deterministic(inputs: dict[str, Any], tmp_path: Path) -> None:
    first = build_images(out_dir=tmp_path / "a", **inputs)
    second = build_images(out_dir=tmp_path / "b", **inputs)
    for name in NAMES:
        assert first[name].read_bytes() == second[name].read_bytes(), name
    # An unchanged rebuild leaves the file alone; a changed input changes the image.
    before = first["probe"].stat().st_mtime_ns
    os.utime(first["probe"], ns=(before - 10**9, before - 10**9))
    build_images(out_dir=tmp_path / "a", **inputs)
    assert first["probe"].stat().st_mtime_ns == before - 10**9
    inputs["probe_binary"].write_bytes(elf(b"probe v2"))
    third = build_images(out_dir=tmp_path / "c", **inputs)
    assert third["probe"].read_bytes() != first["probe"].read_bytes()


def test_missing_inputs_say_how_to_get_them(inputs: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(LocalImageError, match=r"controlplane/probe/build\.sh"):
        build_images(**{**inputs, "probe_binary": tmp_path / "nope"}, out_dir=tmp_path / "out")
    with pytest.raises(LocalImageError, match="apt-get install busybox-static"):
        build_images(**{**inputs, "busybox": tmp_path / "nope"}, out_dir=tmp_path / "out")
    dynamic = tmp_path / "dynamic-busybox"
    dynamic.write_bytes(elf(b"busybox", interpreter=True))
    with pytest.raises(LocalImageError, match="not a static 64-bit ELF executable; install Debian's busybox-static"):
        build_images(**{**inputs, "busybox": dynamic}, out_dir=tmp_path / "out")
    with pytest.raises(LocalImageError, match=r"not a static .*controlplane/probe/build\.sh"):
        build_images(**{**inputs, "probe_binary": dynamic}, out_dir=tmp_path / "out")
    with pytest.raises(LocalImageError, match="apt-get install dash"):
        build_images(**{**inputs, "shell": tmp_path / "nope"}, out_dir=tmp_path / "out")
    with pytest.raises(LocalImageError, match="unknown image names"):
        build_images(**inputs, out_dir=tmp_path / "out", names=["nginx"])


FAKE_CTR = """
import json, os, sys
log = os.environ["FAKE_CTR_LOG"]
with open(log, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[-2:] == ["ls", "--quiet"]:
    print(os.environ.get("FAKE_CTR_LIST", ""))
"""


def _fake_ctr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Path]:
    """A ctr stand-in that logs its arguments (one JSON line per call) and lists FAKE_CTR_LIST."""
    script = tmp_path / "ctr.py"
    script.write_text(FAKE_CTR)
    log = tmp_path / "ctr.log"
    monkeypatch.setenv("FAKE_CTR_LOG", str(log))
    return [sys.executable, str(script)], log


def test_import_runs_ctr_per_tarball_and_checks_the_names(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctr, log = _fake_ctr(tmp_path, monkeypatch)
    monkeypatch.setenv("FAKE_CTR_LIST", "k8ssec.local/pause:1\nk8ssec.local/probe:1\nother:1")
    chosen = {name: built[name] for name in ("pause", "probe")}
    got = import_images(chosen, ctr=ctr, address="/x/c.sock", snapshotter="native")
    assert got == ["k8ssec.local/pause:1", "k8ssec.local/probe:1"]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    base = ["--address", "/x/c.sock", "--namespace", "k8s.io"]
    assert calls == [
        [*base, "images", "import", "--snapshotter", "native", str(built["pause"])],
        [*base, "images", "import", "--snapshotter", "native", str(built["probe"])],
        [*base, "images", "ls", "--quiet"],
    ]
    # ctr that imports but lists nothing: an error, never a silent pass.
    monkeypatch.setenv("FAKE_CTR_LIST", "k8ssec.local/pause:1")
    with pytest.raises(LocalImageError, match=r"lists no image \['k8ssec.local/probe:1'\]"):
        import_images(chosen, ctr=ctr)
    with pytest.raises(LocalImageError, match="ctr-that-is-not-there not found"):
        import_images(chosen, ctr=["ctr-that-is-not-there"])
    with pytest.raises(LocalImageError, match="tarballs missing"):
        import_images({"probe": tmp_path / "nope.tar"}, ctr=ctr)


# --- The real files: the probe images' shell answers the in-pod assertions as intended. ---


@dataclass
class _Result:
    rc: int
    stdout: str
    stderr: str


class ChrootHost:
    """The two things the in-pod assertions ask of a testinfra Host, answered inside a chroot."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.backend = type("Backend", (), {"name": name})()

    def run(self, command: str, *args: str) -> _Result:
        done = subprocess.run(
            [CHROOT, "--userspec=65534:65534", str(self.root), "/bin/sh", "-c", command % args],
            capture_output=True,
            text=True,
            env={"PATH": local_images.PATH_ENV.removeprefix("PATH=")},
            check=False,
        )
        return _Result(done.returncode, done.stdout, done.stderr)


def _unpack(tarball: Path, root: Path) -> Path:
    layout = read_layout(tarball)
    root.mkdir()
    # The "tar" filter where this Python has extraction filters (3.10.12+, 3.11.4+), so 3.14's
    # default does not change what is unpacked; the layer holds only relative names and links.
    extra: dict[str, Any] = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
    layout.layer.extractall(root, **extra)
    return root


def _real_inputs_or_skip() -> None:
    missing = [
        what
        for what, ok in (
            (f"the probe binary {PROBE_BIN} (bash controlplane/probe/build.sh)", PROBE_BIN.is_file()),
            ("/bin/busybox (apt-get install busybox-static)", local_images.DEFAULT_BUSYBOX.is_file()),
            ("/bin/dash", local_images.DEFAULT_SHELL.is_file()),
            ("chroot", CHROOT != "chroot"),
            ("root (chroot needs it)", os.geteuid() == 0),
        )
        if not ok
    ]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def test_real_probe_images_answer_the_in_pod_assertions(tmp_path: Path) -> None:
    _real_inputs_or_skip()
    built = build_images(
        PROBE_BIN, local_images.DEFAULT_BUSYBOX, tmp_path / "out", names=["probe", "probe-pkg", "probe-shell"]
    )
    probe = ChrootHost(_unpack(built["probe"], tmp_path / "probe"), "probe")
    assert probe.run("id -u").stdout.strip() == "65534"
    assert probe.run("k8ssec-probe version").stdout.startswith("k8ssec-probe ")
    # dash as /bin/sh: no busybox applet answers `command -v` without its link.
    assert_in_pod_no_package_manager(probe)
    assert_in_pod_no_shell(probe)

    pkg = ChrootHost(_unpack(built["probe-pkg"], tmp_path / "pkg"), "probe-pkg")
    with pytest.raises(SecurityAssertionError, match=r"dpkg \(/bin/dpkg\)"):
        assert_in_pod_no_package_manager(pkg)
    assert_in_pod_no_shell(pkg)

    shell = ChrootHost(_unpack(built["probe-shell"], tmp_path / "shell"), "probe-shell")
    with pytest.raises(SecurityAssertionError, match=r"ash \(/bin/ash\)"):
        assert_in_pod_no_shell(shell)
    assert_in_pod_no_package_manager(shell)


# --- The real import, with a throwaway containerd (built by controlplane/build-node.sh). ---

NODE_BIN = REPO / "controlplane" / ".cache" / "bin" / "node"

CONTAINERD_CONFIG = """\
version = 4
root = "{root}/root"
state = "{root}/state"
# No CRI (no kubelet here) and no NRI (its socket lives under /var/run): only the content and
# image stores and the snapshotter an import needs.
disabled_plugins = [
  "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images",
  "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.nri.v1.nri",
]
[plugins."io.containerd.server.v1.grpc"]
  address = "{root}/containerd.sock"
[plugins."io.containerd.server.v1.ttrpc"]
  address = "{root}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
"""


@contextlib.contextmanager
def throwaway_containerd() -> Iterator[tuple[Path, Path]]:
    """A containerd of its own (root, state and socket in a fresh directory); (ctr, socket).

    Everything it made is removed afterwards, and no mount of it may outlive it.
    """
    containerd, ctr = NODE_BIN / "containerd", NODE_BIN / "ctr"
    missing = [str(p) for p in (containerd, ctr, PROBE_BIN) if not p.is_file()]
    if missing or os.geteuid() != 0:
        pytest.skip(
            f"needs {', '.join(missing) or 'root'} (bash controlplane/build-node.sh; bash controlplane/probe/build.sh)"
        )
    # A short root: the socket path must fit in sun_path (108 bytes).
    root = Path(tempfile.mkdtemp(prefix="k8ssec-ctd-"))
    config = root / "config.toml"
    config.write_text(CONTAINERD_CONFIG.format(root=root))
    log = (root / "containerd.log").open("wb")
    daemon = subprocess.Popen([str(containerd), "--config", str(config)], stdout=log, stderr=log)
    try:
        socket = root / "containerd.sock"
        deadline = time.monotonic() + 20
        while not socket.exists():
            assert daemon.poll() is None, (root / "containerd.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "containerd made no socket in 20 s"
            time.sleep(0.05)
        yield ctr, socket
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        mounts = Path("/proc/self/mounts").read_text()
        leftover = [line for line in mounts.splitlines() if str(root) in line]
        shutil.rmtree(root, ignore_errors=True)
    assert not leftover, leftover


def _ctr_check(ctr: Path, socket: Path) -> list[list[str]]:
    """``ctr images check`` rows: name, type, digest, status, size, unpacked."""
    listing = subprocess.run(
        [str(ctr), "--address", str(socket), "--namespace", "k8s.io", "images", "check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split() for line in listing.splitlines()[1:]]


def test_ctr_imports_the_images_under_their_names(tmp_path: Path) -> None:
    with throwaway_containerd() as (ctr, socket):
        built = build_images(PROBE_BIN, local_images.DEFAULT_BUSYBOX, tmp_path / "out")
        got = import_images(built, ctr=[str(ctr)], address=str(socket))
        assert got == sorted(f"k8ssec.local/{name}:1" for name in NAMES)
        rows = _ctr_check(ctr, socket)
        # Every image complete and unpacked into the snapshotter, ready for a container.
        assert sorted(row[0] for row in rows) == got
        assert all(row[-1] == "true" and row[3] == "complete" for row in rows), rows


def test_ctr_imports_standins_under_the_manifests_normalised_names(tmp_path: Path) -> None:
    """The name containerd lists is the one the CRI resolves a pod's ``image`` by (ParseDockerRef
    of it): for a tag+digest reference, the digest form, although the digest is not the image's."""
    with throwaway_containerd() as (ctr, socket):
        specs = [
            local_images.StandinSpec(API_REF, ("/app/bin/migrate",), ("/app/bin/migrate",), ("8080/TCP",)),
            local_images.StandinSpec("redis:7", ports=("6379/TCP",)),
        ]
        built = local_images.build_standins(specs, PROBE_BIN, tmp_path / "out")
        got = local_images.import_named(built, ctr=[str(ctr)], address=str(socket))
        assert got == ["docker.io/library/redis:7", API_NAME]
        listed = subprocess.run(
            [str(ctr), "--address", str(socket), "--namespace", "k8s.io", "images", "ls", "--quiet"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert sorted(listed) == got
        rows = {row[0]: row for row in _ctr_check(ctr, socket)}
        assert all(row[-1] == "true" and row[3] == "complete" for row in rows.values()), rows
        # The stored manifest's digest is ours, not the one the name carries: nothing compares them.
        assert rows[API_NAME][2] != API_NAME.partition("@")[2]


def test_the_command_line_builds_and_names_what_is_missing(
    inputs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(tmp_path / "out"), "--probe", str(inputs["probe_binary"]), "--busybox", str(inputs["busybox"])]
    # The command line uses the machine's dash; the stand-in shell is for build_images() only.
    if not local_images.DEFAULT_SHELL.is_file():
        pytest.skip("needs /bin/dash (Debian's dash)")
    assert local_images.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"k8ssec.local/probe:1 {tmp_path / 'out' / 'probe.oci.tar'}"
    assert len(lines) == len(NAMES)
    assert local_images.main([str(tmp_path / "out"), "--probe", str(tmp_path / "nope")]) == 1
    assert "bash controlplane/probe/build.sh" in capsys.readouterr().err


# --- Stand-ins: images named like a manifest's references. ---

HARDENED = REPO / "example_suites" / "manifests" / "hardened"
API_REF = "registry.example.com/shop/api:3.8.1@sha256:2a1d58f510fd47525727bc0cfc8448a3542f3723f662e3b166009490aea7bf4a"
API_NAME = "registry.example.com/shop/api@sha256:2a1d58f510fd47525727bc0cfc8448a3542f3723f662e3b166009490aea7bf4a"
BUSYBOX_DIGEST = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        # distribution/reference v0.6.0 normalize_test.go TestParseDockerRef, the table containerd's
        # CRI resolves with (ParseDockerRef), case for case.
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:latest", "docker.io/library/busybox:latest"),
        (f"busybox@{BUSYBOX_DIGEST}", f"docker.io/library/busybox@{BUSYBOX_DIGEST}"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox:latest", "docker.io/library/busybox:latest"),
        ("library/busybox:latest", "docker.io/library/busybox:latest"),
        ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
        ("gcr.io/library/busybox", "gcr.io/library/busybox:latest"),
        (f"gcr.io/library/busybox:latest@{BUSYBOX_DIGEST}", f"gcr.io/library/busybox@{BUSYBOX_DIGEST}"),
        # Ours: the hardened demo's tag+digest references, a port, a namespace on Docker Hub.
        (API_REF, API_NAME),
        ("localhost:5000/x:1", "localhost:5000/x:1"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("index.docker.io/nginx", "docker.io/library/nginx:latest"),
    ],
)
def test_containerd_name_is_parse_docker_ref(reference: str, name: str) -> None:
    assert local_images.containerd_name(reference) == name


def test_containerd_name_refuses_what_the_kubelet_refuses() -> None:
    with pytest.raises(LocalImageError, match="no stand-in for 'Nginx'"):
        local_images.containerd_name("Nginx")
    with pytest.raises(LocalImageError, match="invalid checksum digest length"):
        local_images.containerd_name("nginx@sha256:" + "a" * 40)


def _standin(inputs: dict[str, Any], tmp_path: Path, reference: str = API_REF, **kwargs: Any) -> tuple[str, Path]:
    spec: dict[str, Any] = {
        "entry_points": ["/app/bin/migrate", "pg_isready"],
        "exit_paths": ["/app/bin/migrate", "pg_isready"],
        "ports": ["8080/TCP", "53/UDP"],
        **kwargs,
    }
    return local_images.standin_image(reference, probe_binary=inputs["probe_binary"], out_dir=tmp_path / "s", **spec)


def test_standin_image_layout(inputs: dict[str, Any], tmp_path: Path) -> None:
    name, path = _standin(inputs, tmp_path)
    assert name == API_NAME
    layout = read_layout(path)
    (entry,) = layout.index["manifests"]
    # By digest, the OCI ref name is the whole name, as containerd's exporter writes it.
    assert entry["annotations"] == {"io.containerd.image.name": API_NAME, "org.opencontainers.image.ref.name": API_NAME}
    assert layout.manifest["annotations"] == {"io.k8ssec.standin-for": API_REF}
    assert layout.config["config"] == {
        "User": "65534:65534",
        "Entrypoint": ["/bin/k8ssec-probe", "standin"],
        "Env": [
            local_images.PATH_ENV,
            "K8SSEC_STANDIN_EXIT=/app/bin/migrate,pg_isready",
            "K8SSEC_STANDIN_PORTS=8080/TCP,53/UDP",
        ],
        "WorkingDir": "/",
        "Labels": {"io.k8ssec.standin-for": API_REF},
    }
    kinds = {m.name: (m.type, m.mode, m.linkname) for m in layout.layer.getmembers()}
    assert kinds == {
        "app": (tarfile.DIRTYPE, 0o755, ""),
        "app/bin": (tarfile.DIRTYPE, 0o755, ""),
        "app/bin/migrate": (tarfile.SYMTYPE, 0o777, "/bin/k8ssec-probe"),
        "bin": (tarfile.DIRTYPE, 0o755, ""),
        "bin/k8ssec-probe": (tarfile.REGTYPE, 0o755, ""),
        "dev": (tarfile.DIRTYPE, 0o755, ""),
        "etc": (tarfile.DIRTYPE, 0o755, ""),
        "etc/group": (tarfile.REGTYPE, 0o644, ""),
        "etc/passwd": (tarfile.REGTYPE, 0o644, ""),
        "proc": (tarfile.DIRTYPE, 0o555, ""),
        "sys": (tarfile.DIRTYPE, 0o555, ""),
        "tmp": (tarfile.DIRTYPE, 0o1777, ""),
        "usr": (tarfile.DIRTYPE, 0o755, ""),
        "usr/local": (tarfile.DIRTYPE, 0o755, ""),
        "usr/local/bin": (tarfile.DIRTYPE, 0o755, ""),
        # A bare name is found through PATH, whose first searched directory this is.
        "usr/local/bin/pg_isready": (tarfile.SYMTYPE, 0o777, "/bin/k8ssec-probe"),
    }
    assert layout.paths() == sorted(layout.paths())
    for member in [*layout.layer.getmembers(), *layout.outer]:
        assert (member.uid, member.gid, member.uname, member.gname, member.mtime) == (0, 0, "", "", 0), member.name
    probe = layout.layer.extractfile("bin/k8ssec-probe")
    assert probe is not None and probe.read() == inputs["probe_binary"].read_bytes()

    # A tagged reference: the OCI ref name is the tag.
    name, path = _standin(inputs, tmp_path, "redis:7", entry_points=[], exit_paths=[], ports=[])
    assert name == "docker.io/library/redis:7"
    assert read_layout(path).index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "7"
    assert "K8SSEC_STANDIN_PORTS=" in read_layout(path).config["config"]["Env"]


def test_standin_entry_points_cannot_replace_the_image(inputs: dict[str, Any], tmp_path: Path) -> None:
    # The probe itself is already there: no link to itself.
    _, path = _standin(inputs, tmp_path, entry_points=["/bin/k8ssec-probe", "./run", "bin/../opt/app"])
    names = read_layout(path).paths()
    assert read_layout(path).member("bin/k8ssec-probe").isfile()
    assert {"run", "opt/app"} <= set(names)
    with pytest.raises(LocalImageError, match="would replace the image's /etc/passwd"):
        _standin(inputs, tmp_path, entry_points=["/etc/passwd"])
    with pytest.raises(LocalImageError, match="needs /etc/passwd as a directory"):
        _standin(inputs, tmp_path, entry_points=["/etc/passwd/x"])
    with pytest.raises(LocalImageError, match=r"controlplane/probe/build\.sh"):
        local_images.standin_image(API_REF, probe_binary=tmp_path / "nope", out_dir=tmp_path)


def test_standin_build_is_deterministic(inputs: dict[str, Any], tmp_path: Path) -> None:
    _, first = _standin(inputs, tmp_path / "a")
    _, second = _standin(inputs, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.name == second.name == f"standin-api-{hashlib.sha256(API_NAME.encode()).hexdigest()[:16]}.oci.tar"
    before = first.stat().st_mtime_ns
    os.utime(first, ns=(before - 10**9, before - 10**9))
    _standin(inputs, tmp_path / "a")
    assert first.stat().st_mtime_ns == before - 10**9, "an unchanged rebuild leaves the file alone"
    _, other = _standin(inputs, tmp_path / "c", ports=["8080/TCP"])
    assert other.read_bytes() != first.read_bytes()


def test_standins_for_the_hardened_demo() -> None:
    from pytest_k8ssec.sources.manifests import load

    loaded = load([str(HARDENED)])
    assert not loaded.errors
    prefix = "registry.example.com/"
    assert local_images.standins_for(loaded.objects) == [
        # The StatefulSet's readiness probe runs pg_isready inside the container.
        local_images.StandinSpec(
            f"{prefix}mirror/postgres:16.2@sha256:6bd666787c001d05a031c3de95841ac35ea5a8fe5e28340b29d294e57f3f426b",
            entry_points=("pg_isready",),
            exit_paths=("pg_isready",),
            ports=("5432/TCP",),
        ),
        # The init container migrates and exits; the app container (no command) serves.
        local_images.StandinSpec(API_REF, ("/app/bin/migrate",), ("/app/bin/migrate",), ("8080/TCP",)),
        # The CronJob's container has only args: the image's entrypoint runs, as "standin".
        local_images.StandinSpec(
            f"{prefix}shop/report:1.1.0@sha256:56f549b7237972cda99b70ec4527c3ddececd2278383f962a6b280c792110ad6",
            exit_paths=("standin",),
        ),
        local_images.StandinSpec(
            f"{prefix}shop/web:1.4.2@sha256:4dbb1efc9c4f883128bd77839566dafbc05d0e2fb4af6ce1172b68170b1d57d9",
            ports=("8080/TCP",),
        ),
        # No port declared: the worker serves nothing and runs until it is stopped.
        local_images.StandinSpec(
            f"{prefix}shop/worker:2.3.0@sha256:aa1c78f344b8bea609e118179f5d442f7efa341aa19354a1a3d7ce54ec6f687d"
        ),
    ]


def test_standins_for_edge_cases() -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "initContainers": [
                {"name": "sidecar", "image": "proxy:1", "restartPolicy": "Always", "ports": [{"containerPort": 15001}]},
                {"name": "init", "image": "tools:1"},
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "tools:1",
                    "command": ["serve"],
                    "ports": [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 9000}, {"name": "bad"}],
                    "lifecycle": {"preStop": {"exec": {"command": ["/bin/drain", "--now"]}}},
                    "livenessProbe": {"exec": {"command": []}},
                },
                {"name": "ours", "image": "k8ssec.local/probe:1", "command": ["x"]},
                {"name": "broken", "image": "Not/Valid"},
            ],
        },
    }
    job: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "tools:1", "command": ["/bin/batch"]}]}}},
    }
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert local_images.standins_for([other, job, pod]) == [
        # A sidecar keeps running: it serves its port and is not told to exit.
        local_images.StandinSpec("proxy:1", ports=("15001/TCP",)),
        local_images.StandinSpec(
            "tools:1",
            entry_points=("/bin/batch", "/bin/drain", "serve"),
            exit_paths=("/bin/batch", "/bin/drain", "standin"),
            ports=("53/UDP", "9000/TCP"),
        ),
    ]


def test_build_standins_merges_references_of_one_name(inputs: dict[str, Any], tmp_path: Path) -> None:
    specs = [
        local_images.StandinSpec("nginx", ports=("80/TCP",)),
        local_images.StandinSpec("docker.io/library/nginx:latest", ("/docker-entrypoint.sh",), (), ("8080/TCP",)),
        local_images.StandinSpec("redis:7"),
    ]
    built = local_images.build_standins(specs, inputs["probe_binary"], tmp_path)
    assert sorted(built) == ["docker.io/library/nginx:latest", "docker.io/library/redis:7"]
    nginx = read_layout(built["docker.io/library/nginx:latest"])
    assert "K8SSEC_STANDIN_PORTS=80/TCP,8080/TCP" in nginx.config["config"]["Env"]
    assert nginx.member("docker-entrypoint.sh").issym()


def test_import_named_runs_ctr_and_checks_the_names(
    inputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctr, log = _fake_ctr(tmp_path, monkeypatch)
    name, path = _standin(inputs, tmp_path)
    monkeypatch.setenv("FAKE_CTR_LIST", f"k8ssec.local/pause:1\n{API_NAME}")
    assert local_images.import_named({name: path}, ctr=ctr) == [API_NAME]
    assert [json.loads(line) for line in log.read_text().splitlines()] == [
        ["--namespace", "k8s.io", "images", "import", str(path)],
        ["--namespace", "k8s.io", "images", "ls", "--quiet"],
    ]
    monkeypatch.setenv("FAKE_CTR_LIST", "k8ssec.local/pause:1")
    with pytest.raises(LocalImageError, match="lists no image"):
        local_images.import_named({name: path}, ctr=ctr)
    with pytest.raises(LocalImageError, match="unknown image name 'nginx'"):
        import_images({"nginx": path}, ctr=ctr)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_real_standin_image_runs_its_programs(tmp_path: Path) -> None:
    """The real probe in a stand-in image's root file system, run as the runtime runs a container:
    the entry point's path as argv[0], the image's environment, an unprivileged user."""
    _real_inputs_or_skip()
    import http.client

    port = _free_port()
    name, path = local_images.standin_image(
        API_REF,
        probe_binary=PROBE_BIN,
        entry_points=["/app/bin/migrate"],
        exit_paths=["/app/bin/migrate"],
        ports=[f"{port}/TCP"],
        out_dir=tmp_path / "out",
    )
    assert name == API_NAME
    root = _unpack(path, tmp_path / "root")
    config = read_layout(path).config["config"]
    # The image's environment, and loopback only: this runs on the host's network.
    env = dict(item.split("=", 1) for item in config["Env"]) | {"K8SSEC_STANDIN_ADDRESS": "127.0.0.1"}
    chroot = [CHROOT, f"--userspec={config['User']}", str(root)]

    # The init container: its command, with the real application's arguments.
    done = subprocess.run([*chroot, "/app/bin/migrate", "up"], env=env, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert "/app/bin/migrate is listed in K8SSEC_STANDIN_EXIT" in done.stdout

    # The app container: no command, so the image's entrypoint with the manifest's args.
    server = subprocess.Popen(
        [*chroot, *config["Entrypoint"], "--listen", ":8080"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            # http.client, not urllib: no proxy from the environment comes between.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                connection.request("GET", "/ready")
                response = connection.getresponse()
                status, body = response.status, response.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the stand-in served nothing in 10 s"
                time.sleep(0.05)
            finally:
                connection.close()
        assert (status, body.strip()) == (200, os.uname().nodename)
        server.terminate()
        out, _ = server.communicate(timeout=10)
        assert server.returncode == 0, out
        assert "running as standin" in out
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
