"""The guests an inventory implies: one per (tenant, service), sized and placed on a node."""

from __future__ import annotations

from dataclasses import dataclass

from partilha.inventory.models import Inventory, Service, ServiceOverride, Tenant
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


def guests(inv: Inventory) -> list[Guest]:
    """Every guest, in inventory order; unpinned ones go to the primary site's least-loaded
    compute node (by memory), so placement is deterministic for a given inventory."""
    nodes = {n.name: n for n in inv.datacentre.nodes}
    primary = next((s.name for s in inv.datacentre.sites if s.role == "primary"), None)
    compute = [n.name for n in inv.datacentre.nodes if n.site == primary and "compute" in n.roles]
    load = dict.fromkeys(compute, 0)
    out: list[Guest] = []
    for tenant, tloc in tenants(inv):
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
                             spec, node, site, (*tloc, "services", name)))
    return out
