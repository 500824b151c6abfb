"""/version, /cluster/status, /cluster/resources, /cluster/nextid."""

from __future__ import annotations

from typing import Any

from partilha.lab import cluster
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import param_error
from partilha.lab.server.params import Param
from partilha.lab.server.router import Router

routes = Router()
PVE_VERSION = {"version": "8.4.1", "release": "8.4", "repoid": "2a5fa54a8503f96d"}


@routes.route("GET", "/version")
def version(ctx: Ctx, p: dict[str, Any]) -> Any:
    return PVE_VERSION


@routes.route("GET", "/cluster/status")
def status(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/", ["Sys.Audit"])
    nodes = cluster.nodes(ctx.store)
    entries: list[dict[str, Any]] = [{
        "type": "cluster", "id": "cluster", "name": cluster.name(ctx.store), "version": 1,
        "nodes": len(nodes), "quorate": int(cluster.quorate(ctx.store))}]
    for i, node in enumerate(nodes, start=1):
        entries.append({"type": "node", "id": f"node/{node.name}", "name": node.name,
                        "nodeid": i, "ip": "127.0.0.1", "local": int(i == 1),
                        "online": int(node.online), "level": ""})
    return entries


@routes.route("GET", "/cluster/resources", {
    "type": Param(enum=("vm", "storage", "node", "sdn", "pool"))})
def resources(ctx: Ctx, p: dict[str, Any]) -> Any:
    wanted = p.get("type")
    out = []
    for item in cluster.resources(ctx.store):
        kind = "vm" if item["type"] in ("qemu", "lxc") else item["type"]
        if wanted not in (None, kind):
            continue
        if ctx.allowed(cluster.acl_path(item), ["VM.Audit", "Sys.Audit", "Datastore.Audit",
                                                 "SDN.Audit", "Pool.Audit"], any_=True):
            out.append(item)
    return out


@routes.route("GET", "/cluster/nextid", {"vmid": Param("integer", minimum=100,
                                                       maximum=999_999_999)})
def nextid(ctx: Ctx, p: dict[str, Any]) -> Any:
    # Nothing is reserved: two callers may get the same id, exactly as on PVE.
    if "vmid" in p:
        if cluster.vmid_taken(ctx.store, int(p["vmid"])):
            raise param_error(vmid=f"VM {p['vmid']} already exists")
        return int(p["vmid"])
    return cluster.first_free_vmid(ctx.store)
