"""/nodes/{node}/qemu/{vmid}/status: current, and the start/stop/shutdown/reboot tasks.

As qemu-server's API: `start` refuses a running VM (`VM <vmid> already running`), a template and
a locked VM inside its `qmstart` task; `stop`/`shutdown` of a VM that is not running end OK;
`reboot` refuses one at once (`VM <vmid> not running`). The work is the containers' (the lab has
no QEMU; partilha.lab.guests.guest_power), the answers keep PVE's schema for VMs (`qmpstatus`).
"""

from __future__ import annotations

from typing import Any

from partilha.lab.cluster import online_node, require_quorum
from partilha.lab.guests import guest_power, qemu_config
from partilha.lab.guests.guest_guard import load_guest
from partilha.lab.guests.guest_status import current_status, power_target, qemu_status_entry, running
from partilha.lab.guests.state import QEMU
from partilha.lab.server.context import Ctx
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router

routes = Router()
VM = {"node": NODE, "vmid": VMID}


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
    out = current_status(ctx, guest, qemu_status_entry(ctx.store, guest))
    agent = guest.config.get("agent")
    if agent and qemu_config.parse_agent(str(agent))["enabled"] == "1":
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
