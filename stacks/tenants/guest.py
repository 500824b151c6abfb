"""One service of a tenant: its guest, sized and placed as the inventory derives it (node, vmid,
address), tagged, with the operator's SSH key, in the tenant's pool; and the guest's firewall on,
default-deny inbound, open only through the platform's security groups (SSH from management and
the service's declared ports), with `ipfilter`: it sends from its own address only, so it cannot
pose as another guest to pass a rule matched on addresses.

An existing guest keeps its node unless pinned or rebalancing; one a recovery brought up on
another node (`recovered_on`, from `partilha:recoveredOn`) is declared there. A data-holding
guest is protected (partilha.inventory.placement says why and how to unprotect one)."""

from __future__ import annotations

from typing import Any

import pulumi

from partilha.inventory import PlacedGuest
from partilha.inventory.models import Tenant
from partilha.inventory.placement import holds_data
from partilha.proxmox.resources.firewall import GuestFirewall
from partilha.proxmox.resources.guest import Guest


def tags(guest: PlacedGuest, owner: str) -> list[str]:
    """PVE tags (lowercase letters, digits and `_-+.`): tenant, owner, service and data class."""
    where = "shared" if guest.shared else f"municipality.{guest.tenant}"
    return [where, f"owner.{owner}", f"service.{guest.service}", f"data.{guest.spec.data_class}"]


class ServiceGuest(pulumi.ComponentResource):
    vmid: pulumi.Output[int]
    address: pulumi.Output[str]
    node: pulumi.Output[str]  # where it runs: for an existing guest not always the inventory's

    def __init__(self, name: str, guest: PlacedGuest, *, tenant: Tenant, stack: str, template: str,
                 storage: str, bridge: pulumi.Input[str], pool: pulumi.Input[str],
                 groups: list[pulumi.Input[str]], ssh_public_key: str, rebalance: bool = False,
                 recovered_on: str | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:tenant:ServiceGuest", name, None, opts)
        if guest.vmid is None or guest.address is None or guest.gateway is None:  # rules forbid it
            raise pulumi.RunError(f"guest {guest.name}: its VNet gives it no vmid or address")
        made = Guest(guest.name, node=recovered_on or guest.node, kind=guest.spec.kind, hostname=guest.name,
                     vmid=guest.vmid, template=template, cores=guest.cpus, memory=guest.memory_mib,
                     disk_gib=guest.disk_gib, storage=storage, bridge=bridge, ip=str(guest.address),
                     gateway=str(guest.gateway), ssh_public_keys=ssh_public_key,
                     tags=tags(guest, tenant.slug), pool=pool, onboot=True, start=True,
                     description=f"{guest.spec.description} ({tenant.name}). Managed by partilha "
                                 f"(stack {stack}).",
                     opts=pulumi.ResourceOptions(
                         parent=self, protect=holds_data(guest.spec),
                         ignore_changes=[] if guest.pinned or rebalance or recovered_on else ["node"]))
        GuestFirewall(f"{guest.name}-firewall", node=made.node, vmid=made.vmid, kind=made.kind,
                      enable=True, ipfilter=True, policy_in="DROP", policy_out="ACCEPT",
                      rules=[{"type": "group", "action": group, "enable": 1} for group in groups],
                      # a guest's destroy (purge) takes its firewall: never opened before it goes
                      opts=pulumi.ResourceOptions(parent=self, deleted_with=made))
        self.vmid, self.address, self.node = made.vmid, made.address, made.node
        self.register_outputs({"vmid": self.vmid, "address": self.address, "node": self.node})

    def describe(self, guest: PlacedGuest) -> pulumi.Output[dict[str, Any]]:
        """The guest as tenant stacks export it (`guests[name]`)."""
        spec = guest.spec
        return pulumi.Output.all(self.vmid, self.address, self.node).apply(lambda made: {
            "vmid": int(made[0]), "node": made[2], "address": made[1],
            "vnet": guest.vnet.id if guest.vnet else None, "tenant": guest.tenant,
            "service": guest.service, "role": spec.role, "kind": spec.kind,
            "data_class": spec.data_class, "ports": list(spec.ports),
            "backup_tier": spec.backup_tier, "ha": spec.ha})
