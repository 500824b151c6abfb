"""SDN (`/cluster/sdn`): zones, VNets and subnets, and SdnApply, which applies them.

PVE keeps SDN edits pending until `PUT /cluster/sdn` applies them all (a `reloadnetworkall` task
on every node). Zone, VNet and subnet creates and updates leave their change pending; one SdnApply
per stack applies once per `up`, after them: its `changes` are the `revision` outputs of the
objects it follows, and a revision changes whenever its object is written (created, updated, or
put back after drift), so the apply runs exactly when something is pending. Deletes apply
themselves, since Pulumi deletes after everything else, SdnApply included.

    zone = SdnZone("cim", zone="cim", type="vlan", bridge="vmbr0")
    vnet = SdnVnet("vabt", vnet="vabt", zone=zone.zone, tag=101)
    subnet = SdnSubnet("vabt", vnet=vnet.vnet, cidr="10.101.0.0/24", gateway="10.101.0.1")
    SdnApply("sdn", changes=[o.revision for o in (zone, vnet, subnet)])
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from ipaddress import ip_network
from typing import Any, ClassVar, Optional

import pulumi
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, PveProvider, unless_gone
from partilha.proxmox.resources.normalised import NormalisedProvider

APPLY = "/cluster/sdn"


def _revision() -> Props:
    return {"revision": secrets.token_hex(8)}


def _set_or_delete(props: Props, options: tuple[str, ...]) -> dict[str, Any]:
    """PUT parameters: the options that are set, and `delete` naming the unset ones. Numbers
    reach a dynamic provider as floats: PVE wants integers (and 1 for true)."""
    params: dict[str, Any] = {}
    unset = []
    for option in options:
        value = props.get(option)
        if value is None or value is False:
            unset.append(option)
        else:
            params[option] = int(value) if isinstance(value, (bool, float)) else value
    return {**params, "delete": ",".join(unset)} if unset else params


def _set(props: Props, options: tuple[str, ...]) -> dict[str, Any]:
    """POST parameters: the options that are set."""
    return {k: v for k, v in _set_or_delete(props, options).items() if k != "delete"}


class _PendingProvider(PveProvider):
    """An SDN object: writes leave a pending change and a new revision; a delete applies."""

    computed = frozenset({"revision"})
    options: ClassVar[tuple[str, ...]] = ()  # the inputs that are PVE options, by name

    def path(self, id_: str, props: Props) -> str:
        raise NotImplementedError

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        pve.call("PUT", self.path(id_, news), **_set_or_delete(news, self.options))
        return _revision()

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        # gone already (an earlier delete whose apply failed): the apply is still to be done
        unless_gone(lambda: pve.call("DELETE", self.path(id_, props)))
        pve.run("PUT", APPLY)


class SdnZoneProvider(_PendingProvider):
    replace_on = frozenset({"zone", "type"})
    options = ("bridge",)

    def path(self, id_: str, props: Props) -> str:
        return f"/cluster/sdn/zones/{id_}"

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        pve.call("POST", "/cluster/sdn/zones", zone=inputs["zone"], type=inputs["type"],
                 **_set(inputs, self.options))
        return inputs["zone"], _revision()

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        zone = unless_gone(lambda: pve.get(self.path(id_, props)))
        return None if zone is None else {"zone": id_, "type": zone["type"], "bridge": zone.get("bridge")}


class SdnZone(Resource, module="proxmox", name="SdnZone"):
    zone: pulumi.Output[str]
    type: pulumi.Output[str]
    bridge: pulumi.Output[str | None]
    revision: pulumi.Output[str]

    def __init__(self, name: str, *, zone: pulumi.Input[str], type: pulumi.Input[str],
                 bridge: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SdnZoneProvider(), name, {"zone": zone, "type": type, "bridge": bridge,
                                                   "revision": None}, opts)


class SdnVnetProvider(_PendingProvider):
    # a VNet with subnets cannot change zone; replacing it replaces them too
    replace_on = frozenset({"vnet", "zone"})
    options = ("tag", "alias")

    def path(self, id_: str, props: Props) -> str:
        return f"/cluster/sdn/vnets/{id_}"

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        pve.call("POST", "/cluster/sdn/vnets", vnet=inputs["vnet"], zone=inputs["zone"],
                 **_set(inputs, self.options))
        return inputs["vnet"], _revision()

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        vnet = unless_gone(lambda: pve.get(self.path(id_, props)))
        if vnet is None:
            return None
        tag = vnet.get("tag")
        return {"vnet": id_, "zone": vnet["zone"], "tag": None if tag is None else int(tag),
                "alias": vnet.get("alias")}


class SdnVnet(Resource, module="proxmox", name="SdnVnet"):
    vnet: pulumi.Output[str]
    zone: pulumi.Output[str]
    # Pulumi's SDK converts outputs by annotation, and unwraps Optional[...] but not `int | None`
    tag: pulumi.Output[Optional[int]]  # noqa: UP045
    alias: pulumi.Output[str | None]
    revision: pulumi.Output[str]

    def __init__(self, name: str, *, vnet: pulumi.Input[str], zone: pulumi.Input[str],
                 tag: pulumi.Input[int] | None = None, alias: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SdnVnetProvider(), name, {"vnet": vnet, "zone": zone, "tag": tag,
                                                   "alias": alias, "revision": None}, opts)


class SdnSubnetProvider(_PendingProvider, NormalisedProvider):
    replace_on = frozenset({"vnet", "cidr"})

    def normalise(self, props: Props) -> Props:
        return {"cidr": str(ip_network(props["cidr"], strict=False))}  # as PVE names it
    options = ("gateway", "snat")

    def path(self, id_: str, props: Props) -> str:
        return f"/cluster/sdn/vnets/{props['vnet']}/subnets/{id_}"

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        vnet, net = inputs["vnet"], ip_network(inputs["cidr"])
        pve.call("POST", f"/cluster/sdn/vnets/{vnet}/subnets", subnet=inputs["cidr"], type="subnet",
                 **_set(inputs, self.options))
        # PVE names it <zone>-<address>-<prefix length>: the VNet's list says which zone
        suffix = f"-{net.network_address}-{net.prefixlen}"
        ids = [str(s["subnet"]) for s in pve.get(f"/cluster/sdn/vnets/{vnet}/subnets")]
        found = [i for i in ids if i.endswith(suffix)]
        if not found:
            raise RuntimeError(f"subnet {net} made on VNet {vnet}, but its list shows only {ids}")
        return found[0], _revision()

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        subnet = unless_gone(lambda: pve.get(self.path(id_, props)))
        if subnet is None:
            return None
        address, length = id_.rsplit("-", 2)[1:]
        return {"vnet": props["vnet"], "cidr": f"{address}/{length}",
                "gateway": subnet.get("gateway"), "snat": bool(int(subnet.get("snat", 0)))}


class SdnSubnet(Resource, module="proxmox", name="SdnSubnet"):
    vnet: pulumi.Output[str]
    cidr: pulumi.Output[str]
    gateway: pulumi.Output[str]
    snat: pulumi.Output[bool]
    revision: pulumi.Output[str]

    def __init__(self, name: str, *, vnet: pulumi.Input[str], cidr: pulumi.Input[str],
                 gateway: pulumi.Input[str], snat: pulumi.Input[bool] = False,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SdnSubnetProvider(), name, {"vnet": vnet, "cidr": cidr, "gateway": gateway,
                                                     "snat": snat, "revision": None}, opts)


class SdnApplyProvider(PveProvider):
    """`PUT /cluster/sdn` when the changes it follows differ; nothing to delete."""

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        pve.run("PUT", APPLY)
        return "cluster-sdn", {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        """Pending zone or VNet changes (made by hand, or left by a failed run) show as drift,
        so the next `up` applies them."""
        pending = [o for section in ("zones", "vnets")
                   for o in pve.get(f"/cluster/sdn/{section}", pending=1) if o.get("state")]
        return {"changes": ["pending"]} if pending else {"changes": props.get("changes", [])}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        pve.run("PUT", APPLY)
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        return None


class SdnApply(Resource, module="proxmox", name="SdnApply"):
    changes: pulumi.Output[list[str]]

    def __init__(self, name: str, *, changes: pulumi.Input[Sequence[pulumi.Input[str]]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SdnApplyProvider(), name, {"changes": changes}, opts)
