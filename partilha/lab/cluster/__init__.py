"""Nodes, quorum and node power (`/nodes`, `/cluster/status`). The package re-exports its state
(`state.py`, `votequorum.py`), which callers use as `cluster.<function>(store, ...)`."""

from partilha.lab.cluster.state import (
    USAGE,
    NodeRow,
    acl_path,
    first_free_vmid,
    guest_figures,
    name,
    node,
    nodes,
    resources,
    seed,
    set_online,
    vmid_taken,
)
from partilha.lab.cluster.votequorum import quorate

__all__ = [
    "USAGE",
    "NodeRow",
    "acl_path",
    "first_free_vmid",
    "guest_figures",
    "name",
    "node",
    "nodes",
    "quorate",
    "resources",
    "seed",
    "set_online",
    "vmid_taken",
]
