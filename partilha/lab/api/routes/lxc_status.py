"""/nodes/{node}/lxc/{vmid}/status: current, and the start/stop/shutdown/reboot tasks.

As pve-container's LXC/Status.pm: `CT <vmid> already running` / `not running` are refused at
once; a lock is checked inside the task under the guest's config lock, so a locked guest's task
ends in `CT is locked (<lock>)`.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import guest_apply, guest_config
from partilha.lab.api.context import Ctx
from partilha.lab.api.ct_guard import check_lock, load_ct
from partilha.lab.api.errors import PveError, param_error
from partilha.lab.api.params import BOOL, NODE, VMID, Param
from partilha.lab.api.router import Router
from partilha.lab.api.routes.nodes import online_node, require_quorum
from partilha.lab.instance import LabInstance
from partilha.lab.state import cluster, guests
from partilha.lab.state.db import Store
from partilha.lab.state.guests import Guest
from partilha.lab.tasks import TaskLog

routes = Router()
CT = {"node": NODE, "vmid": VMID}
MIB = 1024 * 1024


def status_of(store: Store, guest: Guest) -> dict[str, Any]:
    """One entry of PVE's `vmstatus` (usage counters the lab does not measure are 0)."""
    conf = guest.config
    node = cluster.node(store, guest.node)
    rootfs = guest_config.parse_rootfs(str(conf.get("rootfs", "none")))
    out: dict[str, Any] = {
        "vmid": guest.vmid, "name": conf.get("hostname", f"CT{guest.vmid}"), "type": "lxc",
        "status": guest.status, "maxmem": int(conf.get("memory", 512)) * MIB,
        "maxswap": int(conf.get("swap", 512)) * MIB,
        "maxdisk": guest_config.parse_size(rootfs.get("size", "0")),
        "cpus": int(conf.get("cores") or (node.cpus if node else 1)), "uptime": 0, "cpu": 0,
        "mem": 0, "swap": 0, "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
    }
    if guest.lock:
        out["lock"] = guest.lock
    if conf.get("tags"):
        out["tags"] = conf["tags"]
    return out


@routes.route("GET", "/nodes/{node}/lxc/{vmid}/status", CT)
def status_index(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    load_ct(ctx.store, p["node"], int(p["vmid"]))
    return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "reboot")]


@routes.route("GET", "/nodes/{node}/lxc/{vmid}/status/current", CT)
def current(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    ctx.require(f"/vms/{p['vmid']}", ["VM.Audit"])
    guest = load_ct(ctx.store, p["node"], int(p["vmid"]))
    out = status_of(ctx.store, guest)
    if guest.status == "running":
        out.update(guest_apply.runtime(ctx.instance, guest.vmid))
    out["ha"] = {"managed": 0}
    return out


def start_task(store: Store, instance: LabInstance, node: str, vmid: int, log: TaskLog,
               skiplock: bool = False) -> None:
    """`vm_start` under the config lock; the guest is `running` once sshd answers."""
    with guest_apply.config_lock(vmid):
        guest = load_ct(store, node, vmid)
        if not skiplock and guest.lock != "mounted":
            check_lock(guest)
        seconds = guest_apply.start(store, instance, guest)
        guests.update(store, vmid, status="running")
        log(f"CT {vmid} started; sshd answered with its pinned host key after {seconds:.1f} s")


def _power(ctx: Ctx, p: dict[str, Any]) -> tuple[str, int, Guest | None]:
    """Node online, VM.PowerMgmt, and `skiplock` for root only."""
    node = online_node(ctx, p["node"]).name
    vmid = int(p["vmid"])
    ctx.require(f"/vms/{vmid}", ["VM.PowerMgmt"])
    if p.get("skiplock") and ctx.authid != "root@pam":
        raise param_error(skiplock="Only root may use this option.")
    guest = guests.get(ctx.store, vmid)
    return node, vmid, guest if guest is not None and guest.node == node else None


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/start", {**CT, "skiplock": BOOL, "debug": BOOL})
def start(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = _power(ctx, p)
    if guest is not None and guest.status == "running":
        raise PveError(f"CT {vmid} already running")
    require_quorum(ctx)
    store, instance, skiplock = ctx.store, ctx.instance, bool(p.get("skiplock"))
    return ctx.tasks.start(node, "vzstart", str(vmid), ctx.authid,
                           lambda log: start_task(store, instance, node, vmid, log, skiplock))


def _running(guest: Guest | None, vmid: int, kind: str = "CT") -> Guest:
    if guest is None or guest.status != "running":
        raise PveError(f"{kind} {vmid} not running")
    return guest


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/stop", {
    **CT, "skiplock": BOOL, "overrule-shutdown": BOOL})
def stop(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = _power(ctx, p)
    _running(guest, vmid)
    store, instance, skiplock = ctx.store, ctx.instance, bool(p.get("skiplock"))

    def work(log: TaskLog) -> None:
        with guest_apply.config_lock(vmid):
            current_guest = load_ct(store, node, vmid)
            if not skiplock and current_guest.lock != "mounted":
                check_lock(current_guest)
            guest_apply.stop(instance, vmid)
            guests.update(store, vmid, status="stopped")

    return ctx.tasks.start(node, "vzstop", str(vmid), ctx.authid, work)


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown", {
    **CT, "timeout": Param("integer", minimum=0, default=60), "forceStop": BOOL})
def shutdown(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = _power(ctx, p)
    _running(guest, vmid)
    store, instance = ctx.store, ctx.instance
    timeout, force = int(p["timeout"]), bool(p.get("forceStop"))

    def work(log: TaskLog) -> None:
        with guest_apply.config_lock(vmid):
            check_lock(load_ct(store, node, vmid))
            guest_apply.shutdown(instance, vmid, timeout, force)
            guests.update(store, vmid, status="stopped")

    return ctx.tasks.start(node, "vzshutdown", str(vmid), ctx.authid, work)


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/reboot", {
    **CT, "timeout": Param("integer", minimum=0)})
def reboot(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = _power(ctx, p)
    _running(guest, vmid, kind="VM")  # sic: pve-container says "VM <vmid> not running" here
    store, instance = ctx.store, ctx.instance
    timeout = int(p.get("timeout", 60))

    def work(log: TaskLog) -> None:
        log(f"requesting reboot of CT {vmid}")
        with guest_apply.config_lock(vmid):
            current_guest = load_ct(store, node, vmid)
            check_lock(current_guest)
            guest_apply.shutdown(instance, vmid, timeout, force=True)
            guests.update(store, vmid, status="stopped")
            guest_apply.start(store, instance, current_guest)
            guests.update(store, vmid, status="running")

    return ctx.tasks.start(node, "vzreboot", str(vmid), ctx.authid, work)
