"""Rich tables of an inventory: municipalities, guests, networks, capacity per site.

Every cell and title is a rich Text, never markup: a display name like "[/b]" is shown as written.
"""

from __future__ import annotations

from collections import defaultdict

from rich.table import Table
from rich.text import Text

from partilha.inventory.guests import PlacedGuest, guests, tenants
from partilha.inventory.models import Inventory


def _used(total: float, limit: float, unit: str = "") -> Text:
    share = total / limit if limit else 0.0
    colour = "red" if share > 1 else "yellow" if share > 0.8 else "green"
    return Text.assemble((f"{total:g}/{limit:g}{unit}", colour), f" {share:.0%}")


def _row(table: Table, *cells: str | Text) -> None:
    table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in cells))


def municipalities_table(inv: Inventory, by_tenant: dict[str, list[PlacedGuest]]) -> Table:
    vnets = {v.municipality: v for v in inv.networks.vnets if v.municipality}
    shared = next((v for v in inv.networks.vnets if v.purpose == "shared"), None)
    table = Table(title=Text(f"{inv.datacentre.display_name}: municipalities and shared services"))
    for column in ("slug", "name", "services", "CPUs", "memory", "disk", "vnet", "prefix"):
        table.add_column(column)
    for tenant, _ in tenants(inv):
        vnet = shared if tenant is inv.shared else vnets.get(tenant.slug)
        mine = by_tenant[tenant.slug]
        _row(
            table, tenant.slug, tenant.name, str(len(tenant.services)),
            _used(sum(g.cpus for g in mine), tenant.quota.cpus),
            _used(sum(g.memory_mib for g in mine), tenant.quota.memory_mib, " MiB"),
            _used(sum(g.disk_gib for g in mine), tenant.quota.disk_gib, " GiB"),
            vnet.id if vnet else "-", str(vnet.prefix) if vnet else "-",
        )
    return table


def guests_table(all_guests: list[PlacedGuest]) -> Table:
    table = Table(title="Guests")
    for column in ("guest", "vmid", "address", "kind", "node", "site", "CPUs", "memory", "disk",
                   "data", "exposure", "ports", "backup", "HA"):
        table.add_column(column)
    for g in all_guests:
        s = g.spec
        _row(table, g.name, str(g.vmid), str(g.address.ip) if g.address else "-", s.kind, g.node,
             g.site, str(s.cpus), f"{s.memory_mib} MiB", f"{s.disk_gib} GiB", s.data_class,
             s.exposure, ",".join(map(str, s.ports)) or "-",
             s.backup_tier or "-", "yes" if s.ha else "")
    return table


def networks_table(inv: Inventory) -> Table:
    zones = {z.id: z for z in inv.networks.zones}
    table = Table(title="Networks (SDN)")
    for column in ("vnet", "zone", "type", "tag", "prefix", "gateway", "purpose", "for"):
        table.add_column(column)
    for v in inv.networks.vnets:
        zone = zones.get(v.zone)
        _row(table, v.id, v.zone, zone.type if zone else "?", str(v.tag or "-"), str(v.prefix),
             str(v.gateway), v.purpose, v.municipality or v.alias or "")
    return table


def capacity_table(inv: Inventory, all_guests: list[PlacedGuest]) -> Table:
    dc = inv.datacentre
    storage = {s.id: s for s in inv.storage}
    table = Table(title="Capacity per site (used / available)")
    for column in ("site", "role", "nodes", "CPUs", "memory", "guest disk"):
        table.add_column(column)
    for site in dc.sites:
        nodes = [n for n in dc.nodes if n.site == site.name and "compute" in n.roles]
        here = [g for g in all_guests if g.site == site.name]
        st = storage.get(site.guest_storage)
        _row(
            table, site.name, site.role, ", ".join(n.name for n in nodes),
            _used(sum(g.cpus for g in here), sum(n.cpus for n in nodes) * dc.cpu_overcommit),
            _used(sum(g.memory_mib for g in here) / 1024, sum(n.memory_gib for n in nodes), " GiB"),
            _used(sum(g.disk_gib for g in here), st.capacity_gib if st else 0, " GiB"),
        )
    return table


def tables(inv: Inventory) -> list[Table]:
    all_guests = guests(inv)
    by_tenant: dict[str, list[PlacedGuest]] = defaultdict(list)
    for g in all_guests:
        by_tenant[g.tenant].append(g)
    return [municipalities_table(inv, by_tenant), guests_table(all_guests), networks_table(inv),
            capacity_table(inv, all_guests)]
