"""A guest's config as a call finds it: on that node, of that type, and not locked, in PVE's words
(AbstractConfig `load_config` and `check_lock`, shared by pve-container and qemu-server)."""

from __future__ import annotations

from partilha.lab.api.errors import PveError
from partilha.lab.state import guests
from partilha.lab.state.db import Store
from partilha.lab.state.guests import LXC, QEMU, Guest

CONFIG_DIR = {LXC: "lxc", QEMU: "qemu-server"}


def load_guest(store: Store, node: str, vmid: int, kind: str) -> Guest:
    """The guest's config on `node`, or PVE's error naming the file it looked for."""
    guest = guests.get(store, vmid)
    if guest is None or guest.node != node or guest.type != kind:
        raise PveError(f"Configuration file 'nodes/{node}/{CONFIG_DIR[kind]}/{vmid}.conf' "
                       "does not exist")
    return guest


def check_lock(guest: Guest) -> None:
    """`CT is locked (<lock>)` / `VM is locked (<lock>)` (PVE names no vmid)."""
    if guest.lock:
        raise PveError(f"{guest.kind} is locked ({guest.lock})")
