"""PVE's property strings (`key=value,key=value`): parsing as pve-common's JSONSchema
`parse_property_string` does, with its wording of every failure.

A schema maps each key to a check (None: fine, else PVE's message, where `{}` stands for the
value). A `default_key` takes a part without `=`; `aliases` are qemu-server's `<model>=<mac>` keys
(`virtio=BC:24:11:...` sets `model=virtio` and `macaddr=BC:24:11:...`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

Check = Callable[[str], str | None]
BOOLEAN_WORDS = {"1": "1", "on": "1", "yes": "1", "true": "1",
                 "0": "0", "off": "0", "no": "0", "false": "0"}


def boolean(value: str) -> str | None:
    return None if value in ("0", "1") else f"type check ('boolean') failed - got '{value}'"


def integer(low: int, high: int | None = None) -> Check:
    def check(value: str) -> str | None:
        if not re.fullmatch(r"[+-]?\d+", value):
            return f"type check ('integer') failed - got '{value}'"
        if int(value) < low:
            return f"value must have a minimum value of {low}"
        if high is not None and int(value) > high:
            return f"value must have a maximum value of {high}"
        return None
    return check


def pattern(regex: re.Pattern[str], message: str) -> Check:
    return lambda value: None if regex.fullmatch(value) else message


def enum(*values: str) -> Check:
    words = ", ".join(values)
    return lambda value: (None if value in values else
                          f"value '{value}' does not have a value in the enumeration '{words}'")


def anything(value: str) -> str | None:
    return None


def parse(value: str, schema: Mapping[str, Check], *, required: Collection[str] = (),
          default_key: str | None = None, aliases: Mapping[str, tuple[str, str]] | None = None,
          booleans: Collection[str] = ()) -> dict[str, str]:
    """The parsed property string; ValueError with PVE's message (`format error\\n<key>: ...`)."""
    aliases = aliases or {}
    res: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        match = re.fullmatch(r"([^=]+)=(.+)", part)
        if match:
            key, val = match.groups()
            if key in res:
                raise ValueError(f"duplicate key in comma-separated list property: {key}")
            if key in aliases:
                alias_key, target = aliases[key]
                if alias_key in res:
                    raise ValueError(f"key alias '{alias_key}' is already defined")
                res[alias_key], key = key, target
            if key not in schema:
                raise ValueError(f"invalid key in comma-separated list property: {key}")
            res[key] = BOOLEAN_WORDS.get(val.lower(), val) if key in booleans else val
        elif "=" not in part:
            if default_key is None:
                raise ValueError("value without key, but schema does not define a default key")
            if default_key in res:
                raise ValueError(f"duplicate key in comma-separated list property: {default_key}")
            res[default_key] = part
        else:
            raise ValueError("missing key in comma-separated list property")
    errors = {key: "property is missing and it is not optional" for key in required if key not in res}
    for key, val in res.items():
        problem = schema[key](val)
        if problem:
            errors[key] = problem.replace("{}", val)
    if errors:
        raise ValueError("format error\n" + "".join(f"{k}: {v}\n" for k, v in errors.items()))
    return res


def to_text(data: Mapping[str, str], first: Collection[str] = ()) -> str:
    """`print_property_string`: the keys in `first` (in that order), then the others sorted."""
    keys = [k for k in first if k in data] + sorted(k for k in data if k not in first)
    return ",".join(f"{k}={data[k]}" for k in keys)
