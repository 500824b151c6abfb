"""IP sets and aliases: PVE's formats for their entries (`IPorCIDR`, `IPorCIDRorAlias`, with
pve-firewall's words) and what a rule's `source`/`dest` names resolve to (`Book`): an IP set
(`+name`, `+dc/name`, `+guest/name`) the guest's own before the cluster's, an alias
(`name`, `dc/name`, `guest/name`, case-insensitive) likewise, or addresses. Pure functions.

An IP set stands for its entries minus its `nomatch` ones (an entry may be an alias); that is
ipset's own answer whenever a `nomatch` entry lies inside a matching one, the way they are used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

NAME = r"[A-Za-z][A-Za-z0-9\-\_]+"  # $ipset_name_pattern and $ip_alias_pattern
IPSET_REF = re.compile(rf"\+(guest/|dc/|sdn/)?({NAME})")
ALIAS_REF = re.compile(rf"(dc/|guest/)?({NAME})")
_IP_OR_CIDR = re.compile(r"([0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:/(\d+))?")
Range = tuple[IPv4Address | IPv6Address, IPv4Address | IPv6Address]


def verify_ip_or_cidr(text: str) -> object:
    """`pve_verify_ip_or_cidr`: an address or a network, host bits allowed."""
    match = _IP_OR_CIDR.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        address = ip_address(match.group(1))
    except ValueError:
        raise ValueError("value does not look like a valid IP address or CIDR network\n") from None
    length = match.group(2)
    if length is not None and int(length) > address.max_prefixlen:
        raise ValueError(f"Invalid prefix length /{length}\n")  # Net::IP's words
    return text


def verify_ip_or_cidr_or_alias(text: str) -> object:
    if ALIAS_REF.fullmatch(text):
        return text
    return verify_ip_or_cidr(text)


def parse_ip_or_cidr(text: str) -> tuple[str, int]:
    """`parse_ip_or_cidr`: the text without a /32 (/128), and its IP version."""
    address, _, length = text.partition("/")
    version = ip_address(address).version
    if length and int(length) == ip_address(address).max_prefixlen:
        return address, version
    return text, version


def entry_cidr(text: str) -> tuple[str, int]:
    """An IP set entry as PVE keeps it: `clean_cidr` (host bits cleared), then parsed."""
    if "/" in text:
        text = str(ip_network(text, strict=False))
    return parse_ip_or_cidr(text)


def alias_entry(name: str, cidr: str, comment: str | None) -> dict[str, Any]:
    """An alias as PVE keeps it (`parse_alias`): its name as given, its cidr parsed."""
    parsed, version = parse_ip_or_cidr(cidr)
    return {"name": name, "cidr": parsed, "ipversion": version, **({"comment": comment} if comment else {})}


@dataclass(frozen=True)
class Book:
    """The IP sets and aliases a rule can name: the cluster's, and a guest's when the rule is
    the guest's (or a group's applied to it)."""

    ipsets: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    aliases: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    guest_ipsets: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)

    def ipset(self, ref: str) -> list[dict[str, Any]] | None:
        match = IPSET_REF.fullmatch(ref)
        if match is None:
            return None
        scope, name = match.group(1) or "", match.group(2)
        if scope in ("", "guest/") and name in self.guest_ipsets:
            return self.guest_ipsets[name]
        if scope in ("", "dc/") and name in self.ipsets:
            return self.ipsets[name]
        return None

    def alias(self, ref: str) -> dict[str, Any] | None:
        match = ALIAS_REF.fullmatch(ref)
        if match is None or match.group(1) == "guest/":  # the lab keeps no guest aliases
            return None
        return self.aliases.get(match.group(2).lower())

    def ranges(self, text: str) -> list[Range]:
        """The address ranges `text` (verified) stands for; ValueError naming what is missing."""
        if text.startswith("+"):
            entries = self.ipset(text)
            if entries is None:
                raise ValueError(f"no such ipset '{text[1:]}'")
            return self._set_ranges(entries)
        if ALIAS_REF.fullmatch(text):
            alias = self.alias(text)
            if alias is None:
                raise ValueError(f"no such alias '{text}'")
            return [address_range(str(alias["cidr"]))]
        return [address_range(element) for element in text.split(",")]

    def _set_ranges(self, entries: list[dict[str, Any]]) -> list[Range]:
        matching: list[Range] = []
        excluded: list[Range] = []
        for entry in entries:
            cidr = str(entry["cidr"])
            if ALIAS_REF.fullmatch(cidr):
                alias = self.alias(cidr)
                if alias is None:
                    continue  # pve-firewall warns and skips such an entry
                cidr = str(alias["cidr"])
            (excluded if int(entry.get("nomatch") or 0) else matching).append(address_range(cidr))
        return _minus(matching, excluded)


def address_range(element: str) -> Range:
    """An address, a network or a `first-last` range, as its first and last address."""
    if "-" in element:
        first, _, last = element.partition("-")
        low, high = ip_address(first), ip_address(last)
        if low.version != high.version or int(low) > int(high):
            raise ValueError(f"Invalid IP range {element}")
        return low, high
    network = ip_network(element, strict=False)
    return network.network_address, network.broadcast_address


def _minus(ranges: list[Range], holes: list[Range]) -> list[Range]:
    """`ranges` without any address of `holes` (of the same IP version)."""
    out = [(r[0].version, int(r[0]), int(r[1])) for r in ranges]
    for hole in holes:
        version, low_hole, high_hole = hole[0].version, int(hole[0]), int(hole[1])
        kept = []
        for v, low, high in out:
            if v != version or high < low_hole or low > high_hole:
                kept.append((v, low, high))
                continue
            if low < low_hole:
                kept.append((v, low, low_hole - 1))
            if high > high_hole:
                kept.append((v, high_hole + 1, high))
        out = kept
    return [(_address(v, low), _address(v, high)) for v, low, high in out]


def _address(version: int, value: int) -> IPv4Address | IPv6Address:
    return IPv4Address(value) if version == 4 else IPv6Address(value)
