"""A container's config as a call finds it: on that node, and not locked, in PVE's words."""

from __future__ import annotations

from partilha.lab.api.errors import PveError
from partilha.lab.state import guests
from partilha.lab.state.db import Store
from partilha.lab.state.guests import LXC, Guest


def load_ct(store: Store, node: str, vmid: int) -> Guest:
    """AbstractConfig `load_config`: the container's config on `node`, or PVE's error."""
    guest = guests.get(store, vmid)
    if guest is None or guest.node != node or guest.type != LXC:
        raise PveError(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
    return guest


def check_lock(guest: Guest) -> None:
    """AbstractConfig `check_lock`: `CT is locked (<lock>)` (PVE names no vmid)."""
    if guest.lock:
        raise PveError(f"{guest.kind} is locked ({guest.lock})")
