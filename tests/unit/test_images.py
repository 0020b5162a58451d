"""Image references: normalization, grammar limits, digests, registry prefixes (model/images.py)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from pytest_k8ssec.model.images import (
    DIGEST_INVALID_FORMAT,
    DIGEST_INVALID_LENGTH,
    DIGEST_UNSUPPORTED,
    INVALID_FORMAT,
    NAME_TOO_LONG,
    NAME_UPPERCASE,
    DigestReference,
    ImageRef,
    ImageReferenceError,
    match_reference,
    matches_prefix,
    parse_any_reference,
    parse_image,
    parse_reference,
    registry_prefix,
)

SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA384 = "sha384:" + "a" * 96
SHA512 = "sha512:" + "b" * 128


def _reason(text: str) -> str:
    with pytest.raises(ImageReferenceError) as info:
        parse_image(text)
    return info.value.reason


# --- normalization -------------------------------------------------------------------------


def test_bare_name_is_a_docker_hub_official_image_at_latest() -> None:
    ref = parse_image("nginx")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("docker.io", "library/nginx", None, None)
    assert ref.name == "docker.io/library/nginx"
    assert str(ref) == "docker.io/library/nginx"
    assert ref.docker_ref() == "docker.io/library/nginx:latest"
    assert ref.familiar_name == "nginx"
    assert ref.implicit_latest and ref.effective_tag == "latest"
    assert not ref.pinned
    assert ref.raw == "nginx"


@pytest.mark.parametrize(
    ("text", "name", "familiar"),
    [
        ("user/repo", "docker.io/user/repo", "user/repo"),
        ("docker.io/nginx", "docker.io/library/nginx", "nginx"),
        ("index.docker.io/nginx", "docker.io/library/nginx", "nginx"),
        ("index.docker.io/user/repo", "docker.io/user/repo", "user/repo"),
        ("library/a/b", "docker.io/library/a/b", "library/a/b"),
        ("gcr.io/x/y", "gcr.io/x/y", "gcr.io/x/y"),
        ("gcr.io/nginx", "gcr.io/nginx", "gcr.io/nginx"),
        ("docker.io.evil.com/x", "docker.io.evil.com/x", "docker.io.evil.com/x"),
    ],
)
def test_normalized_and_familiar_names(text: str, name: str, familiar: str) -> None:
    ref = parse_image(text)
    assert ref.name == name
    assert ref.familiar_name == familiar


def test_host_port_is_a_registry_but_name_port_is_a_tag() -> None:
    registry = parse_image("host:5000/x")
    assert (registry.domain, registry.path, registry.tag) == ("host:5000", "x", None)
    assert registry.implicit_latest
    tagged = parse_image("x:5000")
    assert (tagged.domain, tagged.path, tagged.tag) == ("docker.io", "library/x", "5000")
    assert not tagged.implicit_latest and tagged.effective_tag == "5000"
    assert tagged.docker_ref() == "docker.io/library/x:5000"


def test_localhost_is_a_registry_only_before_a_slash() -> None:
    assert parse_image("localhost/x").name == "localhost/x"
    assert parse_image("localhost:5000/x:1").docker_ref() == "localhost:5000/x:1"
    # Upstream's single-component fast path: bare "localhost" is the Docker Hub image.
    bare = parse_image("localhost")
    assert bare.name == "docker.io/library/localhost"
    with_port = parse_image("localhost:5000")
    assert (with_port.name, with_port.tag) == ("docker.io/library/localhost", "5000")


def test_a_dotted_name_without_slash_is_still_docker_hub() -> None:
    assert parse_image("registry.example.com").name == "docker.io/library/registry.example.com"


def test_ipv6_registry() -> None:
    ref = parse_image("[::1]:5000/app:v1")
    assert (ref.domain, ref.path, ref.tag) == ("[::1]:5000", "app", "v1")
    with pytest.raises(ImageReferenceError):
        parse_image("[fe80::1%eth0]:5000/app")


def test_normalizer_registry_that_the_grammar_rejects_has_no_domain() -> None:
    # "foo.bar_baz" has a "." so it is not a namespace, but "_" is not allowed in a host:
    # upstream then parses the whole thing as a path with an empty domain.
    ref = parse_image("foo.bar_baz/x")
    assert (ref.domain, ref.path, ref.name) == ("", "foo.bar_baz/x", "foo.bar_baz/x")
    assert not matches_prefix(ref, "docker.io")


# --- upper case ----------------------------------------------------------------------------


def test_uppercase_repository_is_rejected_but_tags_may_have_capitals() -> None:
    assert "must be lowercase" in _reason("Nginx")
    assert "must be lowercase" in _reason("docker.io/Library/nginx")
    assert "must be lowercase" in _reason("gcr.io/x/Y")
    assert parse_image("nginx:V1.2-RC").tag == "V1.2-RC"


def test_uppercase_first_component_is_taken_as_a_registry() -> None:
    ref = parse_image("MyRegistry/app")
    assert (ref.domain, ref.path) == ("MyRegistry", "app")
    assert parse_image("Registry.Example.com/app").domain == "Registry.Example.com"


def test_non_normalizing_parser_reports_uppercase() -> None:
    with pytest.raises(ImageReferenceError) as info:
        parse_reference("Uppercase:tag")
    assert info.value.reason == NAME_UPPERCASE


# --- lengths -------------------------------------------------------------------------------


def test_repository_path_limit_is_255_without_domain_and_tag() -> None:
    longest = "registry.example.com/" + "a" * 255 + ":" + "t" * 128
    assert len(parse_image(longest).path) == 255
    assert _reason("registry.example.com/" + "a" * 256) == NAME_TOO_LONG
    # On Docker Hub the implied "library/" counts towards the 255.
    assert len(parse_image("a" * 247).path) == 255
    assert _reason("a" * 248) == NAME_TOO_LONG


def test_tag_limit_is_128() -> None:
    assert parse_image("nginx:" + "t" * 128).tag == "t" * 128
    assert _reason("nginx:" + "t" * 129) == INVALID_FORMAT


@pytest.mark.parametrize(
    "text", ["nginx:-x", "nginx:.x", "nginx:a~b", "nginx:", "nginx@", "a//b", "a/", "-a", "a_-b", "a..b"]
)
def test_malformed_references(text: str) -> None:
    with pytest.raises(ImageReferenceError):
        parse_image(text)


# --- digests -------------------------------------------------------------------------------


def test_digest_pins_and_docker_ref_drops_the_tag() -> None:
    ref = parse_image(f"gcr.io/x/y:1.0@{SHA256}")
    assert (ref.tag, ref.digest) == ("1.0", SHA256)
    assert ref.pinned and not ref.implicit_latest
    assert ref.effective_tag == "1.0"
    assert str(ref) == f"gcr.io/x/y:1.0@{SHA256}"
    assert ref.docker_ref() == f"gcr.io/x/y@{SHA256}"
    only_digest = parse_image(f"nginx@{SHA256}")
    assert only_digest.effective_tag is None and only_digest.tag is None
    assert only_digest.docker_ref() == f"docker.io/library/nginx@{SHA256}"


@pytest.mark.parametrize("digest", [SHA256, SHA384, SHA512])
def test_digest_algorithms_the_runtimes_accept(digest: str) -> None:
    assert parse_image(f"nginx@{digest}").digest == digest


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("sha256:" + "f" * 63 + "0" * 2, DIGEST_INVALID_LENGTH),
        ("sha256:" + "f" * 32, DIGEST_INVALID_LENGTH),
        ("sha512:" + "f" * 64, DIGEST_INVALID_LENGTH),
        ("sha256:" + "F" * 64, DIGEST_INVALID_FORMAT),
        ("md5:" + "f" * 32, DIGEST_UNSUPPORTED),
        ("blake3:" + "f" * 64, DIGEST_UNSUPPORTED),
        ("SHA256:" + "f" * 64, DIGEST_INVALID_FORMAT),
    ],
)
def test_invalid_digests(digest: str, reason: str) -> None:
    with pytest.raises(ImageReferenceError) as info:
        parse_reference(f"gcr.io/x@{digest}")
    assert info.value.reason.startswith(reason)


def test_short_digest_is_not_a_digest_at_all() -> None:
    # Fewer than 32 hex characters fails the grammar before digest validation.
    assert _reason("nginx@sha256:abc") == INVALID_FORMAT
    assert match_reference("nginx@sha256:abc") is None


def test_image_id_is_not_a_name() -> None:
    identifier = "ab" * 32
    assert "64-byte hexadecimal" in _reason(identifier)
    assert parse_image(f"docker.io/{identifier}").path == f"library/{identifier}"
    any_ref = parse_any_reference(identifier)
    assert isinstance(any_ref, DigestReference) and str(any_ref) == f"sha256:{identifier}"
    assert str(parse_any_reference(SHA256)) == SHA256
    assert isinstance(parse_any_reference("nginx:1"), ImageRef)


# --- whitespace and empty input ------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", " nginx", "nginx ", "nginx\n", "\tnginx", "ng inx"])
def test_whitespace_is_rejected_never_trimmed(text: str) -> None:
    with pytest.raises(ImageReferenceError):
        parse_image(text)


def test_empty_reference_says_so() -> None:
    assert "empty" in _reason("")
    with pytest.raises(ImageReferenceError, match="at least one component"):
        parse_reference("")


def test_error_is_a_value_error_naming_the_input_as_written() -> None:
    with pytest.raises(ValueError, match="'Nginx'"):
        parse_image("Nginx")
    with pytest.raises(ImageReferenceError) as info:
        parse_image("nginx@sha256:" + "F" * 64)
    assert info.value.value == "nginx@sha256:" + "F" * 64
    assert str(info.value).startswith("invalid image reference 'nginx@sha256:")


def test_non_ascii_word_characters_are_not_tag_characters() -> None:
    with pytest.raises(ImageReferenceError):
        parse_image("nginx:é")


def test_image_ref_is_frozen() -> None:
    ref = parse_image("nginx")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "x"  # type: ignore[misc]


def test_pathological_input_is_linear() -> None:
    # The grammar has nested repetitions; a backtracking blow-up would take minutes here.
    start = time.perf_counter()
    for text in ["a" * 50_000 + "!", "a/" * 25_000 + "!", "a." * 25_000 + "A/b!", "a__" * 15_000 + "_!"]:
        with pytest.raises(ImageReferenceError):
            parse_image(text)
    assert time.perf_counter() - start < 5


# --- non-normalizing parse -----------------------------------------------------------------


def test_parse_reference_keeps_the_repository_as_written() -> None:
    ref = parse_reference("foo/foo_bar.com:8080")
    assert (ref.domain, ref.path, ref.name, ref.tag) == ("foo", "foo_bar.com", "foo/foo_bar.com", "8080")
    plain = parse_reference("nginx")
    assert (plain.domain, plain.name, str(plain)) == ("", "nginx", "nginx")
    both = parse_reference(f"test:5000/repo:tag@{SHA256}")
    assert str(both) == f"test:5000/repo:tag@{SHA256}"


# --- registry prefixes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "normalized"),
    [
        ("registry.example.com/", "registry.example.com"),
        ("registry.example.com", "registry.example.com"),
        ("docker.io/myorg", "docker.io/myorg"),
        ("docker.io/myorg/", "docker.io/myorg"),
        ("index.docker.io/library", "docker.io/library"),
        ("gcr.io", "gcr.io"),
        ("registry.example.com:5000/team", "registry.example.com:5000/team"),
        ("localhost", "localhost"),
        ("GCR.io/x", "gcr.io/x"),
        ("[::1]:5000", "[::1]:5000"),
    ],
)
def test_registry_prefix_normalizes(prefix: str, normalized: str) -> None:
    assert registry_prefix(prefix) == normalized


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("myorg", "write 'docker.io/myorg'"),
        ("myorg/team", "write 'docker.io/myorg/team'"),
        ("nginx:1.25", "tag"),
        ("gcr.io/x:1.0", "tag"),
        (f"gcr.io/x@{SHA256}", "digest"),
        ("", "empty"),
        (" gcr.io", "whitespace"),
        ("/", "no registry host"),
        ("gcr.io//x", "not a valid repository path"),
        ("gcr.io/X", "must be lowercase"),
        ("*.gcr.io", "not a valid registry host"),
        ("https://gcr.io", "not a valid registry host"),
    ],
)
def test_registry_prefix_errors(prefix: str, message: str) -> None:
    with pytest.raises(ImageReferenceError, match="invalid registry prefix") as info:
        registry_prefix(prefix)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("image", "prefix", "expected"),
    [
        ("nginx", "docker.io/", True),
        ("nginx", "docker.io", True),
        ("nginx", "index.docker.io", True),
        ("docker.io.evil.com/x", "docker.io/", False),
        ("docker.io.evil.com/x", "docker.io", False),
        ("nginx", "docker.io/library", True),
        ("docker.io/library2/x", "docker.io/library", False),
        ("nginx", "docker.io/library/nginx", True),
        ("nginx-extra", "docker.io/library/nginx", False),
        ("docker.io/nginx/nginx-ingress", "docker.io/nginx", True),
        ("nginx", "docker.io/nginx", False),
        ("registry.example.com:5000/app", "registry.example.com:5000", True),
        ("registry.example.com/app", "registry.example.com:5000", False),
        ("registry.example.com:50001/app", "registry.example.com:5000", False),
        ("registry.example.com:5000/app", "registry.example.com", False),
        ("registry.example.com/team/app", "registry.example.com/team", True),
        ("registry.example.com/team-b/app", "registry.example.com/team", False),
        ("REGISTRY.example.com/app", "registry.example.com", True),
        ("INDEX.DOCKER.IO/evil/x", "docker.io", True),
        ("gcr.io.evil.com/x", "gcr.io", False),
        ("evil.com/gcr.io/x", "gcr.io", False),
        ("localhost/x", "localhost", True),
        ("localhost:5000/x", "localhost", False),
    ],
)
def test_matches_prefix_on_component_boundaries(image: str, prefix: str, expected: bool) -> None:
    assert matches_prefix(parse_image(image), prefix) is expected


def test_matches_prefix_rejects_a_bad_prefix() -> None:
    with pytest.raises(ImageReferenceError, match="docker.io/myorg"):
        matches_prefix(parse_image("myorg/app"), "myorg")
