"""LXC containers and QEMU VMs (`/nodes/{node}/lxc|qemu`): configs, lifecycle, routes. The package
re-exports its state (`state.py`), which callers use as `guests.<function>(store, ...)`."""

from partilha.lab.guests.state import (
    LXC,
    QEMU,
    GuestRow,
    every,
    get,
    on_node,
    remove,
    reserve,
    update,
)

__all__ = [
    "LXC",
    "QEMU",
    "GuestRow",
    "every",
    "get",
    "on_node",
    "remove",
    "reserve",
    "update",
]
