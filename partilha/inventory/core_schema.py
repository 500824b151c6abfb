"""Scalars as YAML 1.2's core schema reads them, refusing what YAML 1.1 would read otherwise.

PyYAML (like many tools) reads YAML 1.1: `4:00` is 240 (base 60), `0443` is 291 (octal), `yes`
is true, `2024-06-02` a date. YAML 1.2 reads 4:00, yes and 2024-06-02 as text and 0443 as 443. A
plain scalar the two versions read differently is refused, so no reader of an inventory can take
it for something its author did not mean. Only the core schema's tags may be written explicitly.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any, cast

import yaml

CORE = "tag:yaml.org,2002:"
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_MAY_NOT_BE_TEXT = frozenset("0123456789+-.~nNtTfF")  # what null, bool, int and float start with
_MAX_DIGITS = 100  # Python refuses to parse ints of more than 4,300 digits; no field needs 100
_YAML11 = yaml.SafeLoader("")  # PyYAML's YAML 1.1 resolver and constructors, as a reference


class ScalarError(ValueError):
    """A scalar the inventory cannot take, with why."""


def plain(text: str) -> Any:
    """An untagged, unquoted scalar: its YAML 1.2 core value, when YAML 1.1 reads the same."""
    return _plain_short(text) if len(text) <= _CACHED_LENGTH else _plain(text)


def _plain(text: str) -> Any:
    value = _core(text)
    if text[:1] in _YAML11.yaml_implicit_resolvers:  # else YAML 1.1 reads text too
        tag: str = _YAML11.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        construct = cast(Callable[[Any, yaml.Node], Any], _YAML11.yaml_constructors.get(
            tag, _YAML11.yaml_constructors[None]))
        try:
            old = construct(_YAML11, yaml.ScalarNode(tag, text))
        except (yaml.YAMLError, ValueError):
            old = _Unreadable(tag.rsplit(":", 1)[-1])  # "<<" is a merge key to YAML 1.1
        if not _same(old, value):
            raise ScalarError(f"{text!r} is ambiguous: YAML 1.1 reads {_reading(old)}, YAML 1.2 "
                              f"{_reading(value)}; write it so both read the same (in quotes if it is text)")
    return value


# keys and small values repeat across an inventory (cpus, 443, gold): each is judged once
_CACHED_LENGTH = 64
_plain_short = functools.lru_cache(maxsize=4096)(_plain)


def tagged(tag: str, text: str) -> Any:
    """A scalar with an explicit tag: only the core schema's, and only values they can hold."""
    shown = tag.replace(CORE, "!!")
    if tag == "!" or tag == f"{CORE}str":
        return text
    if tag not in (f"{CORE}null", f"{CORE}bool", f"{CORE}int", f"{CORE}float"):
        raise ScalarError(not_allowed(tag))
    value = _core(text)
    if tag == f"{CORE}float" and type(value) is int:
        return float(value)
    if type(value).__name__ != {"null": "NoneType"}.get(shown[2:], shown[2:]):
        raise ScalarError(f"invalid value: {text!r} is not a valid {shown}")
    return value


def not_allowed(tag: str) -> str:
    return (f"tag {tag.replace(CORE, '!!')} is not allowed: an inventory is plain YAML 1.2 "
            "(!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)")


def _core(text: str) -> Any:
    """The YAML 1.2 core schema's reading of a plain scalar."""
    if text and text[0] not in _MAY_NOT_BE_TEXT:
        return text
    if _NULL.fullmatch(text):
        return None
    if _BOOL.fullmatch(text):
        return text.lower() == "true"
    for pattern, base in ((_INT, 10), (_OCT, 8), (_HEX, 16)):
        if pattern.fullmatch(text):
            if len(text) > _MAX_DIGITS:
                raise ScalarError(f"a number of {len(text)} digits is more than any field takes")
            return int(text[2:] if base != 10 else text, base)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


class _Unreadable:
    def __init__(self, what: str) -> None:
        self.what = what


def _same(old: Any, new: Any) -> bool:
    if type(old) is not type(new):
        return False
    return bool(old == new or (isinstance(new, float) and math.isnan(old) and math.isnan(new)))


def _reading(value: Any) -> str:
    if isinstance(value, _Unreadable):
        return f"a {value.what} key"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value:g}" if isinstance(value, float) else f"the number {value}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return f"the text {value!r}"
