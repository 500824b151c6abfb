"""The front door: the guest in the DMZ (a service with `network: dmz`, run by the CIM) through
which citizens reach every internet-facing service, one virtual host each, and nothing else.

A municipality's service is `<service>.<municipality>.<domain>` (portal.abrantes.<domain>), a
shared service `<service>.<domain>` (gis.<domain>): names one level apart never collide. The
front door reaches each back end on HTTPS (443), which such a service must declare.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from partilha.inventory.guests import PlacedGuest
from partilha.inventory.models import Inventory
from partilha.inventory.source import Loc

BACKEND_PORT = 443


@dataclass(frozen=True)
class VirtualHost:
    name: str  # the name citizens use
    guest: PlacedGuest  # the back end


def front_doors(placed: list[PlacedGuest]) -> list[PlacedGuest]:
    """The guests in the DMZ."""
    return [g for g in placed if g.vnet is not None and g.vnet.purpose == "dmz"]


def backends(placed: list[PlacedGuest]) -> list[PlacedGuest]:
    """The guests behind the front door: every internet-facing service outside the DMZ (none
    when no front door runs: then nothing is published)."""
    if not front_doors(placed):
        return []
    return [g for g in placed if g.spec.exposure == "internet" and g.spec.network != "dmz"]


def site_name(domain: str, tenant: str, service: str, shared: bool) -> str:
    return f"{service}.{domain}" if shared else f"{service}.{tenant}.{domain}"


def virtual_hosts(inv: Inventory, placed: list[PlacedGuest]) -> list[VirtualHost]:
    if inv.frontdoor is None:
        return []
    return [VirtualHost(site_name(inv.frontdoor.domain, g.tenant, g.service, g.shared), g)
            for g in backends(placed)]


def problems(inv: Inventory, placed: list[PlacedGuest]) -> Iterator[tuple[Loc, str]]:
    """A DMZ service is the CIM's (the networks rule demands the DMZ itself); a front door needs
    a domain, at most one runs, and every service behind it declares HTTPS."""
    for name, service in inv.services.items():
        if service.network != "dmz":
            continue
        if service.scope != "shared":
            yield ("services", name, "network"), "only a shared service (the CIM's) sits in the DMZ"
    doors = front_doors(placed)
    if len(doors) > 1:
        yield doors[1].loc, f"one front door only: {', '.join(g.name for g in doors)}"
    if doors and inv.frontdoor is None:
        yield ("frontdoor",), (f"missing: {doors[0].name} needs the domain its virtual hosts are "
                               "named under (`frontdoor: {domain: ...}`, e.g. in frontdoor.yaml)")
    for name in sorted({g.service for g in backends(placed)}):
        if BACKEND_PORT not in inv.services[name].ports:
            yield ("services", name, "ports"), (f"an internet-facing service behind the front door "
                                                f"must declare {BACKEND_PORT}")
