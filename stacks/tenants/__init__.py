"""A tenant stack: `<env>-<slug>` for a municipality, acting only with its own scoped token, or
`<env>-shared` for the CIM's shared services (administrator's token). Each makes its tenant's
pool and one guest per service; the shared stack also declares the HA membership of every
tenant's HA guests (tenants/ha.py says why there), each in the HA group of the site it runs at,
or in none while a recovery has it at a site that cannot run HA (partilha.inventory.placement).

Backup: a tenant declares no backup job. The platform's job of each tier lists the derived vmids
of that tier's guests (a municipality's token cannot edit cluster backup jobs); `guests` exports
each guest's `backup_tier` so that can be checked.
"""

from __future__ import annotations

from typing import Any

import pulumi

from keyed_outputs import by_key
from partilha.inventory import Inventory, guests
from partilha.inventory.placement import ha_group, rebalancing
from partilha.proxmox.resources.pool import Pool
from partilha.proxmox.template import LXC_TEMPLATE
from partilha.workspace import Workspace
from stack_settings import Settings
from tenants.guest import ServiceGuest
from tenants.ha import HaMembership
from tenants.platform_ref import PlatformOutputs


def declare(settings: Settings, inventory: Inventory) -> None:
    platform = PlatformOutputs.read(settings.platform_stack)
    tenant = inventory.shared if settings.role == "shared" else next(
        m for m in inventory.municipalities if m.slug == settings.tenant)
    placed = guests(inventory)
    mine = [g for g in placed if g.tenant == tenant.slug]
    storages = {s.name: s.guest_storage for s in inventory.datacentre.sites}
    site_of = {n.name: n.site for n in inventory.datacentre.nodes}
    ssh_public_key = Workspace.find().ssh_key(settings.lab).with_suffix(".pub").read_text().strip()
    pool = Pool("pool", poolid=platform.pick(platform.pools, "pools", tenant.slug),
                comment=f"partilha: {tenant.name}")
    made: dict[str, ServiceGuest] = {}
    described: dict[str, pulumi.Output[dict[str, Any]]] = {}
    for guest in mine:
        made[guest.name] = ServiceGuest(
            guest.name, guest, tenant=tenant, stack=settings.stack,
            template=LXC_TEMPLATE if guest.spec.kind == "lxc" else str(settings.qemu_template),
            storage=storages[site_of.get(settings.recovered_on.get(guest.name, ""), guest.site)],
            pool=pool.poolid, recovered_on=settings.recovered_on.get(guest.name),
            bridge=platform.bridge(guest.vnet.id if guest.vnet else ""),
            groups=[platform.ssh_group, platform.pick(platform.security_groups, "security_groups",
                                                      guest.service)],
            ssh_public_key=ssh_public_key, rebalance=rebalancing())
        described[guest.name] = made[guest.name].describe(guest)
    pulumi.export("tenant", tenant.slug)
    pulumi.export("pool", pool.poolid)
    pulumi.export("guests", by_key(described))
    if settings.role == "shared":
        # where each HA guest runs: its site, or the one a recovery brought it up at (the shared
        # stack's `partilha:recoveredOn` holds every tenant's HA guests for this)
        at = {g.name: site_of.get(settings.recovered_on.get(g.name, ""), g.site) for g in placed if g.spec.ha}
        groups = {name: platform.pick(platform.ha_groups, "ha_groups", site) for name, site in at.items()
                  if ha_group(inventory, site)}
        membership = HaMembership("ha", [g for g in placed if g.name in groups], groups, after=dict(made))
        pulumi.export("ha_resources", membership.resources)
