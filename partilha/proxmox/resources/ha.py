"""High availability (`/cluster/ha`, PVE 8's pve-ha-manager): groups of nodes with priorities,
and the guests the HA manager keeps running in one of them.

Every change needs Sys.Console on `/` and touches the whole cluster's HA config, so only the
administrator's stacks declare these (a municipality's token never gets that privilege). An HA
resource needs its guest to exist: PVE refuses `ct:<vmid>` of a guest it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from proxmoxer.core import ResourceException
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, unless_gone
from partilha.proxmox.resources.normalised import NormalisedProvider


def node_priorities(value: object) -> dict[str, int]:
    """PVE's "pve1:2,pve2" (a node without a priority has 0) or a mapping -> {node: priority}."""
    if isinstance(value, str):
        pairs = [part.partition(":")[::2] for part in value.split(",") if part.strip()]
        return {node.strip(): int(prio or 0) for node, prio in sorted(pairs)}
    if isinstance(value, Mapping):
        return {str(node): int(prio) for node, prio in sorted(value.items())}
    return {}


# ---- groups ---------------------------------------------------------------------------------

def _group(props: Props) -> Props:
    return {"group": str(props["group"]), "nodes": node_priorities(props.get("nodes")),
            "restricted": bool(int(props.get("restricted") or 0)),
            "nofailback": bool(int(props.get("nofailback") or 0))}


def _group_params(group: Props) -> dict[str, Any]:
    return {"nodes": ",".join(f"{node}:{prio}" for node, prio in group["nodes"].items()),
            "restricted": int(group["restricted"]), "nofailback": int(group["nofailback"])}


class HaGroupProvider(NormalisedProvider):
    replace_on = frozenset({"group"})
    delete_before_replace = False  # the new id differs: make it before the old one goes

    def normalise(self, props: Props) -> Props:
        return _group(props)

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        group = _group(inputs)
        pve.call("POST", "/cluster/ha/groups", group=group["group"], type="group",
                 **_group_params(group))
        return group["group"], group

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        live = unless_gone(lambda: pve.get(f"/cluster/ha/groups/{id_}"))
        return None if live is None else _group({**live, "group": id_})

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        group = _group(news)
        pve.call("PUT", f"/cluster/ha/groups/{id_}", **_group_params(group))
        return group

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        pve.call("DELETE", f"/cluster/ha/groups/{id_}")


class HaGroup(Resource, module="proxmox", name="HaGroup"):
    """`nodes` maps each node to its priority (higher runs the guests while it is up)."""

    group: pulumi.Output[str]
    nodes: pulumi.Output[dict[str, int]]
    restricted: pulumi.Output[bool]
    nofailback: pulumi.Output[bool]

    def __init__(self, name: str, *, group: pulumi.Input[str], nodes: pulumi.Input[dict[str, int]],
                 restricted: pulumi.Input[bool] = False, nofailback: pulumi.Input[bool] = False,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(HaGroupProvider(), name, {
            "group": group, "nodes": nodes, "restricted": restricted, "nofailback": nofailback}, opts)


# ---- resources ------------------------------------------------------------------------------

def _resource(props: Props) -> Props:
    state = str(props.get("state") or "started")
    return {"sid": str(props["sid"]), "group": str(props["group"]) if props.get("group") else None,
            "state": "started" if state == "enabled" else state,  # PVE's alias
            "max_restart": int(props.get("max_restart", 1)),
            "max_relocate": int(props.get("max_relocate", 1)),
            "comment": str(props.get("comment") or "")}


def _resource_params(resource: Props) -> dict[str, Any]:
    params: dict[str, Any] = {k: resource[k] for k in ("state", "max_restart", "max_relocate")}
    params.update({k: resource[k] for k in ("group", "comment") if resource[k]})
    return params


class HaResourceProvider(NormalisedProvider):
    replace_on = frozenset({"sid"})
    delete_before_replace = False  # the new id differs: make it before the old one goes

    def normalise(self, props: Props) -> Props:
        return _resource(props)

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        resource = _resource(inputs)
        pve.call("POST", "/cluster/ha/resources", sid=resource["sid"], **_resource_params(resource))
        return resource["sid"], resource

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        live = unless_gone(lambda: pve.get(f"/cluster/ha/resources/{id_}"))
        return None if live is None else _resource({**live, "sid": id_})

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        resource = _resource(news)
        removed = [k for k in ("group", "comment") if olds.get(k) and not resource[k]]
        extra = {"delete": ",".join(removed)} if removed else {}
        pve.call("PUT", f"/cluster/ha/resources/{id_}", **_resource_params(resource), **extra)
        return resource

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        try:
            pve.call("DELETE", f"/cluster/ha/resources/{id_}")
        except ResourceException as exc:
            if "not ha managed" not in str(exc.content).lower():  # gone already
                raise


class HaResource(Resource, module="proxmox", name="HaResource"):
    """`sid` is "ct:<vmid>" or "vm:<vmid>"; `state` what the HA manager keeps the guest in."""

    sid: pulumi.Output[str]
    group: pulumi.Output[str | None]
    state: pulumi.Output[str]
    max_restart: pulumi.Output[int]
    max_relocate: pulumi.Output[int]
    comment: pulumi.Output[str]

    def __init__(self, name: str, *, sid: pulumi.Input[str], group: pulumi.Input[str] | None = None,
                 state: pulumi.Input[str] = "started", max_restart: pulumi.Input[int] = 1,
                 max_relocate: pulumi.Input[int] = 1, comment: pulumi.Input[str] = "",
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(HaResourceProvider(), name, {
            "sid": sid, "group": group, "state": state, "max_restart": max_restart,
            "max_relocate": max_relocate, "comment": comment}, opts)
