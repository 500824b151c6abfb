"""/nodes/{node}/lxc/{vmid}/status: current, and the start/stop/shutdown/reboot tasks.

As pve-container's LXC/Status.pm: `CT <vmid> already running` / `not running` are refused at
once; a lock is checked inside the task under the guest's config lock, so a locked guest's task
ends in `CT is locked (<lock>)`. The tasks' work is shared with VMs (partilha.lab.guests.guest_power).
"""

from __future__ import annotations

from typing import Any

from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_power
from partilha.lab.guests.guest_status import current_status, lxc_status_entry, power_target, running
from partilha.lab.guests.lxc_guard import load_lxc
from partilha.lab.guests.state import LXC
from partilha.lab.instance import LabInstance
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskLog

routes = Router()
CT = {"node": NODE, "vmid": VMID}


@routes.route("GET", "/nodes/{node}/lxc/{vmid}/status", CT)
def status_index(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    load_lxc(ctx.store, p["node"], int(p["vmid"]))
    return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "reboot")]


@routes.route("GET", "/nodes/{node}/lxc/{vmid}/status/current", CT)
def current(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    ctx.require(f"/vms/{p['vmid']}", ["VM.Audit"])
    guest = load_lxc(ctx.store, p["node"], int(p["vmid"]))
    return current_status(ctx, guest, lxc_status_entry(ctx.store, guest))


def _start_task(store: Store, instance: LabInstance, node: str, vmid: int, log: TaskLog,
               skiplock: bool = False) -> None:
    """`vm_start` of a container (also what `start=1` of a restore runs)."""
    guest_power.start(store, instance, node, vmid, LXC, log, skiplock)


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/start", {**CT, "skiplock": BOOL, "debug": BOOL})
def start(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = power_target(ctx, p, LXC)
    if guest is not None and guest.status == "running":
        raise PveError(f"CT {vmid} already running")
    require_quorum(ctx)
    store, instance, skiplock = ctx.store, ctx.instance, bool(p.get("skiplock"))
    return ctx.tasks.start(node, "vzstart", str(vmid), ctx.authid,
                           lambda log: _start_task(store, instance, node, vmid, log, skiplock))


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/stop", {
    **CT, "skiplock": BOOL, "overrule-shutdown": BOOL})
def stop(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = power_target(ctx, p, LXC)
    running(guest, vmid, "CT")
    store, instance, skiplock = ctx.store, ctx.instance, bool(p.get("skiplock"))
    return ctx.tasks.start(node, "vzstop", str(vmid), ctx.authid, lambda log: guest_power.stop(
        store, instance, node, vmid, LXC, skiplock))


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown", {
    **CT, "timeout": Param("integer", minimum=0, default=60), "forceStop": BOOL})
def shutdown(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = power_target(ctx, p, LXC)
    running(guest, vmid, "CT")
    store, instance = ctx.store, ctx.instance
    timeout, force = int(p["timeout"]), bool(p.get("forceStop"))
    return ctx.tasks.start(node, "vzshutdown", str(vmid), ctx.authid, lambda log: guest_power.shutdown(
        store, instance, node, vmid, LXC, timeout, force))


@routes.route("POST", "/nodes/{node}/lxc/{vmid}/status/reboot", {
    **CT, "timeout": Param("integer", minimum=0)})
def reboot(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = power_target(ctx, p, LXC)
    running(guest, vmid, "VM")  # sic: pve-container says "VM <vmid> not running" here
    store, instance = ctx.store, ctx.instance
    timeout = int(p.get("timeout", 60))

    def work(log: TaskLog) -> None:
        log(f"requesting reboot of CT {vmid}")
        guest_power.reboot(store, instance, node, vmid, LXC, timeout)

    return ctx.tasks.start(node, "vzreboot", str(vmid), ctx.authid, work)
