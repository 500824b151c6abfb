"""HA groups: one per site with at least two compute nodes (HA needs somewhere to go), holding
them all at the same priority, restricted to the site.

Equal priorities: PVE's HA manager moves a service to the highest-priority node it can, so any
ranking would pile every HA guest of the site onto one node; equal, a guest stays where the
inventory placed it and moves only when its node fails. Restricted: a guest is never recovered
to another site, whose storage does not hold its disk.
"""

from __future__ import annotations

import pulumi

from keyed_outputs import by_key
from partilha.inventory import Inventory
from partilha.inventory.placement import ha_group_name, ha_sites
from partilha.proxmox.resources.ha import HaGroup


class HighAvailability(pulumi.ComponentResource):
    groups: pulumi.Output[dict[str, str]]  # site -> its HA group

    def __init__(self, name: str, inventory: Inventory, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:HighAvailability", name, None, opts)
        groups = {}
        for site, nodes in ha_sites(inventory).items():
            group = HaGroup(f"ha-{site}", group=ha_group_name(site), nodes=dict.fromkeys(nodes, 1),
                            restricted=True, opts=pulumi.ResourceOptions(parent=self))
            groups[site] = group.group
        self.groups = by_key(groups)
        self.register_outputs({"groups": self.groups})
