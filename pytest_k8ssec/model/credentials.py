"""Credential-like literals: names that say "secret", known token formats, high-entropy strings, redaction.

Implements the detection behind CWE-798 ("Use of Hard-coded Credentials") for Kubernetes objects:
environment variables, ConfigMap entries and the config files kept in them. Three kinds of
evidence, in this order:

1. A **known token format** anywhere in the value (AWS access key ids, GitHub, GitLab, Slack,
   Google, Stripe, npm, SendGrid tokens, JWTs, PEM private keys, HTTP ``Bearer``/``Basic``
   credentials, URLs with ``user:password@``, connection strings with ``Password=``/``AccountKey=``).
2. A **credential-like name** (``DB_PASSWORD``, ``apiKey``, ``client.secret``, ``AUTH_TOKEN``...)
   with any literal value. A weak default such as ``changeme`` under such a name is still a committed
   credential and is reported; what is not a literal is skipped: empty values, references the
   runtime fills in (Kubernetes ``$(VAR)``, ``${VAR}`` for envsubst, unrendered ``{{ ... }}``
   templates), fill-in-here placeholders (``<your-password>``, ``INSERT_TOKEN_HERE``: see
   ``_PLACEHOLDER`` for the exact shapes), booleans (``REQUIRE_PASSWORD=true`` is a switch), file
   paths (a path to a mounted credential file is the recommended form) and URLs without
   credentials. A few names are not secret by design (``ETCD_INITIAL_CLUSTER_TOKEN``). A name whose credential
   word is followed by a descriptor (``PASSWORD_FILE``, ``TOKEN_TTL``, ``SECRET_NAME``,
   ``API_KEY_HEADER``) names something about a credential, not the credential, and gets only the
   value rules.
3. **Shannon entropy**, for names that do not say secret: a single token of at least 20 characters
   from the base64/base64url alphabet that mixes upper case, lower case and digits and carries at
   least 3.7-4.3 bits per character (by length), or 32+ hexadecimal digits at 3.0 bits per
   character. Identifiers that merely look random are excluded: UUIDs, 40-digit hex strings (git
   commit ids, which CI stamps into manifests), paths, hostnames and versions (they have ``.``/``:``).

``redact`` is the one way any message names a value: it gives the length and the rule, never a
character of the value. Names are shown, unless a name itself looks like a credential.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Final
from urllib.parse import parse_qsl, urlsplit

# --- known formats ---------------------------------------------------------------------------------

# (description, pattern): the first match wins, so specific formats come before generic ones.
TOKEN_FORMATS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    # Starts only at the first dash of a run: a run of n dashes is scanned once, not n times.
    ("a PEM private key", re.compile(r"(?<!-)-+ ?BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-+", re.IGNORECASE)),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a GitLab token", re.compile(r"(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook URL", re.compile(r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+")),
    ("a Google API key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}")),
    ("a Stripe secret key", re.compile(r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}")),
    ("an npm token", re.compile(r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}")),
    ("a SendGrid API key", re.compile(r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("a JWT", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    ("an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/]{20,}={0,2}", re.IGNORECASE)),
    ("an HTTP Authorization credential", re.compile(r"(?<![A-Za-z])(?:Bearer|Basic) +[A-Za-z0-9._~+/-]{16,}=*")),
)

# scheme://user:password@host; a password that is wholly a reference is not a literal. The scheme
# is any run of scheme characters before "://": anchoring on a leading letter made every letter
# after a "-" a new start, each rescanning the run (quadratic on "a-a-a-...").
_USERINFO: Final = re.compile(r"(?<=[A-Za-z0-9+.-])://[^\s/:@]*:([^\s/@]+)@")
# key=value / key: value / "key": "value" pairs inside a longer value (config files, connection
# strings, JAVA_OPTS, query strings): see _pairs. Every pattern here is matched in linear time
# (issue 12 item 14: a nested-quantifier version took 44 s on 40 KB of "a-a-a-..."); a key is a
# maximal run of key characters, so a match can only start where such a run starts.
_KEY_RUN: Final = re.compile(r"""(?<![\w.-])([\w.-]+)["']?[ \t]*[:=][ \t]*""")
_KEY_START: Final = re.compile(r"[A-Za-z_]")
_BARE_VALUE: Final = re.compile(r"""[^\s,;&}'"]*""")
_CONNECTION_PASSWORD: Final = re.compile(r"password|pwd", re.IGNORECASE)


class _Finder:
    """``str.find`` for searches whose start only moves forward: each answer is reused until the
    start passes it, so a thousand unclosed quotes on one line cost one scan, not a thousand."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: dict[str, tuple[int, int]] = {}

    def find(self, needle: str, start: int) -> int:
        known = self.found.get(needle)
        if known is not None and known[0] <= start and (start <= known[1] or known[1] == -1):
            return known[1]
        at = self.text.find(needle, start)
        self.found[needle] = (start, at)
        return at


def _closed(finder: _Finder, closing: str, start: int, newline: int) -> int:
    """Where ``closing`` first occurs at or after ``start`` on the same line, or -1."""
    at = finder.find(closing, start)
    return at if at != -1 and (newline == -1 or at < newline) else -1


def _key(run: str) -> str | None:
    """The key a run of key characters names: ``-Dspring.password`` -> ``spring.password``,
    ``--db-password`` -> ``db-password``; None when no part of it can start a key."""
    start = 0
    while start < len(run):
        if run.startswith("-D", start) and _KEY_START.match(run, start + 2):
            return run[start + 2 :]
        if _KEY_START.match(run, start):
            return run[start:]
        dash = run.find("-", start)
        if dash == -1:
            return None
        start = dash + 1
    return None


def _value(text: str, at: int, finder: _Finder) -> tuple[str, int]:
    """The value that starts at ``at`` and where it ends: a quoted string (quotes dropped), a
    ``${...}``/``$(...)``/``{{ ... }}`` reference closed on its line, else a bare word."""
    newline = finder.find("\n", at)
    quote = text[at : at + 1]
    if quote in ("'", '"'):
        end = _closed(finder, quote, at + 1, newline)
        if end != -1:
            return text[at + 1 : end], end + 1
    for opening, closing in (("${", "}"), ("$(", ")"), ("{{", "}}")):
        if text.startswith(opening, at):
            end = _closed(finder, closing, at + len(opening), newline)
            if end != -1:
                return text[at : end + len(closing)], end + len(closing)
    bare = _BARE_VALUE.match(text, at)
    end = bare.end() if bare is not None else at
    return text[at:end], end


def _pairs(text: str) -> Iterator[tuple[str, str]]:
    """``(key, value)`` of every ``key=value``/``key: value`` pair in ``text``, left to right,
    non-overlapping (a value may hold ``=``: ``a=b=c`` is one pair). Linear in ``len(text)``."""
    for key, value, _ in _pair_spans(text):
        yield key, value


def _pair_spans(text: str) -> Iterator[tuple[str, str, tuple[int, int]]]:
    """``_pairs`` with where each value stands in ``text`` (quotes included)."""
    finder = _Finder(text)
    pos = 0
    while True:
        match = _KEY_RUN.search(text, pos)
        if match is None:
            return
        key = _key(match.group(1))
        if key is None:
            pos = match.end()
            continue
        at = match.end()
        if text[at : at + 1] in ("'", '"', "$", "{"):
            value, pos = _value(text, at, finder)
        else:
            bare = _BARE_VALUE.match(text, at)
            pos = bare.end() if bare is not None else at
            value = text[at:pos]
        yield key, value, (at, pos)


# --- names -----------------------------------------------------------------------------------------

# Whole-name-token credential words.
_CREDENTIAL_WORDS: Final = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "passcode",
        "secret",
        "secrets",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "authtoken",
        "credential",
        "credentials",
        "creds",
        "auth",
        "bearer",
    }
)
# Credential words that also count inside a longer token (DBPASSWORD, GITHUBAPIKEY): none of them
# occurs inside common non-credential words ("token" does: tokenizer; "pass": bypass).
_EMBEDDED_WORDS: Final = (
    "password",
    "passwd",
    "secret",
    "credential",
    "apikey",
    "accesskey",
    "privatekey",
    "authtoken",
)
# "<word>_KEY" is a credential unless the word makes it a lookup key or a public key.
_NON_SECRET_KEY_QUALIFIERS: Final = frozenset(
    {
        "public",
        "pub",
        "sort",
        "partition",
        "primary",
        "foreign",
        "cache",
        "routing",
        "idempotency",
        "object",
        "lookup",
        "shard",
        "hash",
        "row",
        "index",
        "label",
        "metric",
        "feature",
        "dedup",
        "dedupe",
        "group",
        "topic",
        "message",
        "record",
        "node",
        "gpg",
        "pgp",
        "registry",
        "s3",
    }
)
# A credential word followed by one of these names something about a credential.
_DESCRIPTORS: Final = frozenset(
    {
        "file",
        "files",
        "path",
        "dir",
        "directory",
        "location",
        "mount",
        "url",
        "uri",
        "endpoint",
        "host",
        "hostname",
        "port",
        "enabled",
        "enable",
        "disabled",
        "disable",
        "required",
        "mode",
        "type",
        "kind",
        "method",
        "provider",
        "issuer",
        "audience",
        "user",
        "username",
        "name",
        "ref",
        "id",
        "length",
        "len",
        "size",
        "ttl",
        "expiry",
        "expires",
        "expiration",
        "lifetime",
        "timeout",
        "seconds",
        "secs",
        "minutes",
        "hours",
        "days",
        "interval",
        "duration",
        "age",
        "refresh",
        "header",
        "policy",
        "version",
        "count",
        "limit",
        "max",
        "min",
        "format",
        "algorithm",
        "alg",
        "store",
        "backend",
        "namespace",
        "prefix",
        "suffix",
        "field",
        "env",
        "var",
        "source",
        "config",
        "schema",
        "rotation",
        "hint",
        "validation",
        "complexity",
        "strength",
        "reset",
    }
)
_CAMEL: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def name_tokens(name: str) -> list[str]:
    """Lower-case words of a name: ``DB_PASSWORD``, ``dbPassword`` and ``db.password`` -> ``db``, ``password``."""
    return [word.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for word in _CAMEL.findall(part)]


# Every credential word above contains one of these: a name without any is not credential-like,
# which one C-level search tells (a value with thousands of key=value pairs pays nothing more).
_CREDENTIAL_STEMS: Final = ("pass", "pwd", "secret", "token", "key", "cred", "auth", "bearer")


def _may_be_credential(text: str) -> bool:
    # Substring tests on the lower-cased text: a regex alternation with IGNORECASE is ten times slower.
    lowered = text.lower()
    return any(stem in lowered for stem in _CREDENTIAL_STEMS)


# Names whose credential word is not a secret by design. etcd's --initial-cluster-token (and the
# ETCD_INITIAL_CLUSTER_TOKEN variable of the etcd image) only keeps two clusters bootstrapping
# on one network from joining each other by mistake: etcd's docs show it in plain command lines,
# it authenticates nothing, and a member does not need it after the first start.
_NOT_SECRET_BY_DESIGN: Final = frozenset({("initial", "cluster", "token")})


@lru_cache(maxsize=4096)
def credential_word(name: str) -> str | None:
    """The credential word that makes ``name`` credential-like (``"password"``, ``"api key"``), or None.

    The last credential word counts; a descriptor after it (``PASSWORD_FILE``) means the name is
    about a credential rather than one.
    """
    if not _may_be_credential(name):
        return None
    tokens = name_tokens(name)
    if any(tuple(tokens[-len(suffix) :]) == suffix for suffix in _NOT_SECRET_BY_DESIGN):
        return None
    found: tuple[int, str] | None = None
    for index, token in enumerate(tokens):
        word: str | None = None
        if token in _CREDENTIAL_WORDS:
            word = token
        elif token in ("key", "keys") and index > 0 and tokens[index - 1] not in _NON_SECRET_KEY_QUALIFIERS:
            previous = tokens[index - 1]
            word = f"{previous} key" if previous in ("api", "access", "private", "secret") else "key"
        else:
            word = next((w for w in _EMBEDDED_WORDS if w in token), None)
        if word is not None:
            found = (index, word)
    if found is None:
        return None
    index, word = found
    if any(token in _DESCRIPTORS for token in tokens[index + 1 :]):
        return None
    return word


# --- values ----------------------------------------------------------------------------------------

_REFERENCE: Final = re.compile(r"^(?:\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\{[^{}\s]+\}|\{\{.*\}\})$", re.DOTALL)
_BOOLEAN: Final = frozenset({"true", "false", "yes", "no", "on", "off", "enabled", "disabled"})
_PATH: Final = re.compile(r"^(?:/[\w.@+-]+){2,}/?$")
_BASE64ISH: Final = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_HEX: Final = re.compile(r"^(?:[0-9a-f]+|[0-9A-F]+)$")
_URL: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
# Capitalised or lower-case runs of 3+ letters: English words. Random strings rarely have them.
_WORD: Final = re.compile(r"[A-Z]?[a-z]{3,}")
MIN_ENTROPY_LENGTH: Final = 20
_UPPER: Final = re.compile(r"[A-Z]")
_LOWER: Final = re.compile(r"[a-z]")
_DIGIT: Final = re.compile(r"[0-9]")


def is_reference(value: str) -> bool:
    """True for values the runtime fills in: ``$(VAR)``, ``${VAR}``, ``{{ .Values.x }}``."""
    return bool(_REFERENCE.match(value.strip()))


# Placeholders that ask a person to fill the value in, in the two shapes documentation and
# sample manifests use: a wholly angle-bracketed phrase (``<your-password>``, ``<API key>``) and a
# SCREAMING_SNAKE instruction (``INSERT_PASSWORD_HERE``, ``REPLACE_ME``, ``YOUR_API_KEY``). Neither
# shape is one a person or a generator picks as a real credential: the first is the convention
# for "not a value", the second is an imperative in capitals. Deliberately NOT exempt: ``changeme``,
# ``password``, ``admin``, ``secret`` and their like; they are the working default passwords of real
# products (Elasticsearch shipped ``changeme``), so a manifest that carries one most likely runs with it.
_PLACEHOLDER: Final = re.compile(
    r"<[A-Za-z][A-Za-z0-9 _.-]{0,60}>"
    r"|(?:INSERT|REPLACE|ENTER|PUT|ADD|SET|YOUR)(?:_[A-Z0-9]+){0,8}"
    r"|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+){0,8}_HERE"
)


def is_placeholder(value: str) -> bool:
    """True for a fill-in-here placeholder (``<your-password>``, ``INSERT_TOKEN_HERE``); see ``_PLACEHOLDER``."""
    return len(value) <= 80 and _PLACEHOLDER.fullmatch(value.strip()) is not None


def is_non_literal(value: str) -> bool:
    """True for values that hold no credential even under a credential-like name (see module doc)."""
    text = value.strip()
    if not text or is_reference(text) or text.lower() in _BOOLEAN or _PATH.match(text) or is_placeholder(text):
        return True
    return bool(_URL.match(text)) and _url_credential(text) is None


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character (0.0 for the empty string)."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(count / size * math.log2(count / size) for count in Counter(value).values())


def _entropy_floor(length: int) -> float:
    # A random base64 string of n characters carries about log2(n) bits/char while n is below the
    # alphabet size; these floors pass ~90% of random strings and no English-like identifier.
    if length < 32:
        return 3.7
    if length < 48:
        return 4.0
    return 4.3


def looks_random(value: str) -> bool:
    """True for one high-entropy token (the entropy rule of the module doc)."""
    text = value.strip()
    if len(text) < MIN_ENTROPY_LENGTH or text.startswith("/"):
        return False
    if _HEX.match(text):
        return len(text) >= 32 and len(text) != 40 and shannon_entropy(text) >= 3.0
    if not _BASE64ISH.match(text):
        return False
    if not (_UPPER.search(text) and _LOWER.search(text) and _DIGIT.search(text)):
        return False
    # Identifiers made of words (ApplicationConfigLoader2) mix the classes too but are mostly words.
    if sum(len(word) for word in _WORD.findall(text)) >= len(text) / 2:
        return False
    return shannon_entropy(text) >= _entropy_floor(len(text))


def _url_credential(value: str) -> str | None:
    match = _USERINFO.search(value)
    if match and not is_reference(match.group(1)):
        return "a URL with a password (scheme://user:password@host)"
    if "?" in value:
        try:
            query = urlsplit(value.strip()).query
        except ValueError:
            return None
        for key, item in parse_qsl(query):
            if (
                item
                and not is_reference(item)
                and (credential_word(key) or key.lower() in ("sig", "signature", "x-amz-signature"))
            ):
                return "a URL with a credential in its query"
    return None


def token_format(value: str) -> str | None:
    """What known credential format occurs in ``value`` (``"an AWS access key id"``), or None."""
    for description, pattern in TOKEN_FORMATS:
        if pattern.search(value):
            return description
    url = _url_credential(value)
    if url is not None:
        return url
    if ";" in value and _CONNECTION_PASSWORD.search(value):
        for key, item in _pairs(value):
            if key.lower() in ("password", "pwd") and item and not is_reference(item):
                return "a connection string with a password"
    return None


@dataclass(frozen=True, slots=True)
class Match:
    """Why a value is credential-like: ``rule`` reads after "looks like"/"is" in a message."""

    rule: str


def value_rule(value: str) -> Match | None:
    """The value rules alone (formats, then entropy): for names that do not say secret."""
    found = token_format(value)
    if found is not None:
        return Match(f"looks like {found}")
    if looks_random(value):
        return Match("looks random (high entropy)")
    return None


def _embedded(value: str) -> Iterator[str]:
    seen: set[str] = set()  # O(1) per lookup: a value may hold thousands of pairs
    for key, item in _pairs(value):
        if key not in seen and credential_word(key) and not is_non_literal(item):
            seen.add(key)
            yield key


def embedded_credentials(value: str) -> list[str]:
    """Keys of credential-like ``key=value``/``key: value`` pairs with literal values inside ``value``."""
    if not _may_be_credential(value):
        return []
    return list(_embedded(value))


def classify(name: str, value: str) -> Match | None:
    """Is ``value``, stored under ``name``, a credential-like literal? The rule that says so, or None."""
    found = token_format(value)
    if found is not None:
        return Match(f"looks like {found}")
    word = credential_word(name)
    if word is not None and not is_non_literal(value):
        return Match(f'the name says "{word}"')
    if looks_random(value):
        return Match("looks random (high entropy)")
    # The message names three keys: the fourth says "...", the rest need not be searched for.
    inner = list(islice(_embedded(value), 4)) if _may_be_credential(value) else []
    if inner:
        shown = ", ".join(f'"{safe_name(key)}"' for key in inner[:3]) + (", ..." if len(inner) > 3 else "")
        return Match(f"holds literal values for {shown}")
    return None


# --- file names (ConfigMap keys become file names when mounted) -------------------------------------

_CREDENTIAL_FILES: Final = re.compile(
    r"(?:^|[/.])(?:id_(?:rsa|dsa|ecdsa|ed25519)|\.?htpasswd|\.?pgpass|\.?netrc|\.?git-credentials|"
    r"credentials(?:\.json)?|service-account-key\.json)$|\.(?:key|pem|p12|pfx|jks|keystore|ppk)$",
    re.IGNORECASE,
)


def credential_file(name: str) -> bool:
    """True for key names that are private-key or credential files (``tls.key``, ``id_rsa``, ``.pgpass``)."""
    return bool(_CREDENTIAL_FILES.search(name))


# --- base64 ----------------------------------------------------------------------------------------


def decode_base64(value: str) -> bytes | None:
    """``value`` decoded as the API server decodes ``data``/``binaryData`` (standard alphabet), or None."""
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


# --- redaction -------------------------------------------------------------------------------------


def redact(value: str | bytes, rule: str | None = None) -> str:
    """The only text any message gives about a value: its length and the rule, never its content.

    ``redact("AKIA...", "looks like an AWS access key id")`` ->
    ``"value redacted (20 chars, looks like an AWS access key id)"``.
    """
    unit = "bytes" if isinstance(value, bytes) else "chars"
    reason = f", {rule}" if rule else ""
    return f"value redacted ({len(value)} {unit}{reason})"


# Go's %#v of an unstructured value, which server-side apply errors print: {Value:90417733}.
_GO_VALUE: Final = re.compile(r"(\{Value:)([^{}]*)(\})")
_WORDISH: Final = re.compile(r"[A-Za-z0-9+/_.-]{20,}")
MIN_KNOWN_CHARS: Final = 4


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """``text`` from a tool or a server (Helm, kustomize, the API server) with every value that may
    be a secret replaced by ``<redacted>``: the ``known`` values of the input (the object being
    applied, the chart's values; plain and JSON-escaped, from ``MIN_KNOWN_CHARS`` characters),
    known token formats, URL passwords, values of credential-like ``key=value``/``key: value``
    pairs, Go-printed ``{Value:...}`` and high-entropy words. The rest of the message stays."""
    forms = {form for value in known if len(value) >= MIN_KNOWN_CHARS for form in (value, json.dumps(value)[1:-1])}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "<redacted>")
    for _, pattern in TOKEN_FORMATS:
        text = pattern.sub("<redacted>", text)
    text = _USERINFO.sub(lambda m: m.group(0).replace(m.group(1), "<redacted>"), text)
    text = _GO_VALUE.sub(r"\1<redacted>\3", text)
    spans = [span for key, value, span in _pair_spans(text) if credential_word(key) and not is_non_literal(value)]
    for start, end in reversed(spans):
        text = f"{text[:start]}<redacted>{text[end:]}"
    return _WORDISH.sub(lambda m: "<redacted>" if looks_random(m.group(0)) else m.group(0), text)


def leaf_values(value: object, skip: Iterable[str] = ()) -> Iterator[str]:
    """Every string and number inside ``value`` as text (mapping keys in ``skip`` left out at the top)."""
    skipped = frozenset(skip)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key not in skipped:
                yield from leaf_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaf_values(item)
    elif isinstance(value, str):
        yield value
        for separator in ("=", ":"):  # KEY=value literals (kustomize) show their value alone too
            if separator in value:
                yield value.split(separator, 1)[1]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


# Where an object keeps values that may be secret: env values, Secret and ConfigMap maps, annotations.
_SENSITIVE_KEYS: Final = frozenset({"value", "data", "stringData", "binaryData", "annotations"})


def sensitive_values(value: object) -> Iterator[str]:
    """The values of an object that may be secret (for ``scrub``), leaving names, images and kinds
    readable in a server's message: everything under ``value`` (env), ``data``, ``stringData``,
    ``binaryData`` and ``annotations``, and under any credential-like key (``password: ...``)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and (key in _SENSITIVE_KEYS or credential_word(key)):
                yield from leaf_values(item)
            else:
                yield from sensitive_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from sensitive_values(item)


def safe_name(name: str) -> str:
    """``name`` for a message, unless the name itself looks like a credential (a pasted token)."""
    if value_rule(name) is not None:
        return f"<name redacted: {len(name)} chars>"
    return name


# What follows the first "@" of a valid image reference is a digest; anything else before it is
# userinfo a user pasted from a registry URL (user:password@registry/app), which the runtime rejects.
_DIGEST: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def safe_image(image: str) -> str:
    """``image`` for a message: userinfo (``user:pass@``) replaced by its length, and the whole
    reference redacted when some part of it (a tag, a path) has a known token format."""
    text = image
    at = text.find("@")
    if at != -1 and not _DIGEST.fullmatch(text[at + 1 :].split("/", 1)[0]):
        scheme = _SCHEME.match(text)
        start = scheme.end() if scheme and scheme.end() <= at else 0
        text = f"{text[:start]}<userinfo redacted: {at - start} chars>{text[at:]}"
    found = token_format(text)
    if found is not None:
        return f"<image reference {redact(image, f'looks like {found}')}>"
    return text


def field_path(parent: str, key: str) -> str:
    """``data.DB_PASSWORD``, or ``data["app.properties"]`` for keys that are not plain identifiers."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{escaped}"]'


LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
#: The field path of the annotation, which prefixes paths found inside the copy it records.
LAST_APPLIED_PATH: Final = f'metadata.annotations["{LAST_APPLIED}"]'


def last_applied(raw: Mapping[str, object]) -> Mapping[str, object] | None:
    """The object as ``kubectl apply`` last recorded it in the annotation, or None.

    The copy keeps what was applied even after the object changed, so a credential removed from
    the spec can still sit in the annotation of any object (issue 12 item 8).
    """
    metadata = raw.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        copy = json.loads(text)
    except ValueError:
        return None
    return copy if isinstance(copy, Mapping) else None


def iter_strings(mapping: object) -> Iterator[tuple[str, object]]:
    """``(key, value)`` pairs of a mapping with string keys (malformed input yields nothing)."""
    if isinstance(mapping, Mapping):
        for key, value in mapping.items():
            if isinstance(key, str):
                yield key, value


__all__ = (
    "LAST_APPLIED",
    "LAST_APPLIED_PATH",
    "MIN_ENTROPY_LENGTH",
    "TOKEN_FORMATS",
    "Match",
    "classify",
    "credential_file",
    "credential_word",
    "decode_base64",
    "embedded_credentials",
    "field_path",
    "is_non_literal",
    "is_placeholder",
    "is_reference",
    "iter_strings",
    "last_applied",
    "leaf_values",
    "looks_random",
    "name_tokens",
    "redact",
    "safe_image",
    "safe_name",
    "scrub",
    "sensitive_values",
    "shannon_entropy",
    "token_format",
    "value_rule",
)
