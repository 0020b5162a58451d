"""Container images for the local node, built here without a registry or a container tool.

The local node's pods cannot pull: no registry is reachable. These images are OCI image layouts
written as tarballs (``index.json``, ``oci-layout``, ``blobs/sha256/...``), one gzip layer each, from
files already on the machine: the ``k8ssec-probe`` program (``controlplane/probe/build.sh``),
Debian's ``busybox-static`` and Debian's ``dash`` with the C library it links. ``ctr images import``
reads them; pods use them with ``imagePullPolicy: Never``.

The build is byte-for-byte deterministic for the same input files: fixed modification times,
sorted entries, owner 0:0, no host user or group names, gzip without a timestamp, JSON with sorted
keys.

Why dash is ``/bin/sh`` in the probe images and not busybox: Debian's busybox is built with its
shell's "standalone" mode, so ``command -v dpkg`` (and ``ash``, ``rpm``) succeeds inside any image
whose shell is that busybox, whatever symlinks exist. The in-pod assertions ask exactly that, so
such an image could never pass ``assert_in_pod_no_package_manager`` or
``assert_in_pod_no_shell``. With dash, only the files in the image answer.

Stand-ins: manifests name images no registry here serves (``registry.example.com/shop/api:3.8.1@sha256:...``).
:func:`standins_for` reads what their containers run and serve, :func:`build_standins` writes
one image per reference, named as containerd's CRI looks the reference up
(:func:`containerd_name`), holding k8ssec-probe in its ``standin`` mode at every program path
the manifests name. With the default ``IfNotPresent`` pull policy the kubelet finds it and the
pods run unchanged.

>>> tarballs = build_images(Path("controlplane/.cache/bin/k8ssec-probe"), Path("/bin/busybox"), out)
>>> import_images(tarballs, ctr=["ctr"], address="/run/containerd/containerd.sock")
>>> standins = build_standins(standins_for(objects), Path("controlplane/.cache/bin/k8ssec-probe"), out)
>>> import_named(standins, ctr=["ctr"], address="/run/containerd/containerd.sock")
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import posixpath
import struct
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.images import ImageReferenceError, parse_image
from pytest_k8ssec.model.objects import K8sObject, Provenance, as_list, as_mapping
from pytest_k8ssec.model.workloads import pod_spec

REGISTRY: Final = "k8ssec.local"
TAG: Final = "1"
ARCHITECTURE: Final = "amd64"

MEDIA_INDEX: Final = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
# containerd's importer names an image after this annotation, unchanged, when ctr imports without
# --base-name (containerd v2.4.2: core/transfer/image/imagestore.go imageName, and
# client/import.go for --local); the OCI ref name alone would get an "import-<date>" prefix.
ANNOTATION_CONTAINERD_NAME: Final = "io.containerd.image.name"
ANNOTATION_REF_NAME: Final = "org.opencontainers.image.ref.name"

DEFAULT_BUSYBOX: Final = Path("/bin/busybox")
DEFAULT_SHELL: Final = Path("/bin/dash")
# What Debian's dash (amd64) loads: its ELF interpreter and libc, at the paths the binary and
# Debian's ld.so look in. In the image they are regular files, not the host's symlinks.
DEFAULT_SHELL_LIBS: Final[Mapping[str, Path]] = {
    "lib64/ld-linux-x86-64.so.2": Path("/lib64/ld-linux-x86-64.so.2"),
    "lib/x86_64-linux-gnu/libc.so.6": Path("/lib/x86_64-linux-gnu/libc.so.6"),
}

PATH_ENV: Final = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROBE: Final = "/bin/k8ssec-probe"
# The probe images' default: answer on 8080 with every protocol the node has; a pod overrides it
# with ``args`` (the entrypoint stays the probe) or ``command``.
DEFAULT_CMD: Final = ("serve", "--port", "8080", "--protocols", "tcp,udp,sctp")

# busybox applets linked in /bin of every probe image: a shell's companions, the network clients
# and servers, ps/id for the in-pod tests. Not ``sh``/``ash`` (dash is /bin/sh; ``ash`` is what
# probe-shell adds) and not ``dpkg``/``rpm`` (what probe-pkg adds).
APPLETS: Final = (
    "[", "awk", "basename", "cat", "chmod", "cp", "cut", "date", "df", "dirname", "du", "echo",
    "env", "expr", "false", "find", "grep", "head", "hostname", "httpd", "id", "ip", "kill", "ln",
    "ls", "mkdir", "mktemp", "mount", "mv", "nc", "netstat", "nslookup", "ping", "printf", "ps",
    "pwd", "readlink", "rm", "sed", "seq", "sleep", "sort", "stat", "tail", "tee", "telnet", "test",
    "timeout", "top", "touch", "tr", "true", "uname", "uptime", "wc", "wget", "which", "whoami",
    "xargs",
)  # fmt: skip
PACKAGE_MANAGER_APPLETS: Final = ("dpkg", "dpkg-deb", "rpm")
SHELL_APPLETS: Final = ("ash",)

# root, nobody (the probe images' user) and nonroot (distroless's user, 65532 as in
# gcr.io/distroless), so ``id`` and the runtime's user lookup find names and groups.
PASSWD: Final = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
)
GROUP: Final = "root:x:0:\nnonroot:x:65532:\nnogroup:x:65534:\n"

# Every entry's modification time: fixed, so two builds are identical.
EPOCH: Final = 0


class LocalImageError(K8sSecError):
    """An image could not be built or imported; the message says what is missing and how to get it."""


@dataclass(frozen=True)
class Image:
    """One image: its short name (``k8ssec.local/<name>:1``), user and what its layer holds."""

    name: str
    user: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    busybox: bool
    applets: tuple[str, ...] = ()
    summary: str = ""

    @property
    def ref(self) -> str:
        return f"{REGISTRY}/{self.name}:{TAG}"


IMAGES: Final = (
    Image("pause", "65535:65535", (PROBE, "pause"), (), busybox=False, summary="the pod sandbox: k8ssec-probe pause only"),
    Image("probe", "65534:65534", (PROBE,), DEFAULT_CMD, busybox=True, applets=APPLETS,
          summary="dash as /bin/sh, busybox applets, k8ssec-probe; no package manager, no shell but sh"),
    Image("probe-root", "0:0", (PROBE,), DEFAULT_CMD, busybox=True, applets=APPLETS,
          summary="probe running as root (the kubelet must refuse it under runAsNonRoot)"),
    Image("probe-pkg", "65534:65534", (PROBE,), DEFAULT_CMD, busybox=True,
          applets=APPLETS + PACKAGE_MANAGER_APPLETS, summary="probe plus busybox's dpkg, dpkg-deb and rpm"),
    Image("probe-shell", "65534:65534", (PROBE,), DEFAULT_CMD, busybox=True,
          applets=APPLETS + SHELL_APPLETS, summary="probe plus busybox's ash, an interactive shell"),
    Image("distroless", "65532:65532", (PROBE,), DEFAULT_CMD, busybox=False,
          summary="k8ssec-probe, /etc/passwd and /etc/group only; no shell"),
)  # fmt: skip


def image_refs() -> dict[str, str]:
    """Short name -> the full reference pods use, e.g. ``probe`` -> ``k8ssec.local/probe:1``."""
    return {image.name: image.ref for image in IMAGES}


@dataclass(frozen=True)
class _Entry:
    path: str
    kind: bytes  # tarfile.DIRTYPE, REGTYPE or SYMTYPE
    mode: int
    data: bytes = b""
    target: str = ""


def _read(path: Path, what: str, how: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise LocalImageError(f"{what} {path} cannot be read ({error.strerror}); {how}") from None


@dataclass(frozen=True)
class _Inputs:
    probe: bytes
    busybox: bytes
    shell: bytes
    shell_libs: tuple[tuple[str, bytes], ...]


def _static_elf(data: bytes) -> bool:
    """Whether ``data`` is a 64-bit little-endian ELF file without a program interpreter."""
    if data[:6] != b"\x7fELF\x02\x01" or len(data) < 64:
        return False
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    pt_interp = 3
    for i in range(phnum):
        (p_type,) = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == pt_interp:
            return False
    return True


def _load_inputs(probe: Path, busybox: Path, shell: Path, shell_libs: Mapping[str, Path]) -> _Inputs:
    # The images hold no libc for these two: a dynamically linked one (Debian's plain `busybox`
    # package, a cgo build) would fail only when a container starts, far from the cause.
    probe_bytes = _read(probe, "the probe binary", "build it with `bash controlplane/probe/build.sh`")
    if not _static_elf(probe_bytes):
        raise LocalImageError(
            f"the probe binary {probe} is not a static 64-bit ELF executable; rebuild it with controlplane/probe/build.sh"
        )
    busybox_bytes = _read(busybox, "busybox", "install Debian's busybox-static (`apt-get install busybox-static`)")
    if not _static_elf(busybox_bytes):
        raise LocalImageError(
            f"{busybox} is not a static 64-bit ELF executable; install Debian's busybox-static, not busybox"
        )
    return _Inputs(
        probe=probe_bytes,
        busybox=busybox_bytes,
        shell=_read(shell, "the shell", "install Debian's dash (`apt-get install dash`)"),
        shell_libs=tuple(
            (dest, _read(src, "the shell's library", "install Debian's libc6 (amd64)"))
            for dest, src in sorted(shell_libs.items())
        ),
    )


def _entries(image: Image, inputs: _Inputs) -> list[_Entry]:
    entries = [
        _Entry("bin", tarfile.DIRTYPE, 0o755),
        _Entry("dev", tarfile.DIRTYPE, 0o755),
        _Entry("etc", tarfile.DIRTYPE, 0o755),
        _Entry("proc", tarfile.DIRTYPE, 0o555),
        _Entry("sys", tarfile.DIRTYPE, 0o555),
        _Entry(PROBE.lstrip("/"), tarfile.REGTYPE, 0o755, inputs.probe),
    ]
    if image.name != "pause":
        entries += [
            _Entry("etc/passwd", tarfile.REGTYPE, 0o644, PASSWD.encode()),
            _Entry("etc/group", tarfile.REGTYPE, 0o644, GROUP.encode()),
            # Sticky and world-writable like a real /tmp: any user the pod picks can write there.
            _Entry("tmp", tarfile.DIRTYPE, 0o1777),
        ]
    if image.busybox:
        entries += [
            _Entry("bin/busybox", tarfile.REGTYPE, 0o755, inputs.busybox),
            _Entry("bin/sh", tarfile.REGTYPE, 0o755, inputs.shell),
        ]
        entries += [_Entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, target="busybox") for applet in image.applets]
        dirs = {os.path.dirname(dest) for dest, _ in inputs.shell_libs}
        for parent in sorted(dirs | {os.path.dirname(d) for d in dirs} - {""}):
            entries.append(_Entry(parent, tarfile.DIRTYPE, 0o755))
        entries += [_Entry(dest, tarfile.REGTYPE, 0o755, data) for dest, data in inputs.shell_libs]
    return sorted(entries, key=lambda entry: entry.path)


def _tar(members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _info(name: str, kind: bytes, mode: int, size: int = 0, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = target
    info.mtime = EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _layer(entries: Sequence[_Entry]) -> bytes:
    return _tar(
        [
            (_info(e.path, e.kind, e.mode, len(e.data), e.target), e.data if e.kind == tarfile.REGTYPE else None)
            for e in entries
        ]
    )


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name: the gzip header carries nothing of the build.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as out:
        out.write(data)
    return buffer.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": _digest(data), "size": len(data)}


def _layout(image: Image, inputs: _Inputs) -> bytes:
    """The OCI image layout tarball of ``image``."""
    container_config: dict[str, Any] = {
        "User": image.user,
        "Env": [PATH_ENV],
        "Entrypoint": list(image.entrypoint),
        "WorkingDir": "/",
    }
    if image.cmd:
        container_config["Cmd"] = list(image.cmd)
    return _oci_layout(_entries(image, inputs), container_config, image.summary, image.ref)


def _oci_ref_name(name: str) -> str:
    """``org.opencontainers.image.ref.name`` as containerd's exporter writes it
    (core/images/archive/reference.go ``ociReferenceName``): the tag alone, or the whole name
    when the image is named by digest."""
    if "@" in name:
        return name
    return name.rpartition(":")[2]


def _oci_layout(
    entries: Sequence[_Entry],
    container_config: Mapping[str, Any],
    summary: str,
    name: str,
    annotations: Mapping[str, str] | None = None,
) -> bytes:
    """One OCI image layout tarball: one gzip layer of ``entries``, the image config, a manifest
    (with ``annotations``) and an index naming the image ``name`` for containerd."""
    layer_tar = _layer(entries)
    layer = _gzip(layer_tar)
    config: dict[str, Any] = {
        "architecture": ARCHITECTURE,
        "os": "linux",
        "config": dict(container_config),
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
        "history": [{"created_by": f"pytest_k8ssec.sources.local_images: {summary}"}],
    }
    config_bytes = _json(config)
    manifest_value: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": _descriptor(MEDIA_CONFIG, config_bytes),
        "layers": [_descriptor(MEDIA_LAYER, layer)],
    }
    if annotations:
        manifest_value["annotations"] = dict(annotations)
    manifest = _json(manifest_value)
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [
                {
                    **_descriptor(MEDIA_MANIFEST, manifest),
                    "platform": {"architecture": ARCHITECTURE, "os": "linux"},
                    "annotations": {ANNOTATION_CONTAINERD_NAME: name, ANNOTATION_REF_NAME: _oci_ref_name(name)},
                }
            ],
        }
    )
    blobs = sorted({_digest(b).removeprefix("sha256:"): b for b in (layer, config_bytes, manifest)}.items())
    files: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (_info("blobs", tarfile.DIRTYPE, 0o755), None),
        (_info("blobs/sha256", tarfile.DIRTYPE, 0o755), None),
    ]
    files += [(_info(f"blobs/sha256/{hexdigest}", tarfile.REGTYPE, 0o644, len(b)), b) for hexdigest, b in blobs]
    files += [
        (_info("index.json", tarfile.REGTYPE, 0o644, len(index)), index),
        (_info("oci-layout", tarfile.REGTYPE, 0o644, len(layout := _json({"imageLayoutVersion": "1.0.0"}))), layout),
    ]
    return _tar(files)


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, unless the file already holds exactly it."""
    if not path.exists() or path.read_bytes() != data:
        tmp = path.with_name(path.name + f".tmp.{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(path)


def build_images(
    probe_binary: Path,
    busybox: Path,
    out_dir: Path,
    *,
    shell: Path = DEFAULT_SHELL,
    shell_libs: Mapping[str, Path] = DEFAULT_SHELL_LIBS,
    names: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write ``<out_dir>/<name>.oci.tar`` for every image (or only ``names``); name -> tarball.

    A tarball is rewritten only when its bytes differ, so a rebuild from the same inputs leaves
    the files (and their mtimes) alone.
    """
    wanted = [image for image in IMAGES if names is None or image.name in names]
    unknown = sorted(set(names or ()) - {image.name for image in IMAGES})
    if unknown:
        raise LocalImageError(f"unknown image names {unknown}; known: {[image.name for image in IMAGES]}")
    inputs = _load_inputs(probe_binary, busybox, shell, shell_libs)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for image in wanted:
        path = out_dir / f"{image.name}.oci.tar"
        _write_if_changed(path, _layout(image, inputs))
        written[image.name] = path
    return written


# --- Stand-ins: images named like a manifest's references, for manifests no registry serves. ---

#: The image config label (and manifest annotation) naming the reference an image stands in for.
LABEL_STANDIN_FOR: Final = "io.k8ssec.standin-for"
#: What k8ssec-probe's standin mode reads (controlplane/probe/standin.go).
ENV_STANDIN_EXIT: Final = "K8SSEC_STANDIN_EXIT"
ENV_STANDIN_PORTS: Final = "K8SSEC_STANDIN_PORTS"
#: The name the exit list uses for a container without ``command``: the image's entrypoint,
#: ``k8ssec-probe standin``, runs it.
STANDIN: Final = "standin"
STANDIN_ENTRYPOINT: Final = (PROBE, STANDIN)
STANDIN_USER: Final = "65534:65534"
#: Where a program named without a ``/`` (``pg_isready``) goes: the first directory of PATH_ENV
#: that the runtime searches (runc resolves ``args[0]`` with the container's PATH).
STANDIN_BIN_DIR: Final = "/usr/local/bin"
# Kinds whose pods run to completion: their containers are stand-ins that exit 0.
_RUN_TO_COMPLETION: Final = frozenset({("batch", "Job"), ("batch", "CronJob")})
_PROTOCOLS: Final = ("TCP", "UDP", "SCTP")


def containerd_name(reference: str) -> str:
    """The name under which containerd's CRI finds the image a pod's ``image`` names.

    The CRI's ``LocalResolve`` (containerd v2.4.2, internal/cri/server/images/service.go) looks
    the reference up by ``docker.ParseDockerRef(ref).String()`` in a map keyed by image names:
    ``docker.io/library/`` added to short names, ``:latest`` when neither tag nor digest is
    written, and the tag dropped when a digest is. An image imported under that name stands in
    for the reference; nothing compares the digest in the name with the image's content.
    """
    try:
        return parse_image(reference).docker_ref()
    except ImageReferenceError as error:
        raise LocalImageError(f"no stand-in for {reference!r}: {error.reason}") from None


@dataclass(frozen=True)
class StandinSpec:
    """One stand-in image: the reference it answers to and what its pods' containers run.

    ``entry_points`` are the programs the manifests' ``command``s (and exec probes and hooks)
    name; ``exit_paths`` those of them that must exit 0 at once (``standin`` for a container
    without ``command``); ``ports`` the declared ``containerPort/protocol``s, e.g. ``8080/TCP``.
    """

    reference: str
    entry_points: tuple[str, ...] = ()
    exit_paths: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The containerd image name (:func:`containerd_name`)."""
        return containerd_name(self.reference)


def _program_path(program: str) -> str:
    """Where in the image a ``command[0]`` must be so the runtime finds it: absolute paths as they
    are; a bare name in :data:`STANDIN_BIN_DIR` (found through PATH); a relative path under the
    working directory ``/``."""
    if "/" not in program:
        return f"{STANDIN_BIN_DIR}/{program}"
    return posixpath.normpath(posixpath.join("/", program))


def _standin_entries(probe: bytes, entry_points: Sequence[str]) -> list[_Entry]:
    entries: dict[str, _Entry] = {
        "bin": _Entry("bin", tarfile.DIRTYPE, 0o755),
        "etc": _Entry("etc", tarfile.DIRTYPE, 0o755),
        "dev": _Entry("dev", tarfile.DIRTYPE, 0o755),
        "proc": _Entry("proc", tarfile.DIRTYPE, 0o555),
        "sys": _Entry("sys", tarfile.DIRTYPE, 0o555),
        "tmp": _Entry("tmp", tarfile.DIRTYPE, 0o1777),
        "etc/passwd": _Entry("etc/passwd", tarfile.REGTYPE, 0o644, PASSWD.encode()),
        "etc/group": _Entry("etc/group", tarfile.REGTYPE, 0o644, GROUP.encode()),
        PROBE.lstrip("/"): _Entry(PROBE.lstrip("/"), tarfile.REGTYPE, 0o755, probe),
    }
    for program in entry_points:
        path = _program_path(program).lstrip("/")
        if not path or path == PROBE.lstrip("/"):
            continue
        if path in entries:
            raise LocalImageError(f"stand-in entry point {program!r} would replace the image's /{path}")
        # A symlink: the kernel follows it, and argv[0] stays the path the runtime exec'd, which
        # is what the stand-in decides by.
        entries[path] = _Entry(path, tarfile.SYMTYPE, 0o777, target=PROBE)
        parent = posixpath.dirname(path)
        while parent:
            existing = entries.get(parent)
            if existing is not None and existing.kind != tarfile.DIRTYPE:
                raise LocalImageError(f"stand-in entry point {program!r} needs /{parent} as a directory")
            entries.setdefault(parent, _Entry(parent, tarfile.DIRTYPE, 0o755))
            parent = posixpath.dirname(parent)
    return sorted(entries.values(), key=lambda entry: entry.path)


def standin_layout(
    reference: str, probe: bytes, *, entry_points: Sequence[str], exit_paths: Sequence[str], ports: Sequence[str]
) -> tuple[str, bytes]:
    """The containerd name and the OCI layout tarball of a stand-in for ``reference``."""
    name = containerd_name(reference)
    env = [
        PATH_ENV,
        f"{ENV_STANDIN_EXIT}={','.join(exit_paths)}",
        f"{ENV_STANDIN_PORTS}={','.join(ports)}",
    ]
    container_config = {
        "User": STANDIN_USER,
        "Env": env,
        "Entrypoint": list(STANDIN_ENTRYPOINT),
        "WorkingDir": "/",
        "Labels": {LABEL_STANDIN_FOR: reference},
    }
    summary = f"k8ssec-probe standing in for {reference}"
    data = _oci_layout(
        _standin_entries(probe, entry_points), container_config, summary, name, {LABEL_STANDIN_FOR: reference}
    )
    return name, data


def standin_image(
    reference: str,
    *,
    probe_binary: Path,
    entry_points: Sequence[str] = (),
    exit_paths: Sequence[str] = (),
    ports: Sequence[str] = (),
    out_dir: Path,
) -> tuple[str, Path]:
    """Write a stand-in image for ``reference``; its containerd name and tarball path.

    The image holds k8ssec-probe at ``/bin/k8ssec-probe`` and a symlink to it at every entry
    point; its entrypoint is ``k8ssec-probe standin`` and its environment tells the stand-in
    which programs exit 0 (``exit_paths``) and which ports to serve (``ports``). Pods keep the
    manifest's ``image`` unchanged: with the default ``IfNotPresent`` pull policy of a tagged or
    digested reference, the kubelet finds the image by name and never pulls.
    """
    probe = _read(probe_binary, "the probe binary", "build it with `bash controlplane/probe/build.sh`")
    if not _static_elf(probe):
        raise LocalImageError(
            f"the probe binary {probe_binary} is not a static 64-bit ELF executable; "
            "rebuild it with controlplane/probe/build.sh"
        )
    name, data = standin_layout(reference, probe, entry_points=entry_points, exit_paths=exit_paths, ports=ports)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The file name: the repository's last component to read, a hash of the whole name to be
    # unique (a reference may be longer than a file name may be).
    stem = name.partition("@")[0].rpartition("/")[2].partition(":")[0]
    path = out_dir / f"standin-{stem}-{hashlib.sha256(name.encode()).hexdigest()[:16]}.oci.tar"
    _write_if_changed(path, data)
    return name, path


def _exec_programs(container: Mapping[str, Any]) -> list[str]:
    """``command[0]`` of every exec handler of a container: probes and lifecycle hooks, which
    the runtime runs inside it (``pg_isready`` for a readiness probe)."""
    handlers = [as_mapping(container.get(probe)) for probe in ("livenessProbe", "readinessProbe", "startupProbe")]
    lifecycle = as_mapping(container.get("lifecycle"))
    handlers += [as_mapping(lifecycle.get(hook)) for hook in ("postStart", "preStop")]
    programs = []
    for handler in handlers:
        command = as_list(as_mapping(handler.get("exec")).get("command"))
        if command and isinstance(command[0], str) and command[0]:
            programs.append(command[0])
    return programs


def _port_key(port: str) -> tuple[int, str]:
    number, _, protocol = port.partition("/")
    return int(number), protocol


def standins_for(objects: Iterable[K8sObject | Mapping[str, Any]]) -> list[StandinSpec]:
    """One :class:`StandinSpec` per image reference the workloads' containers use, sorted by
    reference; ``k8ssec.local/`` images (ours) and references the kubelet cannot parse (the pod
    stays ``InvalidImageName`` with or without an image) get none.

    Per reference: ``entry_points`` are every ``command[0]`` used with it, plus the exec probes'
    and hooks' ``command[0]``; ``exit_paths`` are the ``command[0]`` (``standin`` without a
    command) of init containers (not sidecars: ``restartPolicy: Always`` keeps running) and of
    Job and CronJob containers, plus every exec probe and hook program (they must answer 0 at
    once); ``ports`` are the ``containerPort/protocol`` declared by any container using it.
    A program listed to exit exits in every container of that image that runs it.
    """
    found: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for item in objects:
        obj = item if isinstance(item, K8sObject) else K8sObject(item, Provenance("<standins_for>"))
        ref = pod_spec(obj)
        if ref is None:
            continue
        completes = (obj.api_group, obj.kind) in _RUN_TO_COMPLETION
        for walked in containers(obj):
            container = walked.container
            image = container.get("image")
            if not isinstance(image, str) or image.startswith(f"{REGISTRY}/"):
                continue
            try:
                parse_image(image)
            except ImageReferenceError:
                continue
            entry_points, exit_paths, ports = found.setdefault(image, (set(), set(), set()))
            command = as_list(container.get("command"))
            program = command[0] if command and isinstance(command[0], str) and command[0] else None
            if program is not None:
                entry_points.add(program)
            sidecar = container.get("restartPolicy") == "Always"
            if completes or (walked.field == "initContainers" and not sidecar):
                exit_paths.add(program or STANDIN)
            for exec_program in _exec_programs(container):
                entry_points.add(exec_program)
                exit_paths.add(exec_program)
            for port in as_list(container.get("ports")):
                number = as_mapping(port).get("containerPort")
                protocol = as_mapping(port).get("protocol") or "TCP"
                if type(number) is int and 1 <= number <= 65535 and protocol in _PROTOCOLS:
                    ports.add(f"{number}/{protocol}")
    return [
        StandinSpec(image, tuple(sorted(entry)), tuple(sorted(exits)), tuple(sorted(ports, key=_port_key)))
        for image, (entry, exits, ports) in sorted(found.items())
    ]


def build_standins(specs: Iterable[StandinSpec], probe_binary: Path, out_dir: Path) -> dict[str, Path]:
    """Write a stand-in image for every spec; containerd image name -> tarball.

    Two references with the same containerd name (``nginx`` and ``docker.io/library/nginx:latest``)
    are one image, built from their specs merged.
    """
    merged: dict[str, StandinSpec] = {}
    for spec in specs:
        have = merged.get(spec.name)
        if have is not None:
            spec = StandinSpec(
                have.reference,
                tuple(sorted({*have.entry_points, *spec.entry_points})),
                tuple(sorted({*have.exit_paths, *spec.exit_paths})),
                tuple(sorted({*have.ports, *spec.ports}, key=_port_key)),
            )
        merged[spec.name] = spec
    built: dict[str, Path] = {}
    for _, spec in sorted(merged.items()):
        got, path = standin_image(
            spec.reference,
            probe_binary=probe_binary,
            entry_points=spec.entry_points,
            exit_paths=spec.exit_paths,
            ports=spec.ports,
            out_dir=out_dir,
        )
        built[got] = path
    return built


def import_images(
    tarballs: Mapping[str, Path],
    *,
    ctr: Sequence[str] = ("ctr",),
    address: str | None = None,
    namespace: str = "k8s.io",
    snapshotter: str | None = None,
    timeout: float = 120.0,
) -> list[str]:
    """Import every tarball with ``ctr`` into containerd's ``namespace``; the image names imported.

    ``tarballs`` maps the short names of :data:`IMAGES` to their tarballs (what
    :func:`build_images` returns). ``k8s.io`` is the namespace the kubelet's CRI sees. The names
    are checked against ``ctr images ls`` afterwards: an import that ran but named nothing is an
    error, not a pass.
    """
    expected = image_refs()
    unknown = sorted(name for name in tarballs if name not in expected)
    if unknown:
        raise LocalImageError(f"unknown image name {unknown[0]!r}; known: {sorted(expected)}")
    return import_named(
        {expected[name]: path for name, path in tarballs.items()},
        ctr=ctr,
        address=address,
        namespace=namespace,
        snapshotter=snapshotter,
        timeout=timeout,
    )


def import_named(
    tarballs: Mapping[str, Path],
    *,
    ctr: Sequence[str] = ("ctr",),
    address: str | None = None,
    namespace: str = "k8s.io",
    snapshotter: str | None = None,
    timeout: float = 120.0,
) -> list[str]:
    """Import tarballs keyed by the image name each one declares (what :func:`build_standins`
    returns); the names, sorted, once ``ctr images ls`` lists every one of them."""
    if not tarballs:
        raise LocalImageError("no image tarballs to import; build them with build_images()")
    missing = sorted(f"{name}: {path}" for name, path in tarballs.items() if not Path(path).is_file())
    if missing:
        raise LocalImageError(f"image tarballs missing: {', '.join(missing)}; build them with build_images()")
    base = [*ctr, *(["--address", address] if address else []), "--namespace", namespace]
    for _, path in sorted(tarballs.items()):
        _run_ctr(
            [*base, "images", "import", *(["--snapshotter", snapshotter] if snapshotter else []), str(path)], timeout
        )
    listed = set(_run_ctr([*base, "images", "ls", "--quiet"], timeout).split())
    wanted = sorted(tarballs)
    absent = [ref for ref in wanted if ref not in listed]
    if absent:
        raise LocalImageError(f"ctr imported the tarballs but lists no image {absent} in namespace {namespace!r}")
    return wanted


def _run_ctr(argv: Sequence[str], timeout: float) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise LocalImageError(
            f"{argv[0]} not found: the ctr client comes with containerd (the local node's build)"
        ) from None
    except subprocess.TimeoutExpired:
        raise LocalImageError(f"{' '.join(argv)} did not finish in {timeout:g} s") from None
    if done.returncode != 0:
        raise LocalImageError(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pytest_k8ssec.sources.local_images OUT_DIR`` (from the repository root): build the
    images and print each reference and tarball."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pytest_k8ssec.sources.local_images", description=main.__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--probe", type=Path, default=Path("controlplane/.cache/bin/k8ssec-probe"))
    parser.add_argument("--busybox", type=Path, default=DEFAULT_BUSYBOX)
    args = parser.parse_args(argv)
    try:
        built = build_images(args.probe, args.busybox, args.out_dir)
    except LocalImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, path in built.items():
        print(f"{image_refs()[name]} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
