"""What the endpoints of every area check about nodes: the node a call is for is known and online,
the cluster is quorate for writes, and which node answers cluster-wide tasks."""

from __future__ import annotations

from partilha.lab import cluster
from partilha.lab.cluster.state import NodeRow
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError


def online_node(ctx: Ctx, name: str) -> NodeRow:
    """The node a call is for; an offline node fails as PVE's proxying to it does."""
    node = cluster.node(ctx.store, name)
    if node is None:
        raise PveError(f"hostname lookup '{name}' failed - failed to get address info for: "
                       f"{name}: Name or service not known")
    if not node.online:
        raise PveError(f"no route to host ({name})", 595)
    return node


def require_quorum(ctx: Ctx) -> None:
    """PVE's `check_cfs_quorum`: writes need a quorate cluster."""
    if not cluster.quorate(ctx.store):
        raise PveError("cluster not ready - no quorum?")


def local_node(ctx: Ctx) -> NodeRow:
    """The node answering the API (the first online one), where cluster-wide tasks run."""
    nodes = cluster.nodes(ctx.store)
    return next((n for n in nodes if n.online), nodes[0])
