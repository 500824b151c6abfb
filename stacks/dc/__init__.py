"""The platform stack (`<env>-platform`): what the whole data centre shares, made with the
administrator's token — networks, storages, backup jobs, firewall groups, HA groups, and per
municipality the user and scoped token its own stack acts with."""

from __future__ import annotations

import pulumi

from dc.access import TenantAccess, TenantRoles
from dc.backup import BackupPlan
from dc.firewall import Firewall
from dc.ha import HighAvailability
from dc.network import Network
from dc.storage import Storages
from partilha.inventory import Inventory, guests
from stack_settings import Settings


def declare(settings: Settings, inventory: Inventory) -> None:
    placed = guests(inventory)
    network = Network("network", inventory.networks)
    storages = Storages("storage", inventory.storage)
    backup = BackupPlan("backup", inventory, placed)
    firewall = Firewall("firewall", inventory, settings.lab)
    ha = HighAvailability("ha", inventory)
    roles = TenantRoles("roles", qemu=any(g.spec.kind == "qemu" for g in placed))
    pools = {t.slug: t.slug for t in (*inventory.municipalities, inventory.shared)}
    tokens = {}
    for tenant in inventory.municipalities:
        access = TenantAccess(f"access-{tenant.slug}", env=settings.env, tenant=tenant,
                              inventory=inventory, guests=[g for g in placed if g.tenant == tenant.slug],
                              pool=pools[tenant.slug], roles=roles, qemu_template=settings.qemu_template)
        tokens[tenant.slug] = access.token
    pulumi.export("vnets", network.vnets)
    pulumi.export("storages", storages.storages)
    pulumi.export("pools", pools)
    pulumi.export("backup_jobs", backup.jobs)
    pulumi.export("security_groups", firewall.groups)
    pulumi.export("ssh_group", firewall.ssh_group)
    pulumi.export("ha_groups", ha.groups)
    pulumi.export("tokens", tokens)
