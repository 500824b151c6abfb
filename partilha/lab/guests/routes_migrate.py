"""POST /nodes/{node}/lxc/{vmid}/migrate and /nodes/{node}/qemu/{vmid}/migrate: a guest moved to
another node of the cluster, its files and SSH host keys with it (the `vzmigrate` / `qmigrate`
task, under the guest's `migrate` lock).

Ported from pve-container's and qemu-server's `migrate_vm` and their Migrate modules: the checks
before the task (`target is local node.`, quorum, `no such cluster node`, the guest on that node,
a running CT needs `restart` (`online` is refused inside the task: no live migration of
containers), a running VM needs `online`; a VM's lock is checked at once, a CT's inside the task)
and in it (the lock, the target node online, the guest's storages available there).

In the lab a node is a label on the guest (its container is the same wherever the guest is), so
the move keeps the guest's files byte for byte: a running guest is shut down (restart mode; a
"live" VM migration is that too, the task log says so), relabelled, and started on the target.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import cluster, guests, storage
from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_apply, qemu_config
from partilha.lab.guests.guest_guard import check_lock, load_guest
from partilha.lab.guests.state import LXC, QEMU, GuestRow
from partilha.lab.instance import LabInstance
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskLog

routes = Router()
COMMON = {"node": NODE, "vmid": VMID, "target": Param(optional=False, format="pve-node"),
          "online": BOOL, "bwlimit": Param("number", minimum=0)}
SHUTDOWN_TIMEOUT = 180  # seconds, PVE's default for a restart migration


def _target(ctx: Ctx, p: dict[str, Any], kind: str) -> tuple[str, str, GuestRow]:
    """(source node, target node, the guest): the checks both types make before the task."""
    vmid, target = int(p["vmid"]), str(p["target"])
    ctx.require(f"/vms/{vmid}", ["VM.Migrate"])
    node = online_node(ctx, p["node"]).name
    if target == node:
        raise param_error(target="target is local node.")
    require_quorum(ctx)
    if cluster.node(ctx.store, target) is None:
        raise PveError(f"no such cluster node '{target}'")
    return node, target, load_guest(ctx.store, node, vmid, kind)


def _storages(store: Store, guest: GuestRow) -> list[str]:
    """The storages the guest's disks are on."""
    keys = ["rootfs"] if guest.type == LXC else [k for k in guest.config if qemu_config.DISK.fullmatch(k)]
    volumes = [str(guest.config.get(k, "")).split(",")[0] for k in keys]
    return sorted({v.partition(":")[0] for v in volumes if ":" in v})


def _move(store: Store, instance: LabInstance, guest: GuestRow, target: str, online: bool,
          restart: bool, timeout: float, log: TaskLog) -> None:
    """The task's work, under the guest's config lock while it checks and takes `migrate`."""
    vmid, word = guest.vmid, guest.kind
    with guest_apply.config_lock(vmid):
        current = load_guest(store, guest.node, vmid, guest.type)
        check_lock(current)
        was_running = current.status == "running"
        if was_running and current.type == LXC and online:
            raise PveError("lxc live migration is currently not implemented")
        if was_running and current.type == LXC and not restart:
            raise PveError("running container can only be migrated in restart mode")
        node = cluster.node(store, target)
        if node is None or not node.online:
            raise PveError("migration aborted: Can't connect to destination address using "
                           f"public key (node '{target}' is offline)")
        for sid in _storages(store, current):
            conf = storage.get(store, sid) or {}
            nodes = [n for n in str(conf.get("nodes", "")).split(",") if n]
            if nodes and target not in nodes:
                raise PveError(f"storage '{sid}' is not available on node '{target}'")
        guests.update(store, vmid, lock="migrate")
    log(f"starting migration of {word} {vmid} to node '{target}'")
    try:
        if was_running:
            log(f"shutdown {word} {vmid}" + (" (the lab moves a running VM by restarting its "
                                             "container)" if current.type == QEMU else ""))
            guest_apply.shutdown(instance, vmid, timeout, force=True)
            guests.update(store, vmid, status="stopped")
        guests.update(store, vmid, node=target)
        log(f"volumes stay where they are: the lab's nodes share its machine ({guest.node} -> {target})")
        if was_running:
            log(f"start {word} {vmid} on node '{target}'")
            guest_apply.start(store, instance, load_guest(store, target, vmid, current.type))
            guests.update(store, vmid, status="running")
    finally:
        guests.update(store, vmid, lock=None)
    log("migration finished successfully")


def _start(ctx: Ctx, source: str, target: str, guest: GuestRow, p: dict[str, Any], restart: bool,
           timeout: float) -> str:
    store, instance, online = ctx.store, ctx.instance, bool(p.get("online"))
    task = "vzmigrate" if guest.type == LXC else "qmigrate"
    return ctx.tasks.start(source, task, str(guest.vmid), ctx.authid, lambda log: _move(
        store, instance, guest, target, online, restart, timeout, log))


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/migrate", {
    **COMMON, "restart": BOOL, "timeout": Param("integer", default=SHUTDOWN_TIMEOUT),
    "target-storage": Param()})
def migrate_lxc(ctx: Ctx, p: dict[str, Any]) -> Any:
    source, target, guest = _target(ctx, p, LXC)
    if p.get("target-storage"):
        raise param_error(**{"target-storage": "the lab's nodes share their storages: omit it"})
    if guest.status == "running" and not p.get("online") and not p.get("restart"):
        raise PveError("can't migrate running container without --online or --restart")
    return _start(ctx, source, target, guest, p, bool(p.get("restart")), float(p["timeout"]))


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/migrate", {
    **COMMON, "force": BOOL, "with-local-disks": BOOL, "targetstorage": Param(),
    "migration_type": Param(enum=("secure", "insecure")), "migration_network": Param()})
def migrate_qemu(ctx: Ctx, p: dict[str, Any]) -> Any:
    source, target, guest = _target(ctx, p, QEMU)
    if p.get("force") and ctx.authid != "root@pam":
        raise param_error(force="Only root may use this option.")
    if p.get("targetstorage"):
        raise param_error(targetstorage="the lab's nodes share their storages: omit it")
    check_lock(guest)
    if guest.status == "running" and not p.get("online"):
        raise PveError("can't migrate running VM without --online")
    return _start(ctx, source, target, guest, p, True, SHUTDOWN_TIMEOUT)
