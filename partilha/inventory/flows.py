"""The flows between VNets: what the inventory declares (`flows`), or by default every
municipality to every shared service on its declared ports; and always the management network
to SSH on every guest and to the PVE API on the nodes. With a front door (partilha.inventory.
frontdoor), anyone, the outside included, reaches it on its ports, and it alone reaches the
services it publishes, on HTTPS. Nothing else crosses from one VNet to another (guests of one
VNet reach each other's declared ports).

`openings` resolves them to guests: the (source VNet, guest, port) triples the platform's
firewall opens and the probe expects open.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Network

from partilha.inventory.frontdoor import BACKEND_PORT, backends, front_doors
from partilha.inventory.guests import PlacedGuest, tenant_vnets
from partilha.inventory.models import Flow, Inventory
from partilha.inventory.source import Loc

MANAGEMENT = "management"  # the source name of the management network's flows
DMZ = "dmz"  # the front door's flows to what it publishes
OUTSIDE = "outside"  # anyone, the internet included: the flows to the front door
SSH_PORT = 22
PVE_API_PORT = 8006


def declared(inv: Inventory) -> list[Flow]:
    """The inventory's flows, or the default when it declares none."""
    if inv.flows is not None:
        return list(inv.flows)
    return [Flow.model_validate({"from": m.slug, "to": inv.shared.slug, "service": service})
            for m in inv.municipalities for service in inv.shared.services
            if service not in inv.services or inv.services[service].network != "dmz"]


@dataclass(frozen=True)
class Opening:
    """Traffic from `source` (a tenant's slug, MANAGEMENT, DMZ or OUTSIDE) out of `prefixes`
    (OUTSIDE: none, i.e. from anywhere) may reach `guest` on TCP `port`."""

    source: str
    prefixes: tuple[IPv4Network, ...]
    guest: PlacedGuest
    port: int


def management_prefixes(inv: Inventory) -> tuple[IPv4Network, ...]:
    return tuple(v.prefix for v in inv.networks.vnets if v.purpose == "management")


def openings(inv: Inventory, placed: list[PlacedGuest]) -> list[Opening]:
    """Every cross-VNet opening: flows first (in order), the front door's, then management's
    SSH to each guest."""
    vnets = tenant_vnets(inv)
    by_name = {g.name: g for g in placed}
    out: list[Opening] = []
    for flow in declared(inv):
        guest = by_name.get(f"{flow.to}-{flow.service}")
        source = vnets.get(flow.source)
        if guest is None or source is None:  # the rules refuse such a flow
            continue
        out += [Opening(flow.source, (source.prefix,), guest, port)
                for port in flow.ports or guest.spec.ports]
    for door in front_doors(placed):
        out += [Opening(OUTSIDE, (), door, port) for port in door.spec.ports]
        if door.address is not None:
            out += [Opening(DMZ, (IPv4Network(door.address.ip),), guest, BACKEND_PORT)
                    for guest in backends(placed)]
    mgmt = management_prefixes(inv)
    if mgmt:
        out += [Opening(MANAGEMENT, mgmt, g, SSH_PORT) for g in placed]
    return out


def problems(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[tuple[Loc, str]]:
    """Each declared flow names a tenant with a VNet, a service that tenant runs, and ports the
    service declares; a flow within one tenant is refused (its guests share a VNet)."""
    if inv.flows is None:
        return
    tenants = {t.slug: t for t in (*inv.municipalities, inv.shared)}
    vnets = tenant_vnets(inv)
    for i, flow in enumerate(inv.flows):
        loc: Loc = ("flows", i)
        for field, slug in (("from", flow.source), ("to", flow.to)):
            if slug not in tenants:
                yield (*loc, field), f"unknown tenant {slug!r} (tenants: {', '.join(sorted(tenants))})"
            elif slug not in vnets:
                yield (*loc, field), f"tenant {slug!r} has no VNet"
        if flow.source == flow.to:
            yield (*loc, "to"), f"{flow.to!r} is the flow's own tenant: its guests share a VNet"
        target = tenants.get(flow.to)
        if target is None:
            continue
        if flow.service not in target.services:
            runs = ", ".join(sorted(target.services)) or "none"
            yield (*loc, "service"), f"tenant {flow.to!r} runs no service {flow.service!r} (it runs: {runs})"
            continue
        service = inv.services.get(flow.service)
        if service is None:  # the tenant rules report it
            continue
        for j, port in enumerate(flow.ports or []):
            if port not in service.ports:
                declared_ports = ", ".join(map(str, service.ports)) or "none"
                yield ((*loc, "ports", j),
                       f"port {port} is not a port of {flow.service!r} (it declares: {declared_ports})")
