"""Container image references, parsed as the kubelet and container runtimes parse them.

Implements the grammar of github.com/distribution/reference (reference.go, regexp.go,
normalize.go, helpers.go at 0965666) and the digest validation of
github.com/opencontainers/go-digest v1.0.0, the version Kubernetes, containerd and CRI-O build with:

* :func:`parse_image` is ``ParseNormalizedNamed``: what the kubelet does with ``container.image``
  (the API server accepts any non-blank string; a reference the kubelet cannot parse never runs,
  the pod sits in ``InvalidImageName``). ``nginx`` is ``docker.io/library/nginx``; the first path
  component is a registry only when it is ``localhost``, contains ``.`` or ``:``, or has an
  upper-case letter; ``index.docker.io`` is the legacy name of ``docker.io``.
* :func:`parse_reference` is the non-normalizing ``Parse``: the domain is purely syntactic and
  the repository is kept as written.
* :func:`parse_any_reference` is ``ParseAnyReference`` (a bare 64-hex string is an image ID).
* :meth:`ImageRef.docker_ref` is ``ParseDockerRef``: ``:latest`` when neither tag nor digest is
  written; with both, the runtime pulls by digest and the tag is dropped.

Digest algorithms: go-digest v1.0.0 accepts sha256, sha384 and sha512 whenever the binary links
``crypto/sha512``, which every kubelet and runtime does (TLS needs it); distribution/reference's
own test binary links only sha256, so its table rejects sha512. We accept all three, each with
its exact hex length, lower-case only.

Whitespace: nothing is trimmed. Upstream's anchored grammar rejects a reference with leading or
trailing whitespace, and the API server rejects such an image on a Pod ("must not have leading or
trailing whitespace"), so ``" nginx"`` is an error here too, never quietly ``nginx``.

Registry prefixes (:func:`registry_prefix`, :func:`matches_prefix`) are ours: allow/deny lists
match the normalized repository name at a path-component boundary, so ``docker.io/`` never
matches ``docker.io.evil.com/x`` and ``registry.example.com:5000`` only matches that port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pytest_k8ssec.errors import K8sSecError

__all__ = (
    "DigestReference",
    "ImageRef",
    "ImageReferenceError",
    "Reference",
    "match_reference",
    "matches_prefix",
    "parse_any_reference",
    "parse_image",
    "parse_reference",
    "registry_prefix",
)

#: The longest repository path (without domain, tag or digest) upstream accepts.
REPOSITORY_NAME_MAX: Final = 255

DEFAULT_DOMAIN: Final = "docker.io"
LEGACY_DEFAULT_DOMAIN: Final = "index.docker.io"
OFFICIAL_REPO_PREFIX: Final = "library/"
DEFAULT_TAG: Final = "latest"

# Upstream's error texts (reference.go and go-digest), kept verbatim so messages match what
# `kubectl describe pod` shows for an InvalidImageName.
NAME_EMPTY: Final = "repository name must have at least one component"
INVALID_FORMAT: Final = "invalid reference format"
NAME_UPPERCASE: Final = "repository name must be lowercase"
NAME_TOO_LONG: Final = f"repository name must not be more than {REPOSITORY_NAME_MAX} characters"
DIGEST_INVALID_FORMAT: Final = "invalid checksum digest format"
DIGEST_INVALID_LENGTH: Final = "invalid checksum digest length"
DIGEST_UNSUPPORTED: Final = "unsupported digest algorithm"
IDENTIFIER_AS_NAME: Final = "cannot specify 64-byte hexadecimal strings"

# Hex length per algorithm go-digest v1.0.0 knows (see the module docstring).
DIGEST_ALGORITHMS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}

# The grammar of regexp.go, built from the same productions. Always used with fullmatch():
# Python's `$` also matches before a final newline, Go's does not.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6_ADDRESS = r"\[[a-fA-F0-9:]+\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})(?::[0-9]+)?"
_TAG = r"\w[\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

# re.ASCII: Go's \w is [0-9A-Za-z_], Python's would take any Unicode letter.
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_NAME_RE = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})", re.ASCII)
_DOMAIN_RE = re.compile(_DOMAIN_AND_PORT, re.ASCII)
_REMOTE_NAME_RE = re.compile(_REMOTE_NAME, re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
# go-digest's DigestRegexp, consulted only for algorithms it does not know.
_GO_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+")


class ImageReferenceError(K8sSecError, ValueError):
    """An image reference (or registry prefix) the kubelet / runtimes would reject.

    ``reason`` is upstream's error text (e.g. ``"invalid reference format"``); ``value`` is the
    rejected string as written.
    """

    def __init__(self, value: str, reason: str, *, what: str = "image reference") -> None:
        super().__init__(f"invalid {what} {value!r}: {reason}")
        self.value = value
        self.reason = reason


def _join_name(domain: str, path: str) -> str:
    return f"{domain}/{path}" if domain else path


def _format(name: str, tag: str | None, digest: str | None) -> str:
    return name + (f":{tag}" if tag is not None else "") + (f"@{digest}" if digest is not None else "")


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference as ``reference.Parse`` sees it: no normalization, domain purely syntactic.

    ``domain`` is ``""`` unless a ``/`` follows a first component that fits the domain grammar
    (so ``test.com:5000`` is repository ``test.com`` with tag ``5000``).
    """

    raw: str
    domain: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The repository as written: ``domain/path``, or ``path`` when there is no domain."""
        return _join_name(self.domain, self.path)

    def __str__(self) -> str:
        return _format(self.name, self.tag, self.digest)


@dataclass(frozen=True, slots=True)
class ImageRef(Reference):
    """A normalized image reference (``ParseNormalizedNamed``); build it with :func:`parse_image`.

    The fields are normalized: ``name`` is e.g. ``docker.io/library/nginx``. The domain is empty
    only for a first component that looks like a registry to the normalizer but not to the
    grammar (``foo.bar_baz/x``); upstream's Name() is then the path.
    """

    @property
    def familiar_name(self) -> str:
        """Docker's short form: ``nginx``, ``user/repo``, ``gcr.io/x/y``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        rest = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
        # Only "library/<one component>" is an official image; "library/a/b" keeps its prefix.
        return rest if rest != self.path and "/" not in rest else self.path

    @property
    def pinned(self) -> bool:
        """A digest is written, so the runtime pulls exactly that content."""
        return self.digest is not None

    @property
    def implicit_latest(self) -> bool:
        """Neither tag nor digest is written: the runtime pulls ``:latest``."""
        return self.tag is None and self.digest is None

    @property
    def effective_tag(self) -> str | None:
        """The tag as written, ``latest`` when neither tag nor digest is, else ``None``."""
        return DEFAULT_TAG if self.implicit_latest else self.tag

    def docker_ref(self) -> str:
        """``ParseDockerRef``: ``name:latest`` when bare; ``name@digest`` when a digest is written."""
        if self.digest is not None:
            return _format(self.name, None, self.digest)
        return _format(self.name, self.effective_tag, None)


@dataclass(frozen=True, slots=True)
class DigestReference:
    """A reference that is only a digest (``ParseAnyReference`` of an image ID or a digest)."""

    raw: str
    digest: str

    def __str__(self) -> str:
        return self.digest


def _validate_digest(value: str, digest: str) -> None:
    """go-digest v1.0.0 ``Digest.Validate``, raising with its error texts."""
    algorithm, _, encoded = digest.partition(":")
    if not algorithm or not encoded:
        raise ImageReferenceError(value, DIGEST_INVALID_FORMAT)
    length = DIGEST_ALGORITHMS.get(algorithm)
    if length is None:
        known = ", ".join(DIGEST_ALGORITHMS)
        if _GO_DIGEST_RE.fullmatch(digest) is None:
            raise ImageReferenceError(value, f"{DIGEST_INVALID_FORMAT} (algorithm {algorithm!r}; supported: {known})")
        raise ImageReferenceError(value, f"{DIGEST_UNSUPPORTED} {algorithm!r} (supported: {known})")
    if len(encoded) != length:
        detail = f"{algorithm} needs {length} hex characters, got {len(encoded)}"
        raise ImageReferenceError(value, f"{DIGEST_INVALID_LENGTH} ({detail})")
    if _LOWER_HEX_RE.fullmatch(encoded) is None:
        raise ImageReferenceError(value, f"{DIGEST_INVALID_FORMAT} (the hex must be lower-case [a-f0-9])")


def match_reference(ref: str) -> tuple[str, str | None, str | None] | None:
    """The bare reference grammar (``ReferenceRegexp``): ``(name, tag, digest)`` or ``None``.

    Syntax only: no length limit, no digest-algorithm check. Use :func:`parse_reference` to parse.
    """
    match = _REFERENCE_RE.fullmatch(ref)
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3)


def parse_reference(ref: str) -> Reference:
    """``reference.Parse``: the non-normalizing parser; raises :class:`ImageReferenceError`."""
    if ref == "":
        raise ImageReferenceError(ref, NAME_EMPTY)
    parts = match_reference(ref)
    if parts is None:
        lowered = ref.lower()
        if lowered != ref and _REFERENCE_RE.fullmatch(lowered) is not None:
            raise ImageReferenceError(ref, NAME_UPPERCASE)
        raise ImageReferenceError(ref, INVALID_FORMAT)
    name, tag, digest = parts
    split = _NAME_RE.fullmatch(name)
    domain, path = ((split.group(1) or ""), split.group(2)) if split is not None else ("", name)
    if len(path) > REPOSITORY_NAME_MAX:
        raise ImageReferenceError(ref, NAME_TOO_LONG)
    if digest is not None:
        _validate_digest(ref, digest)
    return Reference(raw=ref, domain=domain, path=path, tag=tag, digest=digest)


def _names_a_registry(first: str) -> bool:
    """normalize.go's test for a first path component that is a registry, not a namespace."""
    return first == "localhost" or "." in first or ":" in first or first.lower() != first


def _split_docker_domain(name: str) -> tuple[str, str]:
    """normalize.go ``splitDockerDomain``: the registry and the rest of a familiar name."""
    first, slash, rest = name.partition("/")
    if not slash:
        # A single component is always a Docker Hub official image, even "localhost" or "a.b".
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if first == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, rest
    elif _names_a_registry(first):
        domain, remote = first, rest
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def parse_image(ref: str) -> ImageRef:
    """``ParseNormalizedNamed``: parse ``container.image`` as the kubelet does.

    Raises :class:`ImageReferenceError` for anything the kubelet would report as
    ``InvalidImageName``. No whitespace is stripped (see the module docstring).
    """
    if ref.strip() == "":
        raise ImageReferenceError(ref, "image reference is empty" if ref == "" else "image reference is blank")
    if ref != ref.strip():
        raise ImageReferenceError(ref, f"{INVALID_FORMAT}: leading or trailing whitespace")
    if _IDENTIFIER_RE.fullmatch(ref) is not None:
        raise ImageReferenceError(ref, f"{IDENTIFIER_AS_NAME} (an image ID is not a repository name)")
    domain, remainder = _split_docker_domain(ref)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise ImageReferenceError(ref, f"{INVALID_FORMAT}: repository name ({remote}) must be lowercase")
    try:
        parsed = parse_reference(f"{domain}/{remainder}")
    except ImageReferenceError as exc:
        # Name the image as the manifest wrote it, not the normalized string parsed internally.
        raise ImageReferenceError(ref, exc.reason) from None
    return ImageRef(raw=ref, domain=parsed.domain, path=parsed.path, tag=parsed.tag, digest=parsed.digest)


def parse_any_reference(ref: str) -> ImageRef | DigestReference:
    """``ParseAnyReference``: an image ID (64 hex), a digest, or else a normalized name."""
    if _IDENTIFIER_RE.fullmatch(ref) is not None:
        return DigestReference(raw=ref, digest=f"sha256:{ref}")
    try:
        _validate_digest(ref, ref)
    except ImageReferenceError:
        return parse_image(ref)
    return DigestReference(raw=ref, digest=ref)


def _host_key(host: str) -> str:
    # Registry hosts are DNS names: case does not change where the runtime pulls from, so a
    # deny entry must not be dodged by writing the host in capitals.
    lowered = host.lower()
    return DEFAULT_DOMAIN if lowered == LEGACY_DEFAULT_DOMAIN else lowered


def registry_prefix(prefix: str) -> str:
    """Normalize an allow/deny prefix to ``registry[:port][/path-prefix]`` without a trailing ``/``.

    The first component must be a registry by the rule the kubelet applies to images
    (``localhost``, or it contains ``.`` or ``:``, or has capitals): ``myorg`` alone would be a
    Docker Hub namespace, so it is an error that says to write ``docker.io/myorg``. The host is
    lower-cased (DNS names are case-insensitive) and ``index.docker.io`` becomes ``docker.io``.
    The path is kept as written: a prefix is not an image, so ``docker.io/nginx`` means the
    ``nginx`` namespace, not ``docker.io/library/nginx``. Tags and digests are errors.
    """

    def fail(reason: str) -> ImageReferenceError:
        return ImageReferenceError(prefix, reason, what="registry prefix")

    if prefix.strip() == "":
        raise fail("the prefix is empty")
    if prefix != prefix.strip():
        raise fail("leading or trailing whitespace")
    if "@" in prefix:
        raise fail("a prefix must not contain a digest")
    text = prefix.removesuffix("/")
    host, _, path = text.partition("/")
    if not host:
        raise fail("the prefix has no registry host")
    if not _names_a_registry(host):
        raise fail(f"{host!r} is not a registry host but a Docker Hub namespace; write 'docker.io/{text}'")
    if _DOMAIN_RE.fullmatch(host) is None:
        if "/" not in text and _REFERENCE_RE.fullmatch(host) is not None:
            raise fail(f"{host!r} reads as an image with a tag; a prefix must not contain a tag")
        raise fail(f"{host!r} is not a valid registry host[:port]")
    if ":" in path:
        raise fail("a prefix must not contain a tag")
    if path and _REMOTE_NAME_RE.fullmatch(path) is None:
        lowercase = _REMOTE_NAME_RE.fullmatch(path.lower()) is not None
        raise fail(NAME_UPPERCASE if lowercase else f"{path!r} is not a valid repository path")
    if len(path) > REPOSITORY_NAME_MAX:
        raise fail(NAME_TOO_LONG)
    return f"{_host_key(host)}/{path}" if path else _host_key(host)


def matches_prefix(image: ImageRef, prefix: str) -> bool:
    """Whether ``image``'s normalized name lies under ``prefix`` (see :func:`registry_prefix`).

    The registry must be equal (host compared case-insensitively, port exactly: no port only
    matches no port) and the prefix path must end at a ``/`` of the image path, so
    ``docker.io/library`` matches ``docker.io/library/nginx`` but not ``docker.io/library2/x``.
    """
    normalized = registry_prefix(prefix)
    host, _, path = normalized.partition("/")
    if not image.domain or _host_key(image.domain) != _host_key(host):
        return False
    return not path or image.path == path or image.path.startswith(f"{path}/")
