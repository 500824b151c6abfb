"""The host bridges of the applied VNets: which bridge, trunk, gateway and prefix each VNet of the
running config has on the machine. The bridges are named by the machine, so this sits beside the
state (`state.py`, the configs in the store), not in it."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network, ip_network
from typing import Any

from partilha.lab.machine import machine
from partilha.lab.sdn import sdn_schema
from partilha.lab.sdn.state import objects
from partilha.lab.server.store import Store


@dataclass(frozen=True)
class AppliedVNet:
    """An applied VNet as the host realises it."""

    vnet: str
    zone: str
    zone_type: str
    bridge: str  # the host bridge, <instance prefix><vnet>
    zone_bridge: str | None  # a vlan zone's trunk bridge, <instance prefix><zone's bridge>
    tag: int | None
    gateway: IPv4Interface | None  # the first IPv4 subnet's gateway, on the host side
    prefix: IPv4Network | None  # that subnet


def applied_vnets(store: Store, prefix: str) -> list[AppliedVNet]:
    """Every VNet of the running config whose zone is there too (PVE skips the others)."""
    zones = objects(store, "zones", running=True)
    subnets = objects(store, "subnets", running=True)
    out = []
    for vid, vnet in objects(store, "vnets", running=True).items():
        zone = zones.get(str(vnet.get("zone")))
        if zone is None:
            continue
        gateway, network = _ipv4_subnet(vid, subnets)
        zone_bridge = (machine.bridge_name(prefix, str(zone["bridge"]))
                       if zone["type"] == "vlan" and zone.get("bridge") else None)
        tag = vnet.get("tag")
        out.append(AppliedVNet(vid, str(vnet["zone"]), str(zone["type"]), machine.bridge_name(prefix, vid),
                               zone_bridge, int(tag) if tag is not None else None, gateway,
                               network))
    return out


def applied_vnet(store: Store, prefix: str, vnet: str) -> AppliedVNet | None:
    """The host bridge, gateway and prefix of an APPLIED VNet (None if not applied)."""
    return next((v for v in applied_vnets(store, prefix) if v.vnet == vnet), None)


def _ipv4_subnet(vnet: str, subnets: dict[str, dict[str, Any]]
                 ) -> tuple[IPv4Interface | None, IPv4Network | None]:
    first: tuple[IPv4Interface | None, IPv4Network | None] = (None, None)
    for sid, subnet in subnets.items():
        if subnet.get("vnet") != vnet:
            continue
        network = ip_network(sdn_schema.subnet_fields(sid)["cidr"], strict=False)
        if not isinstance(network, IPv4Network):
            continue
        if subnet.get("gateway"):
            return IPv4Interface(f"{subnet['gateway']}/{network.prefixlen}"), network
        if first == (None, None):
            first = (None, network)
    return first
