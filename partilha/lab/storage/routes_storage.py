"""/storage: the cluster's storage configuration (pve-storage PVE/API2/Storage/Config.pm).

The lab realises `dir` storages (real directories, see partilha.lab.storage.state); other types
are refused by name. Changes run under one lock and compare the `digest` of the whole storage.cfg.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from partilha.lab import storage
from partilha.lab.backup import prune
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import MODIFIED, PveError, param_error
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router

routes = Router()
TYPES = ("btrfs", "cephfs", "cifs", "dir", "esxi", "glusterfs", "iscsi", "iscsidirect", "lvm",
         "lvmthin", "nfs", "pbs", "rbd", "zfs", "zfspool")
STORAGE_ID = Param(optional=False, format="pve-storage-id")
# The dir plugin's options that an update may change or delete (`path` is fixed).
OPTIONS: dict[str, Param] = {
    "content": Param(format=storage.parse_content_list),
    "nodes": Param(format="pve-node-list"),
    "shared": BOOL,
    "disable": BOOL,
    "prune-backups": Param(format=prune.parse),
    "max-protected-backups": Param("integer", minimum=-1),
    "format": Param(enum=("raw", "qcow2", "vmdk", "subvol")),
    "preallocation": Param(enum=("off", "metadata", "falloc", "full")),
    "create-base-path": BOOL,
    "create-subdirs": BOOL,
}
_DIR_PATH = re.compile(r"/[-/a-zA-Z0-9_.@]+")
_lock = threading.Lock()  # PVE's lock_storage_config


def _stored(p: dict[str, Any]) -> dict[str, Any]:
    """Options as storage.cfg keeps them (0/1 for booleans, lists comma-joined)."""
    out: dict[str, Any] = {}
    for key, value in p.items():
        if isinstance(value, bool):
            value = int(value)
        elif key in ("content", "nodes"):
            value = ",".join(sorted(set(split_list(str(value)))))
        out[key] = value
    return out


def _api_config(ctx: Ctx, sid: str, conf: dict[str, Any]) -> dict[str, Any]:
    return {"storage": sid, **conf, "digest": storage.digest(ctx.store)}


def _existing(ctx: Ctx, sid: str) -> dict[str, Any]:
    conf = storage.get(ctx.store, sid)
    if conf is None:
        raise PveError(f"storage '{sid}' does not exist")
    return conf


@routes.route("GET", "/storage", {"type": Param(enum=TYPES)})
def index(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [_api_config(ctx, sid, conf) for sid, conf in storage.every(ctx.store).items()
            if p.get("type") in (None, conf["type"])
            and ctx.allowed(f"/storage/{sid}", ["Datastore.Audit", "Datastore.AllocateSpace"],
                            any_=True)]


@routes.route("GET", "/storage/{storage}", {"storage": STORAGE_ID})
def read(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/storage/{p['storage']}", ["Datastore.Allocate"])
    return _api_config(ctx, p["storage"], _existing(ctx, p["storage"]))


@routes.route("POST", "/storage", {
    "storage": STORAGE_ID, "type": Param(optional=False, enum=TYPES),
    "path": Param(format="pve-storage-path"), **OPTIONS})
def create(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/storage", ["Datastore.Allocate"])
    sid, kind = p.pop("storage"), p.pop("type")
    if kind != "dir":
        raise param_error(type=f"the lab realises 'dir' storages, not '{kind}'")
    if "path" not in p:
        raise param_error(path="property is missing and it is not optional")
    if not _DIR_PATH.fullmatch(p["path"]):
        raise PveError(f"illegal path for directory storage: {p['path']}")
    conf = {"type": kind, **_stored(p)}
    conf.setdefault("content", "images,rootdir")
    with _lock:
        if storage.get(ctx.store, sid) is not None:
            raise PveError(f"create storage failed: storage ID '{sid}' already defined")
        storage.realised_dir(ctx.instance, sid, conf).mkdir(parents=True, exist_ok=True)
        ctx.store.put_object(storage.STORAGE, sid, conf)
    return {"storage": sid, "type": kind}


@routes.route("PUT", "/storage/{storage}", {
    "storage": STORAGE_ID, "delete": Param(format="pve-configid-list"),
    "digest": Param(max_length=64), **OPTIONS})
def update(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/storage", ["Datastore.Allocate"])
    sid, digest = p.pop("storage"), p.pop("digest", None)
    delete = split_list(p.pop("delete", ""))
    with _lock:
        try:
            if digest and digest != storage.digest(ctx.store):
                raise PveError(MODIFIED)
            conf = _existing(ctx, sid)
            for key in delete:
                if key not in OPTIONS:
                    raise PveError(f"no such option '{key}'")
                if key in p:
                    raise PveError(f"cannot set and delete property '{key}' at the same time!")
            for key in delete:
                conf.pop(key, None)
            conf.update(_stored(p))
        except PveError as exc:
            raise PveError(f"update storage failed: {exc.message}") from None
        ctx.store.put_object(storage.STORAGE, sid, conf)
    return {"storage": sid, "type": conf["type"]}


@routes.route("DELETE", "/storage/{storage}", {"storage": STORAGE_ID})
def delete(ctx: Ctx, p: dict[str, Any]) -> Any:
    """The configuration goes, the files stay (as on PVE); ACL entries on it go too."""
    ctx.require("/storage", ["Datastore.Allocate"])
    sid = p["storage"]
    with _lock:
        try:
            _existing(ctx, sid)
        except PveError as exc:
            raise PveError(f"delete storage failed: {exc.message}") from None
        ctx.store.delete_object(storage.STORAGE, sid)
        with ctx.store.tx() as db:
            db.execute("DELETE FROM acl WHERE path = ?", (f"/storage/{sid}",))
    return None

