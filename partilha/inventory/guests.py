"""The guests an inventory implies: one per (tenant, service), sized and placed on a node.

Identity is derived, never allocated, so every stack (and a backup job declared before its guests
exist) agrees on it: service number n is the service's 1-based position in the catalogue; a
guest's vmid is its tenant VNet's VLAN tag * 100 + n and its address host number 10 + n of that
VNet's prefix. Append new services to the catalogue: reordering it renumbers guests.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from partilha.inventory.models import Inventory, Service, ServiceOverride, Tenant, VNet
from partilha.inventory.source import Loc


@dataclass(frozen=True)
class Guest:
    name: str
    tenant: str
    shared: bool
    service: str
    spec: Service  # the catalogue entry with the tenant's overrides applied
    node: str
    site: str
    loc: Loc  # where the inventory declares it
    vnet: VNet | None = None  # None when the inventory gives the tenant no VNet (a rule says so)
    number: int = 0  # the service's position in the catalogue
    pinned: bool = False  # the inventory names its node (else `node` is where a new guest goes)

    @property
    def vmid(self) -> int | None:
        return self.vnet.tag * 100 + self.number if self.vnet and self.vnet.tag else None

    @property
    def address(self) -> IPv4Interface | None:
        """Host 10 + n of the VNet's prefix; None when the prefix has no room for it."""
        if self.vnet is None:
            return None
        prefix = self.vnet.prefix
        host = prefix.network_address + 10 + self.number
        if host not in prefix or host == prefix.broadcast_address:
            return None
        return IPv4Interface(f"{host}/{prefix.prefixlen}")

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


def tenants(inv: Inventory) -> list[tuple[Tenant, Loc]]:
    return [*((t, ("municipalities", i)) for i, t in enumerate(inv.municipalities)),
            (inv.shared, ("shared",))]


def effective(service: Service, override: ServiceOverride | None) -> Service:
    if override is None:
        return service
    changes = override.model_dump(exclude_none=True, exclude={"node"})
    return service.model_copy(update=changes)


def tenant_vnet(inv: Inventory, tenant: Tenant) -> VNet | None:
    """A municipality's own VNet; for the CIM's shared services, the `shared` one."""
    for vnet in inv.networks.vnets:
        if (vnet.municipality == tenant.slug if tenant is not inv.shared else vnet.purpose == "shared"):
            return vnet
    return None


def guests(inv: Inventory) -> list[Guest]:
    """Every guest, in inventory order; unpinned ones go to the primary site's least-loaded
    compute node (by memory), so placement is deterministic for a given inventory. The stacks
    place only new guests so: an existing one stays where it is (partilha.inventory.placement)."""
    nodes = {n.name: n for n in inv.datacentre.nodes}
    primary = next((s.name for s in inv.datacentre.sites if s.role == "primary"), None)
    compute = [n.name for n in inv.datacentre.nodes if n.site == primary and "compute" in n.roles]
    load = dict.fromkeys(compute, 0)
    numbers = {name: i for i, name in enumerate(inv.services, start=1)}
    out: list[Guest] = []
    for tenant, tloc in tenants(inv):
        vnet = tenant_vnet(inv, tenant)
        for name, override in tenant.services.items():
            service = inv.services.get(name)
            if service is None:
                continue
            spec = effective(service, override)
            node = override.node if override and override.node else None
            if node is None and compute:
                node = min(compute, key=lambda n: (load[n], compute.index(n)))
            if node is None:
                continue
            load[node] = load.get(node, 0) + spec.memory_mib
            site = nodes[node].site if node in nodes else ""
            out.append(Guest(f"{tenant.slug}-{name}", tenant.slug, tenant is inv.shared, name,
                             spec, node, site, (*tloc, "services", name), vnet, numbers[name],
                             pinned=bool(override and override.node)))
    return out
