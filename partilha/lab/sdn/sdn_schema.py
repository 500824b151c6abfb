"""PVE's SDN section configs (zones.cfg, vnets.cfg, subnets.cfg) as data: which options each type
takes, the checks PVE's SectionConfig makes, the file text (whose SHA1 is the `digest`), and the
`pending` view of edits not yet applied.

Pure functions, no I/O. Ported from pve-network (PVE/Network/SDN.pm `pending_config`, the zone,
vnet and subnet plugins) and pve-common's SectionConfig (`check_config`, `delete_from_config`,
`write_config`). The lab serves the `simple` and `vlan` zone types.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from ipaddress import ip_address, ip_network
from typing import Any

SECTIONS = ("zones", "vnets", "subnets")

# type -> option -> required; the options PVE's plugins declare (`options()`).
ZONE_OPTIONS: dict[str, dict[str, bool]] = {
    "simple": {"nodes": False, "mtu": False, "dns": False, "reversedns": False,
               "dnszone": False, "ipam": False, "dhcp": False},
    "vlan": {"nodes": False, "bridge": True, "bridge-disable-mac-learning": False, "mtu": False,
             "dns": False, "reversedns": False, "dnszone": False, "ipam": False},
}
VNET_OPTIONS: dict[str, bool] = {"zone": True, "tag": False, "alias": False, "vlanaware": False,
                                 "isolate-ports": False}
SUBNET_OPTIONS: dict[str, bool] = {"vnet": True, "gateway": False, "snat": False,
                                   "dnszoneprefix": False, "dhcp-dns-server": False}
BOOLEANS = frozenset({"bridge-disable-mac-learning", "vlanaware", "isolate-ports", "snat"})
IPAMS = frozenset({"pve"})  # PVE's built-in IPAM; the lab has no other
_SDN_ID = re.compile(r"[a-z][a-z0-9]*[a-z0-9]", re.IGNORECASE)


class SdnConfigError(ValueError):
    """A section-config check failed; the message is PVE's."""


def options_of(section: str, obj_type: str) -> dict[str, bool]:
    if section == "zones":
        return ZONE_OPTIONS[obj_type]
    return VNET_OPTIONS if section == "vnets" else SUBNET_OPTIONS


def parse_zone_id(value: str) -> str:
    return _parse_id("zone", value)


def parse_vnet_id(value: str) -> str:
    return _parse_id("vnet", value)


def _parse_id(what: str, value: str) -> str:
    if not _SDN_ID.fullmatch(value):
        raise ValueError(f"{what} ID '{value}' contains illegal characters")
    if len(value) > 8:
        raise ValueError(f"{what} ID '{value}' can't be more length than 8 characters")
    return value


def subnet_id(zone: str, cidr: str) -> str:
    """PVE's subnet id: `<zone>-<address>-<mask>` (`cim-10.101.0.0-24`)."""
    return f"{zone}-{cidr.replace('/', '-')}"


def parse_subnet_id(value: str) -> str:
    """A subnet id or a CIDR (pve-sdn-subnet-id)."""
    cidr = value if "/" in value else "/".join(value.split("-")[1:3])
    try:
        ip_network(cidr, strict=False)
    except ValueError:
        raise ValueError("value does not look like a valid CIDR network") from None
    if "/" not in cidr:
        raise ValueError("value does not look like a valid CIDR network")
    return value


def subnet_fields(oid: str) -> dict[str, str]:
    """What PVE derives from a subnet id (`sdn_subnets_config`): cidr, zone, network, mask."""
    zone, network, mask = [*oid.split("-"), "", "", ""][:3]
    return {"id": oid, "cidr": f"{network}/{mask}", "zone": zone, "network": network, "mask": mask}


def check_config(options: Mapping[str, bool], params: Mapping[str, Any], create: bool) -> dict[str, Any]:
    """SectionConfig `check_config`: only the type's options; on create, every required one."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key not in options:
            raise SdnConfigError(f"unexpected property '{key}'")
        out[key] = int(value) if key in BOOLEANS else value
    if create:
        for key in sorted(options):
            if options[key] and key not in params:
                raise SdnConfigError(f"missing value for required option '{key}'")
    return out


def delete_from_config(data: dict[str, Any], options: Mapping[str, bool], new: Mapping[str, Any],
                       keys: Iterable[str]) -> None:
    """SectionConfig `delete_from_config`."""
    for key in keys:
        if key not in options:
            raise SdnConfigError(f"no such option '{key}'")
        if options[key]:
            raise SdnConfigError(f"unable to delete required option '{key}'")
        if key in new:
            raise SdnConfigError(f"cannot set and delete property '{key}' at the same time!")
        data.pop(key, None)


def section_text(section: str, objects: Mapping[str, Mapping[str, Any]]) -> str:
    """The config file as PVE writes it: `<type>: <id>`, required options, then the others."""
    out = []
    for oid, obj in objects.items():
        obj_type = str(obj["type"])
        options = options_of(section, obj_type)
        lines = [f"{obj_type}: {oid}"]
        keys = sorted(k for k in options if options[k]) + sorted(k for k in options if not options[k])
        for key in keys:
            value = obj.get(key)
            if value is None or value == "":
                continue
            lines.append(f"\t{key} {value}")
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - PVE's digest is SHA1


def _perl_true(value: Any) -> bool:
    return value is not None and value != "" and value != "0" and value != 0


def pending_config(running: Mapping[str, Mapping[str, Any]],
                   config: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """PVE::Network::SDN::pending_config: per id, the running values at the top level, the
    changed ones under `pending`, and `state` new/changed/deleted."""
    pending: dict[str, dict[str, Any]] = {}
    for oid in sorted(running):
        run_obj, cfg_obj = running[oid], config.get(oid) or {}
        entry = pending.setdefault(oid, {})
        for key in sorted(run_obj):
            entry[key] = run_obj[key]
            if not cfg_obj:
                entry["state"] = "deleted"
            elif cfg_obj.get(key) is None:
                entry.setdefault("pending", {})[key] = "deleted"
                entry["state"] = "changed"
            elif str(run_obj[key]) != str(cfg_obj[key]):
                entry["state"] = "changed"
        if entry.get("state"):
            entry.setdefault("pending", {})
    for oid in sorted(config):
        run_obj, cfg_obj = running.get(oid) or {}, config[oid]
        entry = pending.setdefault(oid, {})
        for key in sorted(cfg_obj):
            new = cfg_obj[key] if _perl_true(cfg_obj[key]) else None
            old = run_obj.get(key) if _perl_true(run_obj.get(key)) else None
            if key in ("type", "vnet"):
                entry[key] = new
            elif old is None or str(new) != str(old):
                entry.setdefault("pending", {})[key] = new
            if not run_obj:
                entry["state"] = "new"
            elif old is None and new is not None:
                entry["state"] = "changed"
        if entry.get("state"):
            entry.setdefault("pending", {})
    return pending


def in_subnet(address: str, cidr: str) -> bool:
    try:
        return ip_address(address) in ip_network(cidr, strict=False)
    except ValueError:
        return False
