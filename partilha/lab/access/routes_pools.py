"""/pools: resource pools and their guests and storages."""

from __future__ import annotations

from typing import Any

from partilha.lab.access.stored import POOL
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import Param
from partilha.lab.server.router import Router

routes = Router()
POOLID = Param(optional=False, format="pve-poolid")


def _pool(ctx: Ctx, poolid: str) -> dict[str, Any]:
    pool = ctx.store.get_object(POOL, poolid)
    if pool is None:
        raise PveError(f"pool '{poolid}' does not exist")
    return pool


@routes.route("GET", "/pools", {"poolid": Param(format="pve-poolid"),
                                "type": Param(enum=("qemu", "lxc", "storage"))})
def list_pools(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"poolid": pid, "comment": pool.get("comment", "")}
            for pid, pool in ctx.store.objects(POOL).items()
            if ctx.allowed(f"/pool/{pid}", ["Pool.Audit"])]


@routes.route("POST", "/pools", {"poolid": POOLID, "comment": Param()})
def create_pool(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/pool/{p['poolid']}", ["Pool.Allocate"])
    with ctx.store.tx():
        if ctx.store.get_object(POOL, p["poolid"]) is not None:
            raise param_error(poolid=f"pool '{p['poolid']}' already exists")
        ctx.store.put_object(POOL, p["poolid"], {"comment": p.get("comment", ""), "storage": []})
    return None


@routes.route("GET", "/pools/{poolid}", {"poolid": POOLID,
                                         "type": Param(enum=("qemu", "lxc", "storage"))})
def get_pool(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/pool/{p['poolid']}", ["Pool.Audit"])
    pool = _pool(ctx, p["poolid"])
    members: list[dict[str, Any]] = [
        {"id": f"{r['type']}/{r['vmid']}", "type": r["type"], "vmid": r["vmid"],
         "node": r["node"], "status": r["status"]}
        for r in ctx.store.query("SELECT * FROM guests WHERE pool = ? ORDER BY vmid", p["poolid"])]
    members += [{"id": f"storage/{s}", "type": "storage", "storage": s}
                for s in pool.get("storage", [])]
    if "type" in p:
        members = [m for m in members if m["type"] == p["type"]]
    return {"comment": pool.get("comment", ""), "members": members}


@routes.route("PUT", "/pools/{poolid}", {"poolid": POOLID, "comment": Param(),
                                         "vms": Param(), "storage": Param(),
                                         "delete": Param("boolean"),
                                         "allow-move": Param("boolean")})
def update_pool(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/pool/{p['poolid']}", ["Pool.Allocate"])
    with ctx.store.tx() as db:
        pool = _pool(ctx, p["poolid"])
        if "comment" in p:
            pool["comment"] = p["comment"]
        for vmid in split_list(p.get("vms", "")):
            row = db.execute("SELECT pool FROM guests WHERE vmid = ?", (int(vmid),)).fetchone()
            if row is None:
                raise PveError(f"no such VMID '{vmid}'")
            if p.get("delete"):
                db.execute("UPDATE guests SET pool = NULL WHERE vmid = ? AND pool = ?",
                           (int(vmid), p["poolid"]))
                continue
            if row["pool"] not in (None, p["poolid"]) and not p.get("allow-move"):
                raise PveError(f"VM {vmid} belongs already to pool '{row['pool']}'")
            ctx.require(f"/vms/{vmid}", ["VM.Allocate"])
            db.execute("UPDATE guests SET pool = ? WHERE vmid = ?", (p["poolid"], int(vmid)))
        storages = set(pool.get("storage", []))
        change = set(split_list(p.get("storage", "")))
        pool["storage"] = sorted(storages - change if p.get("delete") else storages | change)
        ctx.store.put_object(POOL, p["poolid"], pool)
    return None


@routes.route("DELETE", "/pools/{poolid}", {"poolid": POOLID})
def delete_pool(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/pool/{p['poolid']}", ["Pool.Allocate"])
    with ctx.store.tx():
        pool = _pool(ctx, p["poolid"])
        if pool.get("storage") or ctx.store.query("SELECT 1 FROM guests WHERE pool = ?",
                                                  p["poolid"]):
            raise PveError("pool is not empty (remove all members first)")
        ctx.store.delete_object(POOL, p["poolid"])
    return None
