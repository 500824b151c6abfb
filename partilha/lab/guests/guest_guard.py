"""A guest's config as a call finds it: on that node, of that type, and not locked, in PVE's words
(AbstractConfig `load_config` and `check_lock`, shared by pve-container and qemu-server), and as
`GET .../config` answers it (`load_current_config`, which both types' APIs call alike)."""

from __future__ import annotations

from typing import Any

from partilha.lab import guests
from partilha.lab.guests.state import LXC, QEMU, GuestRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.store import Store

CONFIG_DIR = {LXC: "lxc", QEMU: "qemu-server"}


def load_guest(store: Store, node: str, vmid: int, kind: str) -> GuestRow:
    """The guest's config on `node`, or PVE's error naming the file it looked for."""
    guest = guests.get(store, vmid)
    if guest is None or guest.node != node or guest.type != kind:
        raise PveError(f"Configuration file 'nodes/{node}/{CONFIG_DIR[kind]}/{vmid}.conf' "
                       "does not exist")
    return guest


def check_lock(guest: GuestRow) -> None:
    """`CT is locked (<lock>)` / `VM is locked (<lock>)` (PVE names no vmid)."""
    if guest.lock:
        raise PveError(f"{guest.kind} is locked ({guest.lock})")


def read_config(ctx: Ctx, p: dict[str, Any], kind: str) -> dict[str, Any]:
    """`GET /nodes/{node}/{lxc|qemu}/{vmid}/config` once the node is found online: the config
    with its `digest` (the lab keeps no snapshots, so a `snapshot` asked for does not exist)."""
    ctx.require(f"/vms/{p['vmid']}", ["VM.Audit"])
    if p.get("snapshot") and p.get("current"):
        message = "cannot use 'snapshot' parameter with 'current'"
        raise param_error(snapshot=message, current=message)
    guest = load_guest(ctx.store, p["node"], int(p["vmid"]), kind)
    if p.get("snapshot"):
        raise PveError(f"snapshot '{p['snapshot']}' does not exist")
    return {**guest.conf, "digest": guest.digest}
