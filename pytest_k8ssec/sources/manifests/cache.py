"""The parse cache: documents of unchanged manifests read back instead of parsed, sealed with a key
only this user holds, so that nobody who can write the cache folder can make a manifest pass."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import stat
import time

from pytest_k8ssec.sources.manifests.parsing import PARSER, Documents

# Parsing is most of a run's cost (libyaml builds Python objects at about 0.5 ms per object);
# unchanged files are read back from marshal, 10-20x faster. marshal, not pickle: it can only
# rebuild plain data, so a tampered cache file cannot run code. Keys are content hashes, so an
# edited file is never served stale; validation and provenance still happen on every load.
# What the cache trusts: a key of 32 random bytes in a file only this user can read
# ($XDG_CACHE_HOME/pytest-k8ssec/parse-cache.key, else ~/.cache/...; created 0600 on first use),
# which never travels with .pytest_cache. Each entry is sealed (ChaCha20-Poly1305) with a key
# derived from that key and the manifest's bytes: without the local key nobody can read an entry,
# nor forge one that opens (issue 12 item 3: a shared CI cache, written by someone who knows the
# manifest, made a privileged Pod pass). An entry that does not open, and a key file that is
# missing, unreadable, not ours or readable by others, is a cache miss: the file is parsed.
# Format 4: values as Kubernetes reads YAML (kube_yaml); entries read the PyYAML way are not served.
# Format 5: a duplicate key refuses the document; entries that kept its last value are not served.
_CACHE_FORMAT = f"5-{PARSER}"
_CACHE_TTL_S = 7 * 24 * 3600
_CACHE_KEY_BYTES = 32
_NONCE_BYTES = 12


def _cache_path(data: bytes, is_json: bool, cache_dir: str) -> str:
    digest = hashlib.blake2b(data, digest_size=20, person=b"k8ssec-manifest")
    digest.update(f"{_CACHE_FORMAT}-{is_json}".encode())
    return os.path.join(cache_dir, digest.hexdigest())


def cache_key_path() -> str:
    """Where the parse cache's local key lives (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``pytest-k8ssec``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pytest-k8ssec", "parse-cache.key")


_local_keys: dict[str, bytes | None] = {}


def _local_key() -> bytes | None:
    """This user's cache key, created on first use; None (no caching) when it cannot be trusted."""
    path = cache_key_path()
    if path not in _local_keys:
        _local_keys[path] = _read_key(path) or _create_key(path)
    return _local_keys[path]


def _read_key(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        # A key another user owns or can read is not a secret of ours: it authenticates nothing.
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_mode & 0o077
            or (hasattr(os, "geteuid") and info.st_uid != os.geteuid())
        ):
            return None
        key = handle.read(_CACHE_KEY_BYTES + 1)
    return key if len(key) == _CACHE_KEY_BYTES else None


def _create_key(path: str) -> bytes | None:
    """Create the key atomically: written whole to a private temporary file, then linked into place,
    so concurrent runs (xdist workers) agree on one key and no run ever reads a partial one."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(_CACHE_KEY_BYTES))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another run was first: use its key
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    return _read_key(path)


def _cipher(data: bytes, payload: bytes, *, seal: bool) -> bytes | None:
    """Seal a cache entry, or open one (None when it does not authenticate or there is no key)."""
    local = _local_key()
    if local is None:
        return None
    # Imported here: loading the cipher costs about 80 ms, paid only by runs that use the cache.
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    aead = ChaCha20Poly1305(hashlib.blake2b(data, key=local, digest_size=32, person=b"k8ssec-cachekey").digest())
    associated = _CACHE_FORMAT.encode()
    if seal:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + aead.encrypt(nonce, payload, associated)
    try:
        return aead.decrypt(payload[:_NONCE_BYTES], payload[_NONCE_BYTES:], associated)
    except (InvalidTag, ValueError):
        return None


def _cached(data: bytes, is_json: bool, cache_dir: str | None) -> Documents | None:
    if cache_dir is None:
        return None
    path = _cache_path(data, is_json, cache_dir)
    try:
        with open(path, "rb") as handle:
            plain = _cipher(data, handle.read(), seal=False)
        if plain is None:
            return None
        documents: Documents = marshal.loads(plain)
        os.utime(path)  # recently used: kept by the pruning in prune_cache
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return documents


def _opens(data: bytes, is_json: bool, cache_dir: str) -> bool:
    """Whether these bytes have an entry that opens with this user's key (``_cached`` without
    decoding the documents: a forged or stale entry is not counted)."""
    try:
        with open(_cache_path(data, is_json, cache_dir), "rb") as handle:
            return _cipher(data, handle.read(), seal=False) is not None
    except OSError:
        return False


def _store(data: bytes, is_json: bool, cache_dir: str | None, documents: Documents) -> None:
    if cache_dir is None:
        return
    path = _cache_path(data, is_json, cache_dir)
    try:
        payload = _cipher(data, marshal.dumps(documents), seal=True)
        if payload is None:
            return  # no trustworthy key: no cache
        os.makedirs(cache_dir, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    except (OSError, ValueError):
        pass  # a value marshal cannot hold, or a read-only cache: load without caching


def prune_cache(cache_dir: str, max_age_s: float = _CACHE_TTL_S) -> int:
    """Remove cache entries not used for ``max_age_s``; returns how many were removed."""
    removed = 0
    cutoff = time.time() - max_age_s
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed
