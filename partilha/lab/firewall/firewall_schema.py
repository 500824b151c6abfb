"""PVE's firewall rule format: the checks of pve-firewall's `verify_rule` (with its words), the
parameter formats (ports, addresses, protocols), macros, and the `digest` of rule lists and
option sets (`copy_list_with_digest`, `copy_opject_with_digest`). Pure functions.

A rule is a dict of the keys a `.fw` file keeps (`RULE_KEYS`); `verify_rule` adds `ipversion`
and spells the macro as PVE prefers, as reading the file back does on PVE.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from partilha.lab.firewall import firewall_addresses
from partilha.lab.firewall.firewall_macros import MACROS, PREFERRED

GROUP_NAME = firewall_addresses.NAME
_IFACE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{1,20}([:\.]\d+)?")
RULE_KEYS = ("type", "action", "macro", "iface", "source", "dest", "proto", "enable", "log",
             "sport", "dport", "comment", "icmp-type")
RULE_PROPERTIES = (*RULE_KEYS, "pos", "digest")  # what `delete` may name
LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog")
PROTOCOLS_WITH_PORTS = frozenset({"udp", "17", "udplite", "136", "tcp", "6", "dccp", "33",
                                  "sctp", "132"})
ENVS_WITH_FORWARD = ("cluster", "group", "vnet")  # PVE's FORWARD direction: datacenter, host, VNet
ICMP_TYPES = frozenset({
    "any", "echo-reply", "destination-unreachable", "network-unreachable", "host-unreachable",
    "protocol-unreachable", "port-unreachable", "fragmentation-needed", "source-route-failed",
    "network-unknown", "host-unknown", "network-prohibited", "host-prohibited",
    "TOS-network-unreachable", "TOS-host-unreachable", "communication-prohibited",
    "host-precedence-violation", "precedence-cutoff", "source-quench", "redirect",
    "network-redirect", "host-redirect", "TOS-network-redirect", "TOS-host-redirect",
    "echo-request", "router-advertisement", "router-solicitation", "time-exceeded",
    "ttl-zero-during-transit", "ttl-zero-during-reassembly", "parameter-problem",
    "ip-header-bad", "required-option-missing", "timestamp-request", "timestamp-reply",
    "address-mask-request", "address-mask-reply"})
ICMPV6_TYPES = frozenset({
    "destination-unreachable", "no-route", "communication-prohibited", "beyond-scope",
    "address-unreachable", "port-unreachable", "failed-policy", "reject-route", "packet-too-big",
    "time-exceeded", "ttl-zero-during-transit", "ttl-zero-during-reassembly",
    "parameter-problem", "bad-header", "unknown-header-type", "unknown-option", "echo-request",
    "echo-reply", "router-solicitation", "router-advertisement", "neighbor-solicitation",
    "neighbour-solicitation", "neighbor-advertisement", "neighbour-advertisement", "redirect"})


class RuleError(ValueError):
    """A rule PVE refuses: a 400 naming `param`."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


# digests


def _text(value: Any) -> str:
    """A value as Perl prints it (numbers and strings; the lab stores no booleans)."""
    return str(int(value)) if isinstance(value, bool) else str(value)


def list_digest(items: Iterable[Mapping[str, Any]]) -> str:
    """`copy_list_with_digest`: SHA1 over every entry's `key:value` lines, keys sorted."""
    sha = hashlib.sha1()  # noqa: S324 - PVE's digest is SHA1
    for entry in items:
        for key in sorted(entry):
            if entry[key] is not None:
                sha.update(f"{key}:{_text(entry[key])}\n".encode())
    return sha.hexdigest()


def with_digest(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`copy_list_with_digest`'s answer: each item with the list's digest."""
    digest = list_digest(items)
    return [{**item, "digest": digest} for item in items]


def object_digest(obj: Mapping[str, Any]) -> str:
    """`copy_opject_with_digest` (sic): the same over one object's keys."""
    return list_digest([obj])


# /etc/protocols and /etc/services, as PVE reads them


@cache
def _table(path: str, pattern: str) -> dict[str, str]:
    """name -> number and number -> number of a services/protocols file."""
    out: dict[str, str] = {}
    file = Path(path)
    for line in file.read_text().splitlines() if file.is_file() else []:
        match = re.match(pattern, line)
        if match and not line.startswith("#"):
            out.setdefault(match.group(1), match.group(2))
            out.setdefault(match.group(2), match.group(2))
    return out


def protocol_number(proto: str) -> int | None:
    """The IP protocol number of a name or number in /etc/protocols (PVE knows no others)."""
    number = _table("/etc/protocols", r"^(\S+)\s+(\d+)(?:\s+.*)?$").get(proto)
    return int(number) if number is not None else None


def service_port(name: str) -> int | None:
    """A port number, or a tcp/udp/sctp service name of /etc/services."""
    if name.isdigit():
        return int(name)
    port = _table("/etc/services", r"^(\S+)\s+(\d+)/(?:tcp|udp|sctp)").get(name)
    return int(port) if port is not None else None


# parameter formats (the messages follow PVE's "invalid format - ")


def parse_ports(text: str, dport: bool = True) -> list[tuple[int, int] | str]:
    """`parse_port_name_number_or_range`: ranges (first, last), or ICMP type names (dport)."""
    elements = text.split(",")
    if "" in elements:
        raise ValueError("extraneous commas in list\n")
    out: list[tuple[int, int] | str] = []
    count = 0
    for item in elements:
        if match := re.fullmatch(r"([0-9]+):([0-9]+)", item):
            count += 2
            first, last = int(match.group(1)), int(match.group(2))
            for port in (match.group(1), match.group(2)):
                if int(port) > 65535:
                    raise ValueError(f"invalid port '{port}'\n")
            if first > last:
                raise ValueError(f"backwards range '{first}:{last}' not allowed, did you mean "
                                 f"'{last}:{first}'?\n")
            out.append((first, last))
        elif re.fullmatch(r"[0-9]+", item):
            count += 1
            if int(item) > 65535:
                raise ValueError(f"invalid port '{item}'\n")
            out.append((int(item), int(item)))
        elif dport and (item in ICMP_TYPES or item in ICMPV6_TYPES):
            out.append(item)
        elif (port := service_port(item)) is not None:
            count += 1
            out.append((port, port))
        else:
            raise ValueError(f"invalid port '{item}'\n")
    if count and any(isinstance(item, str) for item in out):
        raise ValueError("ICMP ports not allowed in port range\n")
    if count > 15:
        raise ValueError("too many entries in port list (> 15 numbers)\n")
    return out


def parse_dport(text: str) -> object:
    return parse_ports(text, dport=True)


def parse_sport(text: str) -> object:
    return parse_ports(text, dport=False)


def parse_address_list(text: str) -> int | None:
    """`parse_address_list`: the IP version of an address list; None for an IP set or alias."""
    if text.startswith("+") and re.fullmatch(r"\+\S+", text):
        if len(text) > 65:
            raise ValueError("ipset name too long\n")
        return None
    if firewall_addresses.ALIAS_REF.fullmatch(text):
        if len(text) > 64:
            raise ValueError("alias name too long\n")
        return None
    elements = text.split(",")
    if "" in elements:
        raise ValueError("extraneous commas in list\n")
    version = None
    for element in elements:
        try:
            first = firewall_addresses.address_range(element)[0]
        except ValueError as exc:
            raise ValueError(f"invalid IP address: {exc}\n") from None
        if version and first.version != version:
            raise ValueError(f"detected mixed ipv4/ipv6 addresses in address list '{text}'\n")
        version = first.version
    if len(elements) > 1 and any("-" in e for e in elements):
        raise ValueError("you can't use a range in a list\n")
    return version


def verify_protocol(proto: str) -> object:
    if proto and proto != "icmpv6" and protocol_number(proto) is None:
        raise ValueError(f"unknown protocol '{proto}'\n")
    return proto


def verify_icmp_type(value: str) -> object:
    if value and value not in ICMP_TYPES and value not in ICMPV6_TYPES:
        raise ValueError(f"invalid icmp-type value '{value}'\n")
    return value


def verify_iface(name: str) -> object:
    if not _IFACE.fullmatch(name):
        raise ValueError(f"invalid network interface name '{name}'\n")
    return name


def verify_log_ratelimit(value: str) -> object:
    """The cluster option's property string: `[enable=]<bool>,rate=<n>/<unit>,burst=<n>`."""
    seen: set[str] = set()
    for part in value.split(","):
        key, _, val = part.rpartition("=")
        key = key or "enable"
        if key in seen:
            raise ValueError(f"duplicate key in comma-separated list property: {key}")
        seen.add(key)
        ok = {"enable": re.fullmatch(r"(?i)0|1|on|off|yes|no|true|false", val),
              "rate": re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", val),
              "burst": re.fullmatch(r"[0-9]+", val)}
        if key not in ok:
            raise ValueError(f"invalid key in comma-separated list property: {key}")
        if not ok[key]:
            raise ValueError(f"format error\n{key}: value does not match the regex pattern\n")
    return value


# rules


def copy_rule_data(rule: dict[str, Any], params: Mapping[str, Any]) -> None:
    """`copy_rule_data`: set the given properties; '' or '-' deletes one."""
    for key in RULE_KEYS:
        value = params.get(key)
        if value is None:
            continue
        if value in ("", "-"):
            rule.pop(key, None)
        else:
            rule[key] = (1 if int(value) else 0) if key == "enable" else value  # `|` in the file


def delete_rule_properties(rule: dict[str, Any], delete: Iterable[str]) -> None:
    for opt in delete:
        if opt not in RULE_PROPERTIES:
            raise RuleError("delete", f"no such property ('{opt}')")
        if opt in ("type", "action"):
            raise RuleError("delete", f"unable to delete required property '{opt}'")
        rule.pop(opt, None)


def verify_rule(rule: dict[str, Any], env: str, book: firewall_addresses.Book) -> None:
    """pve-firewall's `verify_rule` for `env` (cluster, group, vm, ct, vnet); raises the first
    error. `book`: the IP sets and aliases the rule may name."""
    rtype, action = rule.get("type"), rule.get("action")
    if not rtype:
        raise RuleError("type", "missing property")
    if not action:
        raise RuleError("action", "missing property")
    if rtype in ("in", "out", "forward"):
        if rtype == "forward" and env not in ENVS_WITH_FORWARD:
            raise RuleError("type", f"rule type 'forward' is not allowed for {env} rules")
        if rtype != "forward" and env == "vnet":
            raise RuleError("type", f"rule type '{rtype}' is not allowed for {env} rules")
        if not re.fullmatch(r"ACCEPT|DROP|REJECT", action):
            raise RuleError("action", f"unknown action '{action}'")
    elif rtype == "group":
        if env == "group":
            raise RuleError("type", "security groups not allowed")
        if not re.fullmatch(GROUP_NAME, action):
            raise RuleError("action", "invalid characters in security group name")
    else:
        raise RuleError("type", f"unknown rule type '{rtype}'")
    _verify_iface(rule, env)
    if rule.get("macro"):
        preferred = PREFERRED.get(str(rule["macro"]).lower())
        if preferred is None:
            raise RuleError("macro", f"unknown macro '{rule['macro']}'")
        rule["macro"] = preferred
    version = _verify_match(rule, book)
    if version:
        rule["ipversion"] = version
    else:
        rule.pop("ipversion", None)
    if rule.get("macro"):
        expand_macro(rule, verify=True)


def _verify_iface(rule: Mapping[str, Any], env: str) -> None:
    iface = rule.get("iface")
    if not iface:
        return
    if env == "group":
        raise RuleError("type", "parameter -i not allowed for this rule type")
    try:
        verify_iface(str(iface))
    except ValueError as exc:
        raise RuleError("iface", str(exc).rstrip("\n")) from None
    if env in ("vm", "ct") and not re.fullmatch(r"net(\d+)", str(iface)):
        raise RuleError("iface", r"value does not match the regex pattern 'net\d+'")


def _verify_match(rule: Mapping[str, Any], book: firewall_addresses.Book) -> int | None:
    """The protocol, port, ICMP type and address checks; the rule's IP version (or None)."""
    version: int | None = None

    def set_version(found: int | None) -> None:
        nonlocal version
        if found and version and found != version:
            raise ValueError("detected mixed ipv4/ipv6 addresses in rule\n")
        version = found or version

    proto = str(rule.get("proto") or "")
    if proto:
        _checked("proto", verify_protocol, proto)
        set_version({"icmp": 4, "icmpv6": 6, "ipv6-icmp": 6}.get(proto))
    for key in ("dport", "sport"):
        if rule.get(key):
            _checked(key, parse_ports, str(rule[key]), key == "dport")
            if not proto:
                raise RuleError("proto", f"missing property - '{key}' requires this property")
            if proto not in PROTOCOLS_WITH_PORTS and (key == "sport" or proto not in ("icmp", "icmpv6")):
                raise RuleError(key, f"protocol '{proto}' does not support ports")
    _verify_icmp_type(rule, proto)
    for key in ("source", "dest"):
        if rule.get(key):
            value = str(rule[key])
            _checked(key, lambda v: set_version(parse_address_list(v)), value)
            if value.startswith("+"):
                match = firewall_addresses.IPSET_REF.fullmatch(value)
                if match is None:
                    raise RuleError(key, f"invalid ipset name '{value}'")
                if book.ipset(value) is None:
                    raise RuleError(key, f"no such ipset '{match.group(2)}'")
            elif firewall_addresses.ALIAS_REF.fullmatch(value):
                alias = book.alias(value)
                if alias is None:
                    raise RuleError(key, f"no such alias '{value}'")
                _checked(key, set_version, int(alias["ipversion"]))
    return version


def _verify_icmp_type(rule: Mapping[str, Any], proto: str) -> None:
    icmp_type = rule.get("icmp-type")
    if not icmp_type:
        return
    if proto not in ("icmp", "icmpv6", "ipv6-icmp"):
        raise RuleError("proto", "missing property - 'icmp-type' requires this property")
    if rule.get("dport"):
        raise RuleError("icmp-type", "'icmp-type' cannot be specified together with 'dport'")
    if icmp_type not in (ICMP_TYPES if proto == "icmp" else ICMPV6_TYPES):
        raise RuleError("icmp-type", f"invalid icmp-type '{icmp_type}' for proto '{proto}'")


def _checked(param: str, check: Any, *args: Any) -> None:
    try:
        check(*args)
    except ValueError as exc:
        raise RuleError(param, str(exc).rstrip("\n")) from None


def expand_macro(rule: Mapping[str, Any], verify: bool = False) -> list[dict[str, Any]]:
    """`apply_macro`: the rules a macro stands for, each with the using rule's other values;
    a value the rule sets that the macro fixes otherwise is refused (`verify`) or an error."""
    out = []
    for proto, dport, sport in MACROS[str(rule["macro"])][1]:
        fixed = {k: v for k, v in (("proto", proto), ("dport", dport), ("sport", sport)) if v}
        expanded = {k: v for k, v in rule.items() if k != "macro" and v is not None}
        for key, value in fixed.items():
            if key in expanded and str(expanded[key]) != value:
                message = f"parameter '{key}' already define in macro (value = '{value}')"
                raise RuleError(key, message) if verify else ValueError(message)
            expanded[key] = value
        out.append(expanded)
    return out
