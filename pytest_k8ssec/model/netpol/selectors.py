"""``metav1.LabelSelector`` as the API server validates it (label keys and values, operators) and
as ``labels.Selector`` matches it (``NotIn`` holds for a pod without the key)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pytest_k8ssec.model.netpol.validation import InvalidField

_NAME_RE: Final = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist")


def _check_label_key(key: object, path: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidField(path, f"label key must be a non-empty string, got {key!r}")
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        raise InvalidField(path, f"invalid label key prefix in {key!r}")
    if len(name) > 63 or not _NAME_RE.match(name):
        raise InvalidField(path, f"invalid label key {key!r}")
    return key


def _check_label_value(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidField(path, f"label value must be a string, got {value!r}")
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        raise InvalidField(path, f"invalid label value {value!r}")
    return value


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry (``matchLabels`` entries become ``In`` with one value)."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            # Upstream: a pod without the key satisfies NotIn.
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        values = ",".join(sorted(self.values))
        return f"{self.key} {'in' if self.operator == 'In' else 'notin'} ({values})"


@dataclass(frozen=True)
class Selector:
    """A compiled ``metav1.LabelSelector``: every requirement must hold; empty matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, raw: object, path: str) -> Selector:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise InvalidField(path, f"label selector must be a mapping, got {raw!r}")
        unknown = set(raw) - {"matchLabels", "matchExpressions"}
        if unknown:
            raise InvalidField(path, f"unknown label selector fields {sorted(unknown)}")
        reqs: list[Requirement] = []
        match_labels = raw.get("matchLabels")
        if match_labels is not None:
            if not isinstance(match_labels, Mapping):
                raise InvalidField(f"{path}.matchLabels", "must be a mapping")
            for key, value in match_labels.items():
                _check_label_key(key, f"{path}.matchLabels")
                _check_label_value(value, f"{path}.matchLabels.{key}")
                reqs.append(Requirement(key, "In", frozenset({value})))
        expressions = raw.get("matchExpressions")
        if expressions is not None and not isinstance(expressions, list):
            raise InvalidField(f"{path}.matchExpressions", "must be a list")
        for index, expr in enumerate(expressions or ()):
            where = f"{path}.matchExpressions[{index}]"
            if not isinstance(expr, Mapping):
                raise InvalidField(where, "must be a mapping")
            key = _check_label_key(expr.get("key"), f"{where}.key")
            operator = expr.get("operator")
            if operator not in _OPERATORS:
                raise InvalidField(
                    f"{where}.operator", f"unsupported operator {operator!r} (one of {', '.join(_OPERATORS)})"
                )
            values = expr.get("values")
            if values is not None and not isinstance(values, list):
                raise InvalidField(f"{where}.values", "must be a list")
            values = values or []
            if operator in ("In", "NotIn") and not values:
                raise InvalidField(f"{where}.values", f"must be specified when operator is {operator}")
            if operator in ("Exists", "DoesNotExist") and values:
                raise InvalidField(f"{where}.values", f"may not be specified when operator is {operator}")
            for vi, value in enumerate(values):
                _check_label_value(value, f"{where}.values[{vi}]")
            reqs.append(Requirement(key, str(operator), frozenset(values)))
        return cls(tuple(reqs))

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        # A loop, not all(generator): every policy's selector meets every pod of its namespace.
        for req in self.requirements:
            if not req.matches(labels):
                return False
        return True

    def __str__(self) -> str:
        if not self.requirements:
            return "{}"
        parts = []
        for req in self.requirements:
            if req.operator == "In" and len(req.values) == 1:
                parts.append(f"{req.key}={next(iter(req.values))}")
            else:
                parts.append(str(req))
        return ",".join(parts)
