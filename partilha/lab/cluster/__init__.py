"""Nodes, quorum and node power (`/nodes`, `/cluster/status`). `__all__` is what the rest of the lab
may use: the state (`state.py`, `votequorum.py`), used as `cluster.<function>(store, ...)`, the
node checks every route makes, and the nodes' host containers, power and shell."""

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

# isort: split
# the modules below import other areas, which may import this one back: its state comes first
from partilha.lab.cluster import node_hosts, node_power, node_shell
from partilha.lab.cluster.node_guard import local_node, online_node, require_quorum

__all__ = [
    "USAGE",
    "NodeRow",
    "acl_path",
    "first_free_vmid",
    "guest_figures",
    "local_node",
    "name",
    "node",
    "node_hosts",
    "node_power",
    "node_shell",
    "nodes",
    "online_node",
    "quorate",
    "require_quorum",
    "resources",
    "seed",
    "set_online",
    "vmid_taken",
]
