"""A resource pool (`/pools`): a municipality's guests and the unit its ACLs are granted on."""

from __future__ import annotations

import pulumi
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, PveProvider, unless_gone


class PoolProvider(PveProvider):
    replace_on = frozenset({"poolid"})

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        pve.call("POST", "/pools", poolid=inputs["poolid"], comment=inputs["comment"])
        return inputs["poolid"], {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        pool = unless_gone(lambda: pve.get(f"/pools/{id_}"))
        if pool is None:
            return None
        return {"poolid": id_, "comment": pool.get("comment", "")}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        pve.call("PUT", f"/pools/{id_}", comment=news["comment"])
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        pve.call("DELETE", f"/pools/{id_}")


class Pool(Resource, module="proxmox", name="Pool"):
    poolid: pulumi.Output[str]
    comment: pulumi.Output[str]

    def __init__(self, name: str, *, poolid: pulumi.Input[str], comment: pulumi.Input[str] = "",
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PoolProvider(), name, {"poolid": poolid, "comment": comment}, opts)
