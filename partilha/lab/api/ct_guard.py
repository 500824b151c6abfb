"""A container's config as a call finds it: on that node, and not locked, in PVE's words."""

from __future__ import annotations

from partilha.lab.api.guest_guard import check_lock, load_guest
from partilha.lab.state.db import Store
from partilha.lab.state.guests import LXC, Guest

__all__ = ["check_lock", "load_ct"]


def load_ct(store: Store, node: str, vmid: int) -> Guest:
    """AbstractConfig `load_config`: the container's config on `node`, or PVE's error."""
    return load_guest(store, node, vmid, LXC)
