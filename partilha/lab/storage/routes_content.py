"""/nodes/{node}/storage: each storage's status on a node and its content (pve-storage
PVE/API2/Storage/Status.pm and Content.pm). Sizes are those of the file system that really
holds the storage's directory."""

from __future__ import annotations

import shutil
from typing import Any

from partilha.lab import storage
from partilha.lab.cluster import online_node
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.params import BOOL, NODE, Param
from partilha.lab.server.router import Router
from partilha.lab.server.tasks import TaskLog
from partilha.lab.storage.storage_content import backup_volume, parse_volid, remove_backup, volumes
from partilha.lab.storage.volume_access import may_access

routes = Router()
STORAGE = {"node": NODE, "storage": Param(optional=False, format="pve-storage-id")}
_READ = ["Datastore.Audit", "Datastore.AllocateSpace"]


def _status(ctx: Ctx, sid: str, conf: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"storage": sid, "type": conf["type"], "content": conf["content"],
                             "shared": int(conf.get("shared", 0)),
                             "enabled": int(not conf.get("disable")), "active": 0}
    if conf.get("disable"):
        return entry
    root = storage.realised_dir(ctx.instance, sid, conf)
    root.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(root)
    entry.update(active=1, total=usage.total, used=usage.used, avail=usage.free,
                 used_fraction=usage.used / usage.total if usage.total else 0.0)
    return entry


def _on_node(ctx: Ctx, node: str, sid: str) -> dict[str, Any]:
    conf = storage.get(ctx.store, sid)
    if conf is None or not storage.available_on(conf, node):
        raise param_error(storage="No such storage.")
    return conf


@routes.route("GET", "/nodes/{node}/storage", {
    "node": NODE, "storage": Param(format="pve-storage-id"),
    "content": Param(format=storage.parse_content_list), "enabled": BOOL,
    "target": Param(format="pve-node"), "format": BOOL})
def index(ctx: Ctx, p: dict[str, Any]) -> Any:
    node = online_node(ctx, p["node"]).name
    every = {sid: conf for sid, conf in storage.every(ctx.store).items()
             if storage.available_on(conf, node)}
    if p.get("storage") and p["storage"] not in every:
        raise param_error(storage="No such storage.")
    wanted = set(str(p.get("content", "")).split(",")) - {""}
    target = p.get("target") if p.get("target") != node else None
    out = []
    for sid, conf in every.items():
        if p.get("storage") not in (None, sid) or (p.get("enabled") and conf.get("disable")):
            continue
        if wanted and not wanted & set(storage.contents(conf)):
            continue
        if target and not (conf.get("shared") and storage.available_on(conf, target)):
            continue
        if ctx.allowed(f"/storage/{sid}", _READ, any_=True):
            out.append(_status(ctx, sid, conf))
    return out


@routes.route("GET", "/nodes/{node}/storage/{storage}", STORAGE)
def diridx(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/storage/{p['storage']}", _READ, any_=True)
    return [{"subdir": s} for s in ("content", "prunebackups", "rrd", "rrddata", "status", "upload")]


@routes.route("GET", "/nodes/{node}/storage/{storage}/status", STORAGE)
def read_status(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/storage/{p['storage']}", _READ, any_=True)
    node = online_node(ctx, p["node"]).name
    status = _status(ctx, p["storage"], _on_node(ctx, node, p["storage"]))
    status.pop("storage")
    status.pop("used_fraction", None)
    return status


@routes.route("GET", "/nodes/{node}/storage/{storage}/content", {
    **STORAGE, "content": Param(enum=storage.DIR_CONTENT),
    "vmid": Param("integer", minimum=100, maximum=999_999_999)})
def content(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/storage/{p['storage']}", _READ, any_=True)
    node = online_node(ctx, p["node"]).name
    sid = p["storage"]
    conf = _on_node(ctx, node, sid)
    vmid = int(p["vmid"]) if "vmid" in p else None
    return [v for v in volumes(ctx.store, ctx.instance, sid, conf, p.get("content"), vmid)
            if may_access(ctx, sid, v["content"], v.get("vmid"))]


@routes.route("GET", "/nodes/{node}/storage/{storage}/content/{volume:path}", {
    "node": NODE, "storage": Param(format="pve-storage-id"), "volume": Param(optional=False)})
def volume_attributes(ctx: Ctx, p: dict[str, Any]) -> Any:
    """A backup's attributes (Content.pm `info`): its path on the node, sizes, format, notes."""
    node = online_node(ctx, p["node"]).name
    volid = p["volume"] if ":" in p["volume"] else f"{p['storage']}:{p['volume']}"
    try:
        sid, path, backup = backup_volume(ctx.store, ctx.instance, volid)
    except ValueError as exc:
        raise param_error(volume=str(exc)) from None
    _on_node(ctx, node, sid)
    if backup is None or not path.is_file():
        raise PveError(f"volume '{volid}' does not exist")
    if not may_access(ctx, sid, "backup", backup.vmid):
        raise PveError("Permission check failed", 403)
    size = path.stat().st_size
    return {"path": str(path), "size": size, "used": size, "format": backup.format,
            "notes": backup.notes or "", "protected": int(backup.protected)}


@routes.route("DELETE", "/nodes/{node}/storage/{storage}/content/{volume:path}", {
    "node": NODE, "storage": Param(format="pve-storage-id"), "volume": Param(optional=False),
    "delay": Param("integer", minimum=1, maximum=30)})
def delete_volume(ctx: Ctx, p: dict[str, Any]) -> Any:
    """An `imgdel` task; the lab deletes backups (with their log and notes)."""
    node = online_node(ctx, p["node"]).name
    volid = p["volume"] if ":" in p["volume"] else f"{p['storage']}:{p['volume']}"
    try:
        sid, _ = parse_volid(volid)
        if sid != p["storage"]:
            raise ValueError(f"storage ID mismatch ({sid} != {p['storage']})")
        _, path, backup = backup_volume(ctx.store, ctx.instance, volid)
    except ValueError as exc:
        raise param_error(volume=str(exc)) from None
    if backup is not None:
        ctx.require(f"/storage/{sid}", ["Datastore.AllocateSpace"])
        ctx.require(f"/vms/{backup.vmid}", ["VM.Backup"])
    else:
        ctx.require(f"/storage/{sid}", ["Datastore.Allocate"])

    def work(log: TaskLog) -> None:
        if backup is None or not path.is_file():
            raise PveError(f"volume '{volid}' does not exist")
        remove_backup(backup)
        log(f"Removed volume '{volid}'")

    owner = f"{backup.vmid}@" if backup is not None else ""
    upid = ctx.tasks.start(node, "imgdel", f"{owner}{sid}", ctx.authid, work)
    if p.get("delay") and ctx.tasks.wait(upid, float(p["delay"])):
        status = ctx.tasks.status(upid) or {}
        if status.get("exitstatus") == "OK":
            return None
        raise PveError(str(status.get("exitstatus")))
    return upid
