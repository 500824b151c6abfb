"""POST /nodes/{node}/vzdump: a `vzdump` task backing up the node's guests (pve-manager
PVE/API2/VZDump.pm); the work itself is partilha.lab.backup.vzdump."""

from __future__ import annotations

from typing import Any

from partilha.lab.backup import vzdump
from partilha.lab.backup.vzdump_options import VZDUMP_OPTIONS, require_root_for, verify
from partilha.lab.cluster import online_node
from partilha.lab.server.context import Ctx
from partilha.lab.server.params import NODE
from partilha.lab.server.router import Router

routes = Router()


@routes.route("POST", "/nodes/{node}/vzdump", {**VZDUMP_OPTIONS, "node": NODE})
def create_backup(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    require_root_for(ctx, p)
    verify(p, check_missing=True)
    if p.get("storage"):
        ctx.require(f"/storage/{p['storage']}", ["Datastore.AllocateSpace"])
    every = bool(p.get("all") or "exclude" in p)

    def may_backup(vmid: int) -> bool:
        """VM.Backup on each guest: with `all`, guests without it are skipped; else it is 403."""
        if every:
            return ctx.allowed(f"/vms/{vmid}", ["VM.Backup"])
        ctx.require(f"/vms/{vmid}", ["VM.Backup"])
        return True

    return vzdump.start_backup(ctx.store, ctx.instance, ctx.tasks, node, p, ctx.authid, may_backup)
