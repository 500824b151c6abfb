"""LXC containers and QEMU VMs (`/nodes/{node}/lxc|qemu`): configs, lifecycle, routes. `__all__` is
what the rest of the lab may use: the state (`state.py`), used as `guests.<function>(store, ...)`,
the guest a route names, the config formats and the apply of a guest to its container."""

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

# isort: split
# the modules below import other areas, which may import this one back: its state comes first
from partilha.lab.guests import guest_apply, lxc_config, qemu_config
from partilha.lab.guests.guest_guard import load_guest

__all__ = [
    "LXC",
    "QEMU",
    "GuestRow",
    "every",
    "get",
    "guest_apply",
    "load_guest",
    "lxc_config",
    "on_node",
    "qemu_config",
    "remove",
    "reserve",
    "update",
]
