"""What the status endpoints of both guest types share: the checks before a power task (node
online, VM.PowerMgmt, `skiplock` for root only), what ends every `vmstatus` entry (lock, tags,
template) and the live part of `status/current` (pid, uptime and memory of the running
container, and the guest's HA service status)."""

from __future__ import annotations

from typing import Any

from partilha.lab import cluster, guests, ha
from partilha.lab.cluster import online_node
from partilha.lab.guests import guest_apply
from partilha.lab.guests.state import GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.store import Store


def power_target(ctx: Ctx, p: dict[str, Any], kind: str) -> tuple[str, int, GuestRow | None]:
    """(node, vmid, the guest if it is one of `kind` on that node)."""
    node = online_node(ctx, p["node"]).name
    vmid = int(p["vmid"])
    ctx.require(f"/vms/{vmid}", ["VM.PowerMgmt"])
    if p.get("skiplock") and ctx.authid != "root@pam":
        raise param_error(skiplock="Only root may use this option.")
    guest = guests.get(ctx.store, vmid)
    return node, vmid, guest if guest is not None and guest.node == node and guest.type == kind else None


def running(guest: GuestRow | None, vmid: int, word: str) -> GuestRow:
    if guest is None or guest.status != "running":
        raise PveError(f"{word} {vmid} not running")
    return guest


def vmstatus_entry(guest: GuestRow, fields: dict[str, Any]) -> dict[str, Any]:
    """One entry of a `vmstatus`: the type's `fields`, then `lock`, `tags` and `template` where
    the guest has them (pve-container and qemu-server report these alike)."""
    out = dict(fields)
    if guest.lock:
        out["lock"] = guest.lock
    if guest.config.get("tags"):
        out["tags"] = guest.config["tags"]
    if guest.template:
        out["template"] = 1
    return out


def current_status(ctx: Ctx, guest: GuestRow, status: dict[str, Any]) -> dict[str, Any]:
    """`status` plus what only a running guest has, and `ha` (`get_service_status`)."""
    out = dict(status)
    if guest.status == "running":
        out.update(guest_apply.runtime(ctx.instance, guest.vmid))
    out["ha"] = ha.service_status(ctx.store, ha.sid_of(guest.type, guest.vmid))
    return out


MIB = 1024 * 1024


def lxc_status_entry(store: Store, guest: GuestRow) -> dict[str, Any]:
    """One entry of pve-container's `vmstatus`."""
    figures = cluster.guest_figures(store, guest)
    return vmstatus_entry(guest, {
        "vmid": guest.vmid, "type": "lxc", "status": guest.status,
        "maxswap": guest.shape.swap_mib * MIB, "cpus": figures.pop("maxcpu"), "swap": 0,
        **figures})


def qemu_status_entry(store: Store, guest: GuestRow) -> dict[str, Any]:
    """One entry of qemu-server's `vmstatus`."""
    figures = cluster.guest_figures(store, guest)
    return vmstatus_entry(guest, {"vmid": guest.vmid, "status": guest.status,
                                  "qmpstatus": guest.status, "cpus": figures.pop("maxcpu"),
                                  **figures})
