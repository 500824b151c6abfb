"""The platform stack (`<env>-platform`): what the whole data centre shares, made with the
administrator's token — networks, storages, backup jobs, firewall groups, HA groups, and per
municipality the user and scoped token its own stack acts with.

A municipality dropped from the inventory loses its VNet, token and ACLs here, so its own stack
must be destroyed first (`partilha up` does, in order): while its stack config is still in the
project, `up` refuses and `preview` warns."""

from __future__ import annotations

from pathlib import Path

import pulumi

from partilha.automation.envs import retired_slugs
from partilha.inventory import Inventory, guests
from platform_stack.access import TenantAccess, TenantRoles
from platform_stack.backup import BackupPlan
from platform_stack.firewall import Firewall
from platform_stack.ha import HighAvailability
from platform_stack.network import Network
from platform_stack.storage import Storages
from stack_settings import Settings


def _retired_first(settings: Settings, inventory: Inventory) -> None:
    slugs = {m.slug for m in inventory.municipalities}
    for slug in retired_slugs(Path(pulumi.runtime.get_root_directory()), settings.env, slugs):
        stack = f"{settings.env}-{slug}"
        message = (f"{slug} is no longer in the inventory, but its stack {stack} is still here: "
                   f"destroy it first (`partilha up` does, in order; or `pulumi destroy --stack "
                   f"{stack} --remove`), or this stack deletes its VNet, token and ACLs under its guests")
        if not pulumi.runtime.is_dry_run():
            raise pulumi.RunError(message)
        pulumi.log.warn(message)


def declare(settings: Settings, inventory: Inventory) -> None:
    _retired_first(settings, inventory)
    placed = guests(inventory)
    network = Network("network", inventory.networks)
    storages = Storages("storage", inventory.storage)
    backup = BackupPlan("backup", inventory, placed)
    firewall = Firewall("firewall", inventory, placed, settings.lab,
                        opts=pulumi.ResourceOptions(depends_on=[network]))  # VNet firewalls need the VNets
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
