"""PVE's parameter schema checks, with PVE's own wording of each failure.

Path, query and body parameters are one set, as in PVE: a handler declares a schema of `Param`s
and gets back typed values or a 400 naming every bad parameter. The formats here are the ones
pve-common registers; an area's own formats (pve-qm-net, pve-fw-dport-spec, ...) are its parsers,
which its schemas pass as `Param(format=parser)`, as PVE's modules register theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address, ip_interface
from typing import Any

from partilha.calendar_event import CalendarEvent, CalendarEventError
from partilha.lab.server.errors import param_error

Format = Callable[[str], bool]
Parser = Callable[[str], object]  # raises ValueError with PVE's words after "invalid format - "


def _regex(pattern: str) -> Format:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


def _cidr(value: str) -> bool:
    try:
        ip_interface(value)
    except ValueError:
        return False
    return "/" in value


def _ip(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


def _calendar(value: str) -> object:
    """pve_verify_calendar_event's wording around the parser's own reason."""
    try:
        return CalendarEvent.parse(value)
    except CalendarEventError as exc:
        raise ValueError(f"invalid calendar event '{value}' - {exc}") from None


# name -> (check, the noun PVE uses in "value does not look like a valid <noun>")
FORMATS: dict[str, tuple[Format, str]] = {
    "pve-node": (_regex(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"), "node name"),
    "pve-userid": (_regex(r"[^\s:/]+@[A-Za-z][A-Za-z0-9\.\-_]+"), "user ID"),
    "pve-tokenid": (_regex(r"[A-Za-z][A-Za-z0-9\.\-_]+"), "token ID"),
    "pve-groupid": (_regex(r"[A-Za-z0-9\.\-_]+"), "group ID"),
    "pve-roleid": (_regex(r"[A-Za-z0-9\.\-_]+"), "role ID"),
    "pve-poolid": (_regex(r"[A-Za-z0-9\.\-_]+"), "pool ID"),
    "pve-storage-id": (_regex(r"[a-z][a-z0-9\-_.]*[a-z0-9]"), "storage ID"),
    "pve-sdn-id": (_regex(r"[a-z][a-z0-9]{0,7}"), "SDN ID"),
    "pve-configid": (_regex(r"(?i)[a-z][a-z0-9_-]+"), "configuration ID"),
    "dns-name": (_regex(r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?\.)*"
                        r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"), "DNS name"),
    "CIDR": (_cidr, "CIDR"),
    "ip": (_ip, "IP address"),
    "pve-storage-path": (_regex(r"/[^;()]+[\s\S]*"), "absolute path"),
    "pve-ha-resource-or-vm-id": (_regex(r"[a-z]+:\S+|\d+"), "ha resource id"),
    "pve-task-upid": (_regex(r"UPID:[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?:[0-9A-Fa-f]{8}:"
                             r"[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8}:[^:\s]+:[^:\s]*:[^:\s]+:"),
                      "task UPID"),
}

_CONFIGID = re.compile(r"[a-z][a-z0-9_-]+", re.IGNORECASE)  # PVE 8: dashes too (prune-backups)
_NODE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?")


def list_of(pattern: re.Pattern[str], message: str) -> Parser:
    """A list format: items split on commas, semicolons or spaces, each matching `pattern`."""
    def parse(value: str) -> object:
        for item in re.split(r"[,;\s]+", value.strip()):
            if item and not pattern.fullmatch(item):
                raise ValueError(message.format(item))
        return value
    return parse


# Formats PVE checks with a parser whose own message follows "invalid format - ".
PARSED_FORMATS: dict[str, Parser] = {
    "pve-configid-list": list_of(_CONFIGID, "invalid configuration ID '{}'"),
    "pve-node-list": list_of(_NODE, "value does not look like a valid node name"),
    "pve-tag-list": list_of(re.compile(r"[a-z0-9_][a-z0-9_\-+.]*", re.IGNORECASE), "invalid tag '{}'"),
    "pve-ha-group-node-list": list_of(re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?(:\d+)?"),
                                       "value does not look like a valid ha group node"),
    "pve-calendar-event": _calendar,
    "pve-vmid-list": list_of(re.compile(r"\d+"), "value does not look like a valid VM ID"),
}


@dataclass(frozen=True)
class Param:
    type: str = "string"  # string | integer | number | boolean
    optional: bool = True
    format: str | Parser | None = None  # a format above by name, or an area's parser
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    default: Any = None


VMID = Param("integer", optional=False, minimum=100, maximum=999_999_999)
NODE = Param(optional=False, format="pve-node")
BOOL = Param("boolean")


def validate(schema: Mapping[str, Param], raw: Mapping[str, str]) -> dict[str, Any]:
    """Typed parameters, or a 400 naming each parameter that fails."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        spec = schema.get(_family(name, schema))
        if spec is None:
            errors[name] = ("property is not defined in schema and the schema does not allow "
                            "additional properties")
            continue
        try:
            out[name] = _check(spec, value)
        except ValueError as exc:
            errors[name] = str(exc)
    for name, spec in schema.items():
        if name.endswith("[n]"):
            continue
        if name not in raw:
            if not spec.optional:
                errors[name] = "property is missing and it is not optional"
            elif spec.default is not None:
                out[name] = spec.default
    if errors:
        raise param_error(**errors)
    return out


def _family(name: str, schema: Mapping[str, Param]) -> str:
    """`net0`, `mp3` ... belong to the schema's `net[n]`, `mp[n]` entries."""
    match = re.fullmatch(r"([a-z]+)(\d+)", name)
    if match and f"{match.group(1)}[n]" in schema and name not in schema:
        return f"{match.group(1)}[n]"
    return name


def _check(spec: Param, value: str) -> Any:
    if spec.type == "boolean":
        lowered = value.lower()
        if lowered in ("1", "on", "yes", "true"):
            return True
        if lowered in ("0", "off", "no", "false"):
            return False
        raise ValueError(f"type check ('boolean') failed - got '{value}'")
    if spec.type in ("integer", "number"):
        pattern = r"-?\d+" if spec.type == "integer" else r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
        if not re.fullmatch(pattern, value.strip()):
            raise ValueError(f"type check ('{spec.type}') failed - got '{value}'")
        number: float = int(value) if spec.type == "integer" else float(value)
        if spec.minimum is not None and number < spec.minimum:
            raise ValueError(f"value must have a minimum value of {spec.minimum:g}")
        if spec.maximum is not None and number > spec.maximum:
            raise ValueError(f"value must have a maximum value of {spec.maximum:g}")
        return number
    if spec.enum is not None and value not in spec.enum:
        raise ValueError(f"value '{value}' does not have a value in the enumeration "
                         f"'{', '.join(spec.enum)}'")
    if spec.format is not None:
        _check_format(spec.format, value)
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        raise ValueError("value does not match the regex pattern")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise ValueError(f"value may only be {spec.max_length} characters long")
    if spec.min_length is not None and len(value) < spec.min_length:
        raise ValueError(f"value must be at least {spec.min_length} characters long")
    return value


def _check_format(format_: str | Parser, value: str) -> None:
    """PVE's `check_prop`: a format failure reads "invalid format - <the format's message>"."""
    if isinstance(format_, str) and format_ in FORMATS:
        check, noun = FORMATS[format_]
        if not check(value):
            raise ValueError(f"invalid format - value does not look like a valid {noun}\n")
        return
    parse = PARSED_FORMATS[format_] if isinstance(format_, str) else format_
    try:
        parse(value)
    except ValueError as exc:
        text = str(exc)
        raise ValueError(f"invalid format - {text}" + ("" if text.endswith("\n") else "\n")) from None
