"""`POST /nodes/{node}/lxc` with `restore=1`: a `vzrestore` task that recreates a container from
a vzdump archive (`ostemplate=<storage>:backup/vzdump-lxc-...`), as pve-container's create_vm.

The checks, in PVE's order and words: an existing vmid only with `force` (and then not running,
not protected, not locked; VM.Backup on it is enough), access to the archive (Datastore.AllocateSpace
on its storage and VM.Backup on the guest it came from), the given options' privileges. The
vmid is held with the `create` lock while the task runs. The archive's config is merged under
the options given; a failure before the old guest is replaced leaves it as it was, a later one
removes the guest entirely, as a failed create does (partilha.lab.guests.guest_create): never half
a guest, never a stale lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from partilha.lab import guests, storage
from partilha.lab.backup import guest_restore
from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_apply, guest_create, guest_power, lxc_config, lxc_options
from partilha.lab.guests.lxc_guard import check_lock, load_lxc
from partilha.lab.guests.state import LXC, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.tasks import TaskLog
from partilha.lab.storage import check_volume_access
from partilha.lab.storage.storage_content import backup_volume


def _existing(ctx: Ctx, node: str, vmid: int, force: bool) -> GuestRow | None:
    holder = guests.get(ctx.store, vmid)
    if holder is None:
        return None
    if not force:
        raise PveError(f"{holder.kind} {vmid} already exists on node '{holder.node}'")
    guest = load_lxc(ctx.store, node, vmid)
    if guest.config.get("protection"):
        raise PveError(f"unable to restore CT {vmid} - protection mode enabled")
    check_lock(guest)
    if guest.status == "running":
        raise PveError("can't overwrite running container")
    return guest


def _archive(ctx: Ctx, vmid: int, volid: str) -> tuple[str, Path]:
    """The archive's storage and path, once the caller may read it."""
    try:
        sid, path, info = backup_volume(ctx.store, ctx.instance, volid)
    except ValueError as exc:
        raise param_error(ostemplate=str(exc)) from None
    check_volume_access(ctx, sid, "backup", info.vmid if info else None, vmid)
    return sid, path


def _target_storage(ctx: Ctx, sid: str) -> None:
    """The storage the restored disk goes to: one for containers, with space for the caller."""
    conf = storage.get(ctx.store, sid)
    if conf is None:
        raise PveError(f"storage '{sid}' does not exist")
    if "rootdir" not in storage.contents(conf):
        raise param_error(storage=f"storage '{sid}' does not support container directories")
    ctx.require(f"/storage/{sid}", ["Datastore.AllocateSpace"])


def restore_lxc(ctx: Ctx, p: dict[str, Any], node_name: str, vmid: int) -> Any:
    node = online_node(ctx, node_name).name
    require_quorum(ctx)
    force, unique, start = bool(p.pop("force", False)), bool(p.pop("unique", False)), p.pop("start")
    unprivileged = p.pop("unprivileged", None)
    existing = _existing(ctx, node, vmid, force)
    guest_create.check_ssh_keys(str(p.pop("ssh-public-keys", "")))
    pool = p.pop("pool", None)
    guest_create.check_pool(ctx, pool)
    if existing is None or not ctx.allowed(f"/vms/{vmid}", ["VM.Backup"]):
        guest_create.require_allocate(ctx, vmid, pool)
    lxc_options.check_modify_perm(ctx, vmid, pool, {}, p, [])
    storage, volid = str(p.pop("storage")), str(p.pop("ostemplate"))
    _, path = _archive(ctx, vmid, volid)
    given = {key: lxc_options.stored(key, value) for key, value in p.items()}
    for key in (k for k in given if k.startswith("net")):
        net = lxc_config.parse_net(str(given[key]))
        net.setdefault("hwaddr", lxc_config.random_hwaddr())
        net.setdefault("type", "veth")
        given[key] = lxc_config.print_net(net)
    if "rootfs" in given:
        raise param_error(rootfs="the lab restores the archive's root disk: leave rootfs out")
    _target_storage(ctx, storage)
    if existing is None:
        holder = guests.reserve(ctx.store, GuestRow(vmid, LXC, node, given, "create", "stopped", None))
        if holder is not None:
            raise PveError(f"unable to restore CT {vmid} - {holder.kind} {vmid} already exists on "
                           f"node '{holder.node}'")
    else:
        guests.update(ctx.store, vmid, lock="create")
    store, instance = ctx.store, ctx.instance

    def work(log: TaskLog) -> None:
        replaced = existing is None
        try:
            with guest_apply.config_lock(vmid):
                log(f"recovering backed-up configuration from '{volid}'")
                old = guest_restore.recovered_config(volid, path)
                conf = guest_restore.merged_config(given, old, unique)
                conf["rootfs"] = guest_restore.restored_rootfs(old, storage, vmid)[1]
                if unprivileged is not None or "unprivileged" in old:
                    conf["unprivileged"] = int(unprivileged if unprivileged is not None
                                               else old["unprivileged"])
                conf.setdefault("hostname", f"CT{vmid}")
                conf.setdefault("memory", 512)
                conf.setdefault("swap", 512)
                restored = GuestRow(vmid, LXC, node, conf, "create", "stopped", None)
                guest_apply.spec_for(store, instance, restored)  # realisable, before replacing
                if existing is not None:
                    guest_apply.destroy(instance, vmid)
                    replaced = True
                log(f"restoring '{volid}' now..")
                firewall_text = guest_restore.restore(store, instance, restored, path, log)
                log("merging backed-up and given configuration..")
                guests.update(store, vmid, config=conf, lock=None, status="stopped",
                              pool=guest_create.pool_if_exists(store, pool)
                              or (existing.pool if existing else None))
                guest_restore.restore_firewall(store, instance, vmid, firewall_text, log)
        except Exception as exc:
            if replaced:
                guest_create.discard(store, instance, vmid, "CT", log)
            else:
                guests.update(store, vmid, lock=None)
            raise PveError(f"unable to restore CT {vmid} - {exc}") from exc
        if start:
            guest_power.start(store, instance, node, vmid, LXC, log)

    def undo() -> None:
        if existing is None:
            guests.remove(store, vmid)
        else:
            guests.update(store, vmid, lock=None)

    return ctx.tasks.start(node, "vzrestore", str(vmid), ctx.authid, work, undo)
