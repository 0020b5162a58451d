"""The local node's images: valid OCI layouts, named for containerd, deterministic, with the
content the in-pod tests rely on."""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parents[2]
PROBE_BIN = REPO / "controlplane" / ".cache" / "bin" / "k8ssec-probe"
NAMES = ["pause", "probe", "probe-root", "probe-pkg", "probe-shell", "distroless"]


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


def test_import_runs_ctr_per_tarball_and_checks_the_names(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "ctr.py"
    script.write_text(FAKE_CTR)
    log = tmp_path / "ctr.log"
    monkeypatch.setenv("FAKE_CTR_LOG", str(log))
    monkeypatch.setenv("FAKE_CTR_LIST", "k8ssec.local/pause:1\nk8ssec.local/probe:1\nother:1")
    chosen = {name: built[name] for name in ("pause", "probe")}
    got = import_images(chosen, ctr=[sys.executable, str(script)], address="/x/c.sock", snapshotter="native")
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
        import_images(chosen, ctr=[sys.executable, str(script)])
    with pytest.raises(LocalImageError, match="ctr-that-is-not-there not found"):
        import_images(chosen, ctr=["ctr-that-is-not-there"])
    with pytest.raises(LocalImageError, match="tarballs missing"):
        import_images({"probe": tmp_path / "nope.tar"}, ctr=[sys.executable, str(script)])


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
            ["chroot", "--userspec=65534:65534", str(self.root), "/bin/sh", "-c", command % args],
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
            ("chroot", shutil.which("chroot") is not None),
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


def test_ctr_imports_the_images_under_their_names(tmp_path: Path) -> None:
    containerd, ctr = NODE_BIN / "containerd", NODE_BIN / "ctr"
    missing = [str(p) for p in (containerd, ctr, PROBE_BIN) if not p.is_file()]
    if missing or os.geteuid() != 0:
        pytest.skip(
            f"needs {', '.join(missing) or 'root'} (bash controlplane/build-node.sh; bash controlplane/probe/build.sh)"
        )
    built = build_images(PROBE_BIN, local_images.DEFAULT_BUSYBOX, tmp_path / "out")
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
        got = import_images(built, ctr=[str(ctr)], address=str(socket))
        assert got == sorted(f"k8ssec.local/{name}:1" for name in NAMES)
        listing = subprocess.run(
            [str(ctr), "--address", str(socket), "--namespace", "k8s.io", "images", "check"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [line.split() for line in listing.splitlines()[1:]]
        # Every image complete and unpacked into the snapshotter, ready for a container.
        assert sorted(row[0] for row in rows) == got
        assert all(row[-1] == "true" and row[3] == "complete" for row in rows), listing
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
