"""/nodes/{node}/qemu/{vmid}/status: current, and the start/stop/shutdown/reboot tasks.

As qemu-server's API: `start` refuses a running VM (`VM <vmid> already running`), a template and
a locked VM inside its `qmstart` task; `stop`/`shutdown` of a VM that is not running end OK;
`reboot` refuses one at once (`VM <vmid> not running`). The work is the containers' (the lab has
no QEMU; partilha.lab.api.guest_power), the answers keep PVE's schema for VMs (`qmpstatus`).
"""

from __future__ import annotations

from typing import Any

from partilha.lab import vm_config
from partilha.lab.api import guest_power
from partilha.lab.api.context import Ctx
from partilha.lab.api.guest_guard import load_guest
from partilha.lab.api.guest_status import current as current_status
from partilha.lab.api.guest_status import power_target, running, vmstatus_entry
from partilha.lab.api.params import BOOL, NODE, VMID, Param
from partilha.lab.api.router import Router
from partilha.lab.api.routes.nodes import online_node, require_quorum
from partilha.lab.state import cluster
from partilha.lab.state.db import Store
from partilha.lab.state.guests import QEMU, Guest

routes = Router()
VM = {"node": NODE, "vmid": VMID}


def status_of(store: Store, guest: Guest) -> dict[str, Any]:
    """One entry of qemu-server's `vmstatus`."""
    figures = cluster.guest_figures(store, guest)
    return vmstatus_entry(guest, {"vmid": guest.vmid, "status": guest.status,
                                  "qmpstatus": guest.status, "cpus": figures.pop("maxcpu"),
                                  **figures})


@routes.route("GET", "/nodes/{node}/qemu/{vmid}/status", VM)
def status_index(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    load_guest(ctx.store, p["node"], int(p["vmid"]), QEMU)
    return [{"subdir": s} for s in ("current", "start", "stop", "reset", "shutdown", "suspend",
                                    "reboot")]


@routes.route("GET", "/nodes/{node}/qemu/{vmid}/status/current", VM)
def current(ctx: Ctx, p: dict[str, Any]) -> Any:
    online_node(ctx, p["node"])
    ctx.require(f"/vms/{p['vmid']}", ["VM.Audit"])
    guest = load_guest(ctx.store, p["node"], int(p["vmid"]), QEMU)
    out = current_status(ctx, guest, status_of(ctx.store, guest))
    agent = guest.config.get("agent")
    if agent and vm_config.parse_agent(str(agent))["enabled"] == "1":
        out["agent"] = 1
    return out


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/status/start", {
    **VM, "skiplock": BOOL, "timeout": Param("integer", minimum=0), "machine": Param(),
    "force-cpu": Param(), "stateuri": Param(max_length=128), "migratedfrom": Param(format="pve-node"),
    "migration_type": Param(enum=("secure", "insecure")),
    "migration_network": Param(format="CIDR"), "targetstorage": Param()})
def start(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, _ = power_target(ctx, p, QEMU)
    require_quorum(ctx)
    store, instance, skiplock = ctx.store, ctx.instance, bool(p.get("skiplock"))
    return ctx.tasks.start(node, "qmstart", str(vmid), ctx.authid, lambda log: guest_power.start(
        store, instance, node, vmid, QEMU, log, skiplock))


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/status/stop", {
    **VM, "skiplock": BOOL, "timeout": Param("integer", minimum=0), "keepActive": BOOL,
    "migratedfrom": Param(format="pve-node"), "overrule-shutdown": BOOL})
def stop(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, _ = power_target(ctx, p, QEMU)
    store, instance, skiplock = ctx.store, ctx.instance, bool(p.get("skiplock"))
    return ctx.tasks.start(node, "qmstop", str(vmid), ctx.authid, lambda log: guest_power.stop(
        store, instance, node, vmid, QEMU, skiplock))


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/status/shutdown", {
    **VM, "skiplock": BOOL, "timeout": Param("integer", minimum=0), "forceStop": BOOL,
    "keepActive": BOOL})
def shutdown(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, _ = power_target(ctx, p, QEMU)
    store, instance, skiplock = ctx.store, ctx.instance, bool(p.get("skiplock"))
    timeout, force = int(p.get("timeout", 60)), bool(p.get("forceStop"))
    return ctx.tasks.start(node, "qmshutdown", str(vmid), ctx.authid, lambda log: guest_power.shutdown(
        store, instance, node, vmid, QEMU, timeout, force, skiplock))


@routes.route("POST", "/nodes/{node}/qemu/{vmid}/status/reboot", {
    **VM, "timeout": Param("integer", minimum=0)})
def reboot(ctx: Ctx, p: dict[str, Any]) -> Any:
    node, vmid, guest = power_target(ctx, p, QEMU)
    running(guest, vmid, "VM")
    store, instance, timeout = ctx.store, ctx.instance, int(p.get("timeout", 60))
    return ctx.tasks.start(node, "qmreboot", str(vmid), ctx.authid, lambda log: guest_power.reboot(
        store, instance, node, vmid, QEMU, timeout))
