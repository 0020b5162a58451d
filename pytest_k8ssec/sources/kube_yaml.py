"""YAML values as Kubernetes reads them: sigs.k8s.io/yaml's ``YAMLToJSON`` over go-yaml v2.

kubectl and the API server do not read YAML as PyYAML does. They decode it with go-yaml v2 (YAML
1.1 resolution, its own list of booleans, Go's integer syntax), turn the result into JSON (every
map key becomes a string, ``NaN`` is refused) and decode that JSON. A security tool that reads
``privileged: on`` or ``stringData: {1234: hunter2}`` differently from the server judges an object
that will never exist. This module reproduces that pipeline on PyYAML's nodes, libyaml still doing
the parsing:

- :class:`KubeYAMLLoader` resolves plain scalars with a private tag; the values come from
  :func:`resolve`, a transcription of ``resolve()`` in go.yaml.in/yaml/v2 v2.4.4 ``resolve.go``.
- :func:`construct` builds the document as ``convertToJSONableObject`` (sigs.k8s.io/yaml v1.6.0
  ``yaml.go``) and a JSON round trip through the server leave it: keys are strings, whole floats
  are integers, merge keys apply in document order (go-yaml ``decode.go`` ``mapping``/``merge``),
  and a key set twice is refused as go-yaml's strict decoding (the API server's
  ``fieldValidation=Strict``) refuses it.

Those are the versions the project's control plane pins (controlplane/go.mod); the live test
``tests/live/test_yaml_semantics_live.py`` checks every row of the unit table against it.
"""

from __future__ import annotations

import binascii
import codecs
import math
import re
import struct
import sys
from collections.abc import Iterator
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_k8ssec.errors import K8sSecError

try:
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Base  # type: ignore[assignment]

_PREFIX = "tag:yaml.org,2002:"
STR, BOOL, INT, FLOAT, NULL, TIMESTAMP, BINARY, MERGE = (
    _PREFIX + name for name in ("str", "bool", "int", "float", "null", "timestamp", "binary", "merge")
)
SEQ, MAP = _PREFIX + "seq", _PREFIX + "map"
# A plain scalar go-yaml resolves without a tag (the value is decided when it is constructed).
PLAIN = "tag:k8ssec.invalid,2026:plain"
_RESOLVABLE = frozenset({"", STR, BOOL, INT, FLOAT, NULL, TIMESTAMP})

_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1

# resolveTable: the first characters that make go-yaml try anything but a string.
_HINTED = "+-0123456789yYnNtTfFoO~."
_NUMERIC = "+-0123456789."
_FIXED: dict[str, tuple[str, Any]] = {}
for _values, _tag, _value in (
    (("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), BOOL, True),
    (("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), BOOL, False),
    (("", "~", "null", "Null", "NULL"), NULL, None),
    ((".nan", ".NaN", ".NAN"), FLOAT, math.nan),
    ((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), FLOAT, math.inf),
    (("-.inf", "-.Inf", "-.INF"), FLOAT, -math.inf),
):
    for _text in _values:
        _FIXED[_text] = (_tag, _value)

# Go's strconv.ParseInt(s, 0, 64) / ParseUint syntax (underscores are removed before).
_GO_INT = re.compile(r"([+-]?)(?:0[bB]([01]+)|0[oO]([0-7]+)|0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))")
_GO_BASE2 = re.compile(r"([+-]?)([01]+)")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# strconv.ParseFloat of text starting with ".": underscores only between digits.
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?")
# go-yaml's allowedTimestampFormats as Go's time.Parse reads them (ranges checked below).
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d?)-(\d\d?)"
    r"(?:[Tt](\d\d?):(\d\d?):(\d\d?)(?:[.,]\d+)?(?:Z|[+-](\d\d):(\d\d))| (\d\d?):(\d\d?):(\d\d?)(?:[.,]\d+)?)?"
)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# encoding/base64 StdEncoding, after DecodeString has dropped "\r" and "\n".
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


_ANCHOR = re.compile(r"&\S*\s*")
_NON_SPECIFIC_TAG = re.compile(r"!(?=[ \t\r\n])")


DUPLICATE_KEY_WHY = "the API server refuses it with fieldValidation=Strict, and kubectl silently applies the last value"


class ResolveError(K8sSecError, ValueError):
    """An explicitly tagged scalar go-yaml refuses (``!!int abc``, ``!!binary ???``)."""


def _go_int(text: str, pattern: re.Pattern[str] = _GO_INT) -> int | None:
    """strconv.ParseInt(text, 0, 64) and, failing that, ParseUint(text, 0, 64); None if neither."""
    match = pattern.fullmatch(text)
    if match is None:
        return None
    sign, *groups = match.groups()
    if len(max(groups, key=lambda digits: len(digits or "")) or "") > 64 and len(text.lstrip("+-0")) > 64:
        return None  # past 64 binary digits; also keeps int() clear of Python's 4300-digit limit
    if pattern is _GO_BASE2:
        value = int(groups[0], 2)
    else:
        binary, octal, hexadecimal, zero_octal, decimal = groups
        if binary is not None:
            value = int(binary, 2)
        elif octal is not None:
            value = int(octal, 8)
        elif hexadecimal is not None:
            value = int(hexadecimal, 16)
        elif zero_octal is not None:
            value = int(zero_octal or "0", 8)
        else:
            value = int(decimal)
    if sign == "-":
        return -value if value <= _INT64_MAX + 1 else None
    if value <= _INT64_MAX:
        return value
    # ParseUint takes no sign: "+18446744073709551615" is not an integer to go-yaml.
    return value if not sign and value <= _UINT64_MAX and pattern is _GO_INT else None


def _go_float(text: str) -> float | None:
    """strconv.ParseFloat of text already known to be decimal syntax; None when it overflows."""
    value = float(text)
    return None if math.isinf(value) else value


def _is_timestamp(text: str) -> bool:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, zone_hour, zone_minute, hour2, minute2, second2 = (
        int(group) if group is not None else None for group in match.groups()
    )
    assert year is not None and month is not None and day is not None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= month <= 12:
        return False
    if not 1 <= day <= (29 if leap and month == 2 else _DAYS[month - 1]):
        return False
    hour, minute, second = (hour, minute, second) if hour is not None else (hour2, minute2, second2)
    if hour is not None and (hour >= 24 or (minute or 0) >= 60 or (second or 0) >= 60):
        return False
    return not (zone_hour is not None and (zone_hour > 24 or (zone_minute or 0) > 60))


def _resolve_untagged(tag: str, text: str) -> tuple[str, Any]:
    hint = text[:1] if text else "N"
    if hint not in _HINTED and hint != "N":
        return STR, text
    fixed = _FIXED.get(text)
    if fixed is not None:
        return fixed
    if hint == ".":
        if _DOT_FLOAT.fullmatch(text):
            value = _go_float(text.replace("_", ""))
            if value is not None:
                return FLOAT, value
    elif hint in "+-0123456789":
        if tag in ("", TIMESTAMP) and _is_timestamp(text):
            return TIMESTAMP, text
        plain = text.replace("_", "")
        integer = _go_int(plain)
        if integer is not None:
            return INT, integer
        if _YAML_FLOAT.fullmatch(plain):
            value = _go_float(plain)
            if value is not None:
                return FLOAT, value
        # go-yaml's own "0b" fallback also takes a sign after the prefix ("0b-101" is -5).
        if plain.startswith("0b"):
            integer = _go_int(plain[2:], _GO_BASE2)
            if integer is not None:
                return INT, integer
        elif plain.startswith("-0b"):
            integer = _go_int("-" + plain[3:], _GO_BASE2)
            if integer is not None:
                return INT, integer
    return STR, text


def resolve(tag: str, text: str) -> tuple[str, Any]:
    """go-yaml v2's ``resolve(tag, in)``: the tag it settles on and the value (tag ``""``: plain).

    A timestamp's value is its text: go-yaml decodes timestamps into ``interface{}`` as strings.

    Raises:
        ResolveError: an explicit tag the text does not fit (``!!bool maybe``).
    """
    if tag not in _RESOLVABLE:
        return tag, text
    if tag == STR:
        return STR, text
    rtag, value = _resolve_untagged(tag, text)
    if tag in ("", rtag):
        return rtag, value
    if tag == FLOAT and rtag == INT and value <= _INT64_MAX:
        return FLOAT, float(value)
    raise ResolveError(f"Kubernetes reads it as {rtag.rpartition(':')[2]}, not {tag.rpartition(':')[2]}")


def _go_replace(error: UnicodeError) -> tuple[str, int]:
    # Go's encoding/json replaces each invalid byte with U+FFFD, one byte at a time.
    assert isinstance(error, UnicodeDecodeError)
    return "\ufffd", error.start + 1


codecs.register_error("k8ssec-go-replace", _go_replace)


def _binary(text: str) -> str:
    data = text.replace("\r", "").replace("\n", "")
    if not _BASE64.fullmatch(data):
        raise ResolveError("!!binary value contains invalid base64 data")
    return binascii.a2b_base64(data).decode("utf-8", "k8ssec-go-replace")


def json_number(value: int | float) -> int | float:
    """A number as the API server hands it back once it went through JSON.

    Go writes a float64 without a fraction as an integer literal (``1.0`` -> ``1``) and the server
    reads integer literals that fit int64 as integers: ``runAsUser: 0.0`` is user 0.

    Raises:
        ResolveError: NaN and infinities, which Go's JSON encoder refuses.
    """
    if isinstance(value, int):
        if -_INT64_MAX - 1 <= value <= _INT64_MAX:
            return value
        value = float(value)  # uint64: the server reads it as a float64
    if math.isnan(value) or math.isinf(value):
        raise ResolveError(f"{value} cannot be encoded as JSON, so the API server refuses the document")
    if value.is_integer() and abs(value) < 1e21:
        return int(Decimal(repr(value)))  # Go's shortest digits, zero-padded: 1.8446744073709552e19
    return value


def _float32_string(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 32)``, the text of a float map key."""
    try:
        (single,) = struct.unpack("<f", struct.pack("<f", value))
    except OverflowError:
        single = math.copysign(math.inf, value)
    if math.isnan(single):
        return ".nan"
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    sign = "-" if math.copysign(1.0, single) < 0 else ""
    if single == 0:
        return sign + "0"
    digits, point = _shortest_float32(abs(single))
    exponent = point - 1
    if exponent < -4 or exponent >= 6:  # shortest formatting decides with precision 6
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _shortest_float32(value: float) -> tuple[str, int]:
    """Shortest decimal digits that read back as this positive float32 (the closest such, as Go's
    ftoa picks), and the position of the decimal point."""
    (bits,) = struct.unpack("<I", struct.pack("<f", value))

    def single(raw: int) -> Decimal:
        return Decimal(struct.unpack("<f", struct.pack("<I", raw))[0])

    wide = Context(prec=200)
    exact = Decimal(value)
    below = single(bits - 1)
    above = single(bits + 1) if bits + 1 < 0x7F800000 else wide.add(exact, wide.subtract(exact, below))
    low = wide.divide(wide.add(below, exact), 2)
    high = wide.divide(wide.add(exact, above), 2)
    even = bits % 2 == 0  # round-half-even reads a tie back to the even neighbour
    for precision in range(1, 10):
        candidates = [
            candidate
            for rounding in (ROUND_FLOOR, ROUND_CEILING)
            for candidate in [Context(prec=precision, rounding=rounding).plus(exact)]
            if low < candidate < high or (even and candidate in (low, high))
        ]
        if candidates:
            best = min(candidates, key=lambda candidate: abs(wide.subtract(candidate, exact)))
            _, digit_tuple, exponent = best.normalize(wide).as_tuple()
            assert isinstance(exponent, int)
            digits = "".join(map(str, digit_tuple))
            return digits, len(digits) + exponent
    raise AssertionError("a float32 always has a 9-digit decimal form")  # pragma: no cover


def _tag_of(kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
    if kind is ScalarNode:
        if implicit[0]:
            assert value is not None
            # Names (most keys and values) start with a letter: one set lookup settles them.
            if value[:1] in _NUMERIC or value in _FIXED:  # "" is in every string: null
                return PLAIN
            if value == "<<":
                return MERGE
        return STR
    return SEQ if kind is SequenceNode else MAP


class KubeYAMLLoader(_Base):
    """libyaml's safe loader with go-yaml's resolution of plain scalars.

    Only the tag is decided here (this runs for every scalar libyaml reads, so it stays cheap);
    :func:`construct` turns tags into values.
    """

    def resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        # _tag_of inlined: libyaml calls this for every node.
        if kind is ScalarNode:
            if implicit[0]:
                assert value is not None
                if value[:1] in _NUMERIC or value in _FIXED:
                    return PLAIN
                if value == "<<":
                    return MERGE
            return STR
        return SEQ if kind is SequenceNode else MAP


def compose_all(text: str) -> Iterator[Node]:
    """The documents of ``text`` composed from libyaml's events, with go-yaml's anchors.

    libyaml's composer refuses an anchor defined twice; go-yaml lets the later one replace the
    earlier for the aliases that follow. Used only for such streams (it is slower than the C
    composer), and without recursion, as documents may nest deeply.
    """
    loader = KubeYAMLLoader(text)
    try:
        anchors: dict[str, Node] = {}
        stack: list[Node] = []
        keys: list[Node | None] = []
        root: Node | None = None
        while True:
            event = loader.get_event()
            assert event is not None  # the stream ends with StreamEndEvent first
            start: Any = event.start_mark  # libyaml's marks are their own type
            end: Any = event.end_mark
            node: Node
            if isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.DocumentStartEvent):
                anchors, root = {}, None
                continue
            if isinstance(event, yaml.DocumentEndEvent):
                assert root is not None
                yield root
                continue
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", start)
                node = anchors[event.anchor]
            elif isinstance(event, yaml.ScalarEvent):
                tag = (
                    event.tag
                    if event.tag is not None and event.tag != "!"
                    else _tag_of(ScalarNode, event.value, event.implicit)
                )
                node = ScalarNode(tag, event.value, start, end, style=event.style)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if isinstance(event, yaml.SequenceStartEvent):
                    tag = event.tag if event.tag is not None and event.tag != "!" else SEQ
                    node = SequenceNode(tag, [], start, None, flow_style=event.flow_style)
                else:
                    tag = event.tag if event.tag is not None and event.tag != "!" else MAP
                    node = MappingNode(tag, [], start, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    anchors[event.anchor] = node
                stack.append(node)
                keys.append(None)
                continue
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                node = stack.pop()
                keys.pop()
                node.end_mark = end
            else:
                continue  # StreamStartEvent
            if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                anchors[event.anchor] = node
            if not stack:
                root = node
            elif isinstance(stack[-1], SequenceNode):
                stack[-1].value.append(node)
            elif keys[-1] is None:
                keys[-1] = node
            else:
                stack[-1].value.append((keys[-1], node))
                keys[-1] = None
    finally:
        loader.dispose()


# libyaml makes a new string for every scalar: the key "containers" of 10,000 objects is 10,000
# strings. One copy of every key and of short texts (names, enum values such as "IfNotPresent")
# took a 10k-object load from 207 to about 115 MB of peak RSS, at no cost in time (equal strings
# are equal; nothing compares these by identity). Long texts are mostly unique: not worth a lookup.
_intern = sys.intern
_INTERNED_MAX = 64


def text_flags(text: str) -> tuple[bool, bool]:
    """Whether ``text`` has a non-specific tag ``!`` and the merge key text ``<<`` (what
    :func:`construct` needs to know of the whole stream): a caller constructing many documents of
    one stream asks once (a file of 20 documents was searched 20 times)."""
    return _NON_SPECIFIC_TAG.search(text) is not None, "<<" in text


def _problem(node: Node, message: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, message, node.start_mark)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else f"{text[:37]}...")


class _Builder:
    """Builds one document's JSON value from its node graph, without recursion (documents may nest
    hundreds of levels deep) and building each node shared by aliases once."""

    def __init__(self, text: str, flags: tuple[bool, bool] | None = None) -> None:
        self.text = text
        # "! 123" is a string to go-yaml, but libyaml reports the non-specific tag "!" on a plain
        # scalar as if there were no tag; only such text needs looking at.
        self.bang, self.merges = flags if flags is not None else text_flags(text)
        self.built: dict[int, Any] = {}
        self.pending: list[tuple[Node, Any]] = []
        # What Kubernetes refuses only if it reaches the JSON (a later duplicate key may drop it):
        # a NaN, a null or uint64 key, keys that collide as strings; with the value or mapping.
        self.problems: list[tuple[object, yaml.constructor.ConstructorError]] = []
        self.duplicates: list[yaml.constructor.ConstructorError] = []

    def scalar(self, node: ScalarNode) -> tuple[str, Any]:
        tag = node.tag
        if tag == STR:
            text = node.value
            return STR, _intern(text) if len(text) <= _INTERNED_MAX else text
        try:
            if tag == PLAIN:
                if self.bang and self._non_specific(node):
                    return STR, node.value
                return resolve("", node.value)
            if tag == MERGE:
                return STR, node.value
            if tag == BINARY:
                return BINARY, _binary(node.value)
            return resolve(tag, node.value)
        except ResolveError as exc:
            raise _problem(node, f"cannot read {_shown(node.value)} as {tag.rpartition(':')[2]}: {exc}") from None

    def _non_specific(self, node: ScalarNode) -> bool:
        """Whether the node's properties (anchor, tag) include the non-specific tag ``!``."""
        text, at = self.text, node.start_mark.index
        for _ in range(2):
            if text.startswith("&", at):
                match = _ANCHOR.match(text, at)
                at = match.end() if match else at + 1
            elif text.startswith("!", at):
                return text[at + 1 : at + 2] in (" ", "\t", "\r", "\n")
        return False

    def value(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            _rtag, value = self.scalar(node)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    return json_number(value)
                except ResolveError as exc:
                    # Refused only if it reaches the JSON: a later duplicate key may replace it.
                    unencodable = _Unencodable()
                    self.problems.append((unencodable, _problem(node, f"cannot read {_shown(node.value)}: {exc}")))
                    return unencodable
            return value
        key = id(node)
        if key in self.built:
            return self.built[key]
        made: Any = {} if isinstance(node, MappingNode) else []
        self.built[key] = made
        self.pending.append((node, made))
        return made

    def key(self, node: Node) -> tuple[str, Any]:
        """The key as the JSON object holds it, and its Go identity (two keys collide only if equal there)."""
        if not isinstance(node, ScalarNode):
            raise _problem(node, "a mapping or a sequence cannot be a key (Kubernetes refuses the document)")
        rtag, value = self.scalar(node)
        if isinstance(value, str):
            value = _intern(value)
            return value, value
        if value is None:
            raise _Deferred(
                None, None, f"{_shown(node.value)} is a null key, which Kubernetes refuses", node.start_mark
            )
        if isinstance(value, bool):
            return ("true" if value else "false"), (bool, value)
        if isinstance(value, int) and rtag == INT:
            if value > _INT64_MAX:
                raise _Deferred(
                    None, None, f"{_shown(node.value)} is a uint64 key, which Kubernetes refuses", node.start_mark
                )
            return str(value), (int, value)
        as_float = float(value)
        # NaN is not equal to itself: every NaN key is a key of its own to Go.
        identity = (float, node) if math.isnan(as_float) else (float, as_float)
        return _float32_string(as_float), identity

    def mapping(self, node: MappingNode, into: dict[str, Any]) -> None:
        origins: dict[str, Any] | None = None
        # A merge key is the plain scalar "<<": a stream without that text has none to expand.
        pairs = _pairs(node) if self.merges else node.value
        keyed = 0
        for key_node, value_node in pairs:
            # The common case inlined (a string key, a string value: what key() and value() give
            # them), as this loop runs for every entry of every document.
            if key_node.tag == STR and key_node.__class__ is ScalarNode:
                name = identity = _intern(key_node.value)
            else:
                try:
                    name, identity = self.key(key_node)
                except _Deferred as exc:
                    self.problems.append((into, exc))
                    self.value(value_node)  # go-yaml still decodes the value
                    continue
            keyed += 1
            if identity is not name or origins is not None:
                # Non-string keys: Go keeps 1, "1" and 1.0 apart and then writes all three as "1";
                # which one JSON gets is up to Go's map order, so such a document has no one value.
                origins = origins if origins is not None else {k: k for k in into}
                if name in origins and origins[name] != identity:
                    message = (
                        f"keys {_shown(str(name))} collide once Kubernetes turns keys into strings "
                        "(which value it keeps is undefined)"
                    )
                    self.problems.append((into, _Deferred(None, None, message, key_node.start_mark)))
                origins[name] = identity
            if value_node.tag == STR and value_node.__class__ is ScalarNode:
                text = value_node.value
                into[name] = _intern(text) if len(text) <= _INTERNED_MAX else text
            else:
                into[name] = self.value(value_node)
        # Fewer entries than keys: a key repeated (or keys that collide as strings, reported
        # above). Counting keeps the common case at O(1) per key; only then are the keys searched.
        if len(into) != keyed:
            self._find_duplicate(node, pairs)

    def _find_duplicate(self, node: MappingNode, pairs: list[tuple[Node, Node]]) -> None:
        """Record the first key go-yaml's strict decoder finds already set in this mapping.

        The API server's strict decoding (``fieldValidation=Strict``) refuses a key set twice,
        also when a merge key sets it; kubectl turns YAML into JSON before it sends it, so even
        with ``--validate=strict`` it applies the last value while a reviewer reads the first
        (both confirmed by tests/live/test_duplicate_keys_live.py). Go identity decides (``true``
        and ``y`` are one key, ``1`` and ``"1"`` are not).
        """
        via = _merged_by(node, pairs)
        seen: dict[Any, int] = {}
        for index, (key_node, _) in enumerate(pairs):
            try:
                _, identity = self.key(key_node)
            except _Deferred:
                continue
            first = seen.setdefault(identity, index)
            if first == index:
                continue
            earlier, merge, earlier_merge = pairs[first][0], via[index], via[first]
            written = "" if earlier.value == key_node.value else f" as {_quoted(earlier.value)}"
            merged = "" if earlier_merge is None else f', merged by "<<" at line {_line(earlier_merge)}'
            message = f"duplicate key {_quoted(key_node.value)}"
            if merge is not None:
                message += f' from line {_line(key_node)} merged by "<<"'
            message += f" (first at line {_line(earlier)}{written}{merged}): {DUPLICATE_KEY_WHY}"
            self.duplicates.append(_problem(merge if merge is not None else key_node, message))
            return

    def build(self, root: Node) -> Any:
        result = self.value(root)
        while self.pending:
            node, made = self.pending.pop()
            if isinstance(node, MappingNode):
                self.mapping(node, made)
            else:
                made.extend(self.value(child) for child in node.value)
        if self.duplicates:
            # Refused wherever it stands (go-yaml decodes a value a later key replaces, too);
            # the first in the text is the one to report.
            raise min(self.duplicates, key=lambda error: error.problem_mark.index if error.problem_mark else 0)
        if self.problems:
            reachable = _reachable(result)
            for holder, error in self.problems:
                if id(holder) in reachable:
                    raise error
        return result


class _Deferred(yaml.constructor.ConstructorError):
    """Refused by Kubernetes if what holds it is still in the document at the end."""


class _Unencodable:
    """Stands where a number JSON cannot hold (NaN, infinities) was read."""


def _reachable(result: Any) -> set[int]:
    seen: set[int] = set()
    stack = [result]
    while stack:
        value = stack.pop()
        if id(value) not in seen:
            seen.add(id(value))
            if isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
    return seen


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _quoted(text: str) -> str:
    return '"' + (text if len(text) <= 40 else f"{text[:37]}...") + '"'


def _merged_by(node: MappingNode, pairs: list[tuple[Node, Node]]) -> list[Node | None]:
    """For each of ``_pairs(node)``, the ``<<`` key of ``node`` that brought it (None: written there)."""
    if pairs is node.value:
        return [None] * len(pairs)
    via: list[Node | None] = []
    for key, value in node.value:
        if _is_merge(key):
            merged = list(reversed(value.value)) if isinstance(value, SequenceNode) else [value]
            via.extend(key for source in merged for _ in _pairs(source))
        else:
            via.append(None)
    return via


def _is_merge(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == MERGE and node.value == "<<"


def _pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    """The mapping's (key, value) pairs with merge keys expanded where they stand.

    go-yaml merges in document order: a merged key overrides the keys before ``<<`` and is
    overridden by those after it (PyYAML lets every explicit key win), and in ``<<: [*a, *b]``
    the first mapping wins. Chains of merges are expanded without recursion.
    """
    direct: list[tuple[Node, Node]] = node.value
    if not any(_is_merge(key) for key, _ in direct):
        return direct
    done: dict[int, list[tuple[Node, Node]]] = {}
    stack: list[tuple[MappingNode, bool]] = [(node, False)]
    active: set[int] = set()
    while stack:
        current, ready = stack.pop()
        sources: list[Node] = []
        for key, value in current.value:
            if _is_merge(key):
                # An alias of a list does not merge (go-yaml wants the list itself); an alias starts
                # before the key it follows, as anchors come first.
                listed = isinstance(value, SequenceNode) and value.start_mark.index > key.start_mark.index
                merged = list(reversed(value.value)) if listed else [value]
                for source in merged:
                    if not isinstance(source, MappingNode):
                        raise _problem(source, "map merge requires map or sequence of maps as the value")
                sources.extend(merged)
        if not ready:
            if id(current) in done:
                continue
            if id(current) in active:
                raise _problem(current, "a YAML merge refers to the mapping that contains it (a cycle)")
            active.add(id(current))
            stack.append((current, True))
            stack.extend((source, False) for source in sources if id(source) not in done)  # type: ignore[misc]
            continue
        pairs: list[tuple[Node, Node]] = []
        for key, value in current.value:
            if _is_merge(key):
                merged = list(reversed(value.value)) if isinstance(value, SequenceNode) else [value]
                for source in merged:
                    pairs.extend(done[id(source)])
            else:
                pairs.append((key, value))
        done[id(current)] = pairs
        active.discard(id(current))
    return done[id(node)]


def construct(root: Node, text: str, flags: tuple[bool, bool] | None = None) -> Any:
    """The JSON value Kubernetes makes of one composed document (``text`` is the whole stream;
    ``flags``, when given, are ``text_flags(text)``).

    Raises:
        yaml.constructor.ConstructorError: what the API server refuses too, at the node's line.
    """
    return _Builder(text, flags).build(root)


def _alias_ratio_allowed(decodes: int) -> float:
    """go-yaml's allowedAliasRatio: 99% of decodes may come from aliases up to 400,000 decodes,
    sliding to 10% at 4,000,000."""
    if decodes <= 400_000:
        return 0.99
    if decodes >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * ((decodes - 400_000) / 3_600_000)


def refuse_excessive_aliasing(root: Node) -> None:
    """Raise where go-yaml's decoder stops with "document contains excessive aliasing".

    go-yaml counts every node it decodes and those decoded through an alias, and refuses the
    document once aliases are more than 100, decodes more than 1,000 and the share of aliased
    decodes passes :func:`_alias_ratio_allowed`. The share only grows inside an alias, so it is
    checked where each alias outside any other ends; the decodes inside an alias are counted once
    per node (memoized), so this costs one pass over the distinct nodes. Assumes no cycles (the
    alias guard refuses them first).

    Raises:
        yaml.constructor.ConstructorError: at the alias that tips the share over.
    """
    # The first occurrence of a node in document order is where it is defined; later ones are aliases.
    defined: set[int] = set()
    children: dict[int, list[tuple[Node, bool]]] = {}  # (child, via alias) in document order
    visit: list[tuple[Node, list[tuple[Node, bool]] | None]] = [(root, None)]
    while visit:
        node, slots = visit.pop()
        alias = id(node) in defined
        if slots is not None:
            slots.append((node, alias))
        if alias:
            continue
        defined.add(id(node))
        parts: list[Node] = []
        if isinstance(node, MappingNode):
            parts = [part for pair in node.value for part in pair]
        elif isinstance(node, SequenceNode):
            parts = list(node.value)
        own: list[tuple[Node, bool]] = []
        children[id(node)] = own
        visit.extend((part, own) for part in reversed(parts))
    # Decodes of each node where it is defined, children (and what aliases point to) first.
    decodes: dict[int, int] = {}
    post: list[tuple[Node, bool]] = [(root, False)]
    while post:
        node, ready = post.pop()
        if id(node) in decodes:
            continue
        if ready:
            decodes[id(node)] = _decodes(node, children[id(node)], decodes)
            continue
        post.append((node, True))
        post.extend((part, False) for part, _ in children[id(node)] if id(part) not in decodes)
    total, aliased = 1, 0  # the document node
    walk: list[tuple[Node, bool]] = [(root, False)]
    while walk:
        node, alias = walk.pop()
        if alias:
            total += 1 + decodes[id(node)]
            aliased += decodes[id(node)]
            if aliased > 100 and total > 1000 and aliased / total > _alias_ratio_allowed(total):
                raise _problem(
                    node, "the document contains excessive aliasing, which Kubernetes refuses (go-yaml's limit)"
                )
            continue
        total += 1
        if isinstance(node, MappingNode):
            pending: list[tuple[Node, bool]] = []
            for (key, key_alias), (value, value_alias) in zip(*[iter(children[id(node)])] * 2):
                if _is_merge(key):  # go-yaml decodes the merged mappings, not the "<<" key
                    if isinstance(value, SequenceNode) and not value_alias:
                        pending.extend(reversed(children[id(value)]))  # nor the list: last first
                    else:
                        pending.append((value, value_alias))
                    continue
                pending += [(key, key_alias), (value, value_alias)]
            walk.extend(reversed(pending))
        else:
            walk.extend(reversed(children[id(node)]))


def _decodes(node: Node, parts: list[tuple[Node, bool]], known: dict[int, int]) -> int:
    """go-yaml's unmarshal calls for ``node`` where it stands (an alias adds one for itself)."""

    def of(part: Node, alias: bool) -> int:
        return known[id(part)] + (1 if alias else 0)

    if not isinstance(node, MappingNode):
        return 1 + sum(of(part, alias) for part, alias in parts)
    count = 1
    for (key, key_alias), (value, value_alias) in zip(*[iter(parts)] * 2):
        if _is_merge(key):
            count += of(value, value_alias) - (1 if isinstance(value, SequenceNode) and not value_alias else 0)
        else:
            count += of(key, key_alias) + of(value, value_alias)
    return count
