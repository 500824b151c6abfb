"""HA membership, declared by the shared stack for every tenant's HA guests.

PVE lets only holders of Sys.Console on `/` change HA resources, and that privilege covers the
whole cluster's HA config (whoever has it can stop or move any guest through HA), so a
municipality's scoped token never gets it. PVE also refuses an HA resource for a guest that does
not exist. So the CIM's shared stack, which runs with the administrator's token after the
municipality stacks made their guests, puts each guest the inventory marks `ha` into the HA group
of the site it runs at, by the guest's derived vmid.
"""

from __future__ import annotations

import pulumi

from keyed_outputs import by_key
from partilha.inventory import PlacedGuest
from partilha.proxmox.resources.ha import HaResource


def sid(guest: PlacedGuest) -> str:
    return f"{'vm' if guest.spec.kind == 'qemu' else 'ct'}:{guest.vmid}"


class HaMembership(pulumi.ComponentResource):
    resources: pulumi.Output[dict[str, str]]  # guest name -> its HA resource id

    def __init__(self, name: str, guests: list[PlacedGuest], groups: dict[str, pulumi.Output[str]],
                 after: dict[str, pulumi.Resource], opts: pulumi.ResourceOptions | None = None) -> None:
        """`groups`: guest name -> its HA group; `after`: guests made in this stack, by name."""
        super().__init__("partilha:tenant:HaMembership", name, None, opts)
        made = {}
        for guest in guests:
            depends = [after[guest.name]] if guest.name in after else []
            resource = HaResource(f"ha-{guest.name}", sid=sid(guest), group=groups[guest.name],
                                  state="started", comment=f"partilha: {guest.name}",
                                  opts=pulumi.ResourceOptions(parent=self, depends_on=depends))
            made[guest.name] = resource.sid
        self.resources = by_key(made)
        self.register_outputs({"resources": self.resources})
