"""SDN: the inventory's zones; per network (management, DMZ, shared services, one per
municipality) a VNet and its subnet with the gateway; then one SdnApply after all of them, so an
`up` applies the pending SDN changes once."""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi

from keyed_outputs import by_key
from partilha.inventory.models import Networks, VNet
from partilha.proxmox.resources.sdn import SdnApply, SdnSubnet, SdnVnet, SdnZone


class Network(pulumi.ComponentResource):
    vnets: pulumi.Output[dict[str, dict[str, Any]]]  # VNet id -> zone, tag, cidr, gateway, purpose

    def __init__(self, name: str, networks: Networks, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zones = {z.id: SdnZone(f"zone-{z.id}", zone=z.id, type=z.type, bridge=z.bridge, opts=child)
                 for z in networks.zones}
        written: list[pulumi.Output[str]] = [z.revision for z in zones.values()]
        described: dict[str, pulumi.Output[dict[str, Any]]] = {}
        for net in networks.vnets:
            vnet = SdnVnet(f"vnet-{net.id}", vnet=net.id, zone=zones[net.zone].zone, tag=net.tag,
                           alias=net.alias, opts=child)
            subnet = SdnSubnet(f"subnet-{net.id}", vnet=vnet.vnet, cidr=str(net.prefix),
                               gateway=str(net.gateway), opts=child)
            written += [vnet.revision, subnet.revision]
            described[net.id] = pulumi.Output.all(vnet.zone, subnet.cidr, subnet.gateway).apply(
                partial(_describe, net))
        applied = SdnApply("sdn", changes=written, opts=child)
        # exported once applied: a tenant stack reading them finds the bridges in place
        self.vnets = pulumi.Output.all(applied.id, by_key(described)).apply(lambda both: both[1])
        self.register_outputs({"vnets": self.vnets})


def _describe(net: VNet, made: list[str]) -> dict[str, Any]:
    zone, cidr, gateway = made
    return {"zone": zone, "tag": net.tag, "cidr": cidr, "gateway": gateway, "purpose": net.purpose,
            "municipality": net.municipality}
