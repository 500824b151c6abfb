"""A container's config as a call finds it: on that node, and not locked, in PVE's words."""

from __future__ import annotations

from partilha.lab.guests.guest_guard import check_lock, load_guest
from partilha.lab.guests.state import LXC, GuestRow
from partilha.lab.server.store import Store

__all__ = ["check_lock", "load_lxc"]


def load_lxc(store: Store, node: str, vmid: int) -> GuestRow:
    """AbstractConfig `load_config`: the container's config on `node`, or PVE's error."""
    return load_guest(store, node, vmid, LXC)
