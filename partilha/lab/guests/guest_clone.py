"""Templates and clones for both guest types: what pve-container's and qemu-server's `template`
and `clone_vm` share (a clone's first checks, its target node, its task). The type-specific parts
(the new config, the words, which locks) are the caller's (partilha.lab.guests.routes_lxc_clone,
qemu_clone). A failed clone task leaves nothing behind, as a failed create does
(partilha.lab.guests.guest_create), and unlocks the source.

A template keeps its container (stopped for good); its disks are renamed `base-<vmid>-...` as
`create_base` does. A clone is a new container whose files start as a copy of the source's
(partilha.lab.machine.lxc.containers.create with a seed) with its own machine-id and SSH host keys. A
linked clone of a template is a copy too: the lab has no copy-on-write storage, and says so in
the task log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partilha.lab import cluster, guests, storage
from partilha.lab.guests import guest_apply, guest_create, lxc_config
from partilha.lab.guests.guest_guard import check_lock, load_guest
from partilha.lab.guests.state import LXC, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError
from partilha.lab.server.tasks import TaskLog


def template_config(guest: GuestRow, disk_keys: list[str]) -> dict[str, Any]:
    """`template: 1`, and each disk's volume renamed `base-...` (CD-ROMs stay as they are)."""
    config = dict(guest.config, template=1)
    for key in disk_keys:
        value = str(config[key])
        if "media=cdrom" not in value:
            volume, sep, rest = value.partition(",")
            config[key] = lxc_config.base_volume(volume) + sep + rest
    return config


def convert_to_template(ctx: Ctx, node: str, vmid: int, kind: str, task_type: str,
                        check: Callable[[GuestRow], None], disk_keys: Callable[[GuestRow], list[str]]) -> str:
    """Check at once (`check`: PVE's refusals for the type), convert in a task; its UPID."""
    check(load_guest(ctx.store, node, vmid, kind))
    store = ctx.store

    def work(log: TaskLog) -> None:
        with guest_apply.config_lock(vmid):
            guest = load_guest(store, node, vmid, kind)
            check(guest)
            config = template_config(guest, disk_keys(guest))
            for key in disk_keys(guest):
                if config[key] != guest.config[key]:
                    log(f"{key}: base volume {str(config[key]).partition(',')[0]}")
            guests.update(store, vmid, config=config)

    return ctx.tasks.start(node, task_type, str(vmid), ctx.authid, work)


def clone_volume(value: str, newid: int, storage: str | None) -> str:
    """A copied disk: `<storage>:<newid>/vm-<newid>-<disk-n|cloudinit>.<fmt>` (options kept)."""
    volume, sep, rest = value.partition(",")
    sid, _, name = volume.partition(":")
    match = re.search(r"(?:vm|base)-\d+-(disk-\d+|cloudinit)(\.\w+)?$", name)
    suffix = f"{match.group(1)}{match.group(2) or ''}" if match else "disk-0.raw"
    return f"{storage or sid}:{newid}/vm-{newid}-{suffix}{sep}{rest}"


def target_node(ctx: Ctx, node: str, p: dict[str, Any]) -> str:
    """What both types' `clone` check once the node is found online, in PVE's order: VM.Clone
    on the source, VM.Allocate on the new vmid or its pool, that the pool and the target node
    (by default the source's) exist. The target node."""
    ctx.require(f"/vms/{int(p['vmid'])}", ["VM.Clone"])
    pool = p.get("pool")
    guest_create.require_allocate(ctx, int(p["newid"]), pool)
    guest_create.check_pool(ctx, pool)
    target = str(p.get("target") or node)
    if cluster.node(ctx.store, target) is None:
        raise PveError(f"no such cluster node '{target}'")
    return target


def check_target(ctx: Ctx, source: GuestRow, target: str, disk_storages: list[str]) -> None:
    """A clone to another node needs shared storage: PVE's words otherwise."""
    if target == source.node:
        return
    for sid in disk_storages:
        conf = storage.get(ctx.store, sid)
        if conf is None:
            raise PveError(f"storage '{sid}' does not exist")
        if not conf.get("shared"):
            raise PveError(f"can't clone {source.kind} to node '{target}' ({source.kind} uses "
                           "local storage)")


@dataclass(frozen=True)
class Clone:
    source: GuestRow
    newid: int
    config: dict[str, Any]  # the new guest's, as the type's clone_vm computes it
    target: str  # the node the new guest lives on
    pool: str | None
    full: bool
    source_lock: str | None  # pve-container locks the source (`disk`); qemu-server does not
    new_lock: str  # `create` (CT) or `clone` (VM) while the task runs
    task_type: str  # vzclone / qmclone


def start(ctx: Ctx, clone: Clone) -> str:
    """Reserve the new vmid and lock the source at once (so changes are refused while the task
    runs), copy in the task; a failure removes the new guest and unlocks the source."""
    source, newid, store, instance = clone.source, clone.newid, ctx.store, ctx.instance
    kind = source.kind
    new = GuestRow(newid, source.type, clone.target, clone.config, clone.new_lock, "stopped", None)
    with guest_apply.config_lock(source.vmid):
        current = load_guest(store, source.node, source.vmid, source.type)
        check_lock(current)
        holder = guests.reserve(store, new)
        if holder is not None:
            if source.type == LXC:
                raise PveError(f"{holder.kind} {newid} already exists on node '{holder.node}'")
            raise PveError(f"unable to create VM {newid}: config file already exists")
        if clone.source_lock:
            guests.update(store, source.vmid, lock=clone.source_lock)

    def unlock_source() -> None:
        if clone.source_lock:
            guests.update(store, source.vmid, lock=None)

    def work(log: TaskLog) -> None:
        try:
            with guest_create.discarded_on_failure(store, instance, newid, kind, log, "clone failed: "):
                if clone.full:
                    log(f"create full clone of {kind} {source.vmid}")
                else:
                    log(f"create linked clone of {kind} {source.vmid}: the lab has no copy-on-write "
                        "storage, it copies the template's files")
                with guest_apply.config_lock(newid):
                    guest_apply.clone(store, instance, source.vmid, new, log)
                    guests.update(store, newid, lock=None,
                                  pool=guest_create.pool_if_exists(store, clone.pool))
        finally:
            unlock_source()

    def undo() -> None:
        guests.remove(store, newid)
        unlock_source()

    return ctx.tasks.start(source.node, clone.task_type, str(source.vmid), ctx.authid, work, undo)
