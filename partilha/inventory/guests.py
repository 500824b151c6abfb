"""The guests an inventory implies: one per (tenant, service), sized and placed on a node.

Identity is derived, never allocated, so every stack (and a backup job declared before its guests
exist) agrees on it. Each catalogue service declares its number n and each tenant its number t,
so reordering the catalogue or the tenants, or retagging a VNet, moves no guest: the vmid is
t * 100 + n (services 1-99), or 1,000,000 + t * 1,000 + n (services 100-999, a range the first
form never reaches), and the address is host 10 + n of the tenant VNet's prefix. Distinct
numbers give distinct vmids and, as tenant VNets never overlap, distinct addresses.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from partilha.inventory.models import Inventory, Service, ServiceOverride, Tenant, VNet
from partilha.inventory.source import Loc


@dataclass(frozen=True)
class PlacedGuest:
    """One guest the inventory implies, sized and placed (partilha.proxmox.resources.guest.Guest
    is the PVE guest a stack makes of it)."""

    name: str
    tenant: str
    shared: bool
    service: str
    spec: Service  # the catalogue entry with the tenant's overrides applied
    node: str
    site: str
    loc: Loc  # where the inventory declares it
    tenant_number: int
    vnet: VNet | None  # None when the inventory gives the tenant no VNet (a rule says so)
    pinned: bool = False  # the inventory names its node (else `node` is where a new guest goes)

    @property
    def number(self) -> int:
        """The service's number, from the catalogue."""
        return self.spec.number

    @property
    def vmid(self) -> int:
        return vmid(self.tenant_number, self.number)

    @property
    def address(self) -> IPv4Interface | None:
        """Host 10 + n of the VNet's prefix; None when the prefix has no room for it."""
        if self.vnet is None:
            return None
        prefix = self.vnet.prefix
        host = int(prefix.network_address) + 10 + self.number
        if host >= int(prefix.broadcast_address):
            return None
        return IPv4Interface((host, prefix.prefixlen))

    @property
    def gateway(self) -> IPv4Address | None:
        return self.vnet.gateway if self.vnet else None

    @property
    def cpus(self) -> int:
        return self.spec.cpus

    @property
    def memory_mib(self) -> int:
        return self.spec.memory_mib

    @property
    def disk_gib(self) -> int:
        return self.spec.disk_gib


def vmid(tenant_number: int, service_number: int) -> int:
    if service_number < 100:
        return tenant_number * 100 + service_number
    return 1_000_000 + tenant_number * 1_000 + service_number


def tenants(inv: Inventory) -> list[tuple[Tenant, Loc]]:
    return [*((t, ("municipalities", i)) for i, t in enumerate(inv.municipalities)),
            (inv.shared, ("shared",))]


def tenant_vnets(inv: Inventory) -> dict[str, VNet]:
    """Each tenant's VNet: a municipality's own (the first naming it), the CIM's `shared`."""
    out: dict[str, VNet] = {}
    for vnet in inv.networks.vnets:
        if vnet.municipality is not None:
            out.setdefault(vnet.municipality, vnet)
    shared = next((v for v in inv.networks.vnets if v.purpose == "shared"), None)
    if shared is not None:
        out[inv.shared.slug] = shared
    return out


def dmz_vnet(inv: Inventory) -> VNet | None:
    """The DMZ, where the front door sits (the first VNet of purpose `dmz`)."""
    return next((v for v in inv.networks.vnets if v.purpose == "dmz"), None)


def effective(service: Service, override: ServiceOverride | None) -> Service:
    if override is None:
        return service
    changes = override.model_dump(exclude_none=True, exclude={"node"})
    return service.model_copy(update=changes)


def guests(inv: Inventory) -> list[PlacedGuest]:
    """Every guest, in inventory order; unpinned ones go to the primary site's least-loaded
    compute node (by memory), so placement is deterministic for a given inventory. The stacks
    place only new guests so: an existing one stays where it is (partilha.inventory.placement)."""
    nodes = {n.name: n for n in inv.datacentre.nodes}
    primary = next((s.name for s in inv.datacentre.sites if s.role == "primary"), None)
    compute = [n.name for n in inv.datacentre.nodes if n.site == primary and "compute" in n.roles]
    load = dict.fromkeys(compute, 0)
    # (load, position, node), the least loaded first; an entry whose load is stale is dropped
    # when it comes up, so each placement costs log(nodes), not nodes
    least = [(0, i, name) for i, name in enumerate(compute)]
    position = {name: i for i, name in enumerate(compute)}
    vnets = tenant_vnets(inv)
    dmz = dmz_vnet(inv)
    out: list[PlacedGuest] = []
    for tenant, tloc in tenants(inv):
        for name, override in tenant.services.items():
            service = inv.services.get(name)
            if service is None:
                continue
            # the CIM's DMZ service sits in the DMZ (a rule refuses it anywhere else)
            vnet = dmz if service.network == "dmz" and tenant is inv.shared else vnets.get(tenant.slug)
            spec = effective(service, override)
            node = override.node if override and override.node else None
            while node is None and least:
                if least[0][0] == load[least[0][2]]:
                    node = least[0][2]
                else:
                    heapq.heappop(least)
            if node is None:
                continue
            load[node] = load.get(node, 0) + spec.memory_mib
            if node in position:
                heapq.heappush(least, (load[node], position[node], node))
            site = nodes[node].site if node in nodes else ""
            out.append(PlacedGuest(f"{tenant.slug}-{name}", tenant.slug, tenant is inv.shared, name,
                             spec, node, site, (*tloc, "services", name), tenant.number, vnet,
                             pinned=bool(override and override.node)))
    return out
