"""/nodes and /nodes/{node}/status."""

from __future__ import annotations

import platform
import shutil
import time
from typing import Any

from partilha.lab.api.context import Ctx
from partilha.lab.api.errors import PveError
from partilha.lab.api.params import NODE
from partilha.lab.api.router import Router
from partilha.lab.state import cluster
from partilha.lab.state.cluster import NodeRow

routes = Router()


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
    if not cluster.quorate(cluster.nodes(ctx.store)):
        raise PveError("cluster not ready - no quorum?")


def local_node(ctx: Ctx) -> NodeRow:
    """The node answering the API (the first online one), where cluster-wide tasks run."""
    nodes = cluster.nodes(ctx.store)
    return next((n for n in nodes if n.online), nodes[0])


@routes.route("GET", "/nodes")
def list_nodes(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"node": n.name, "status": "online" if n.online else "offline", "level": "",
             "maxcpu": n.cpus, "maxmem": n.memory_mib * 2**20, "type": "node",
             "id": f"node/{n.name}"}
            for n in cluster.nodes(ctx.store) if ctx.allowed(f"/nodes/{n.name}", ["Sys.Audit"])]


@routes.route("GET", "/nodes/{node}/status", {"node": NODE})
def node_status(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/nodes/{p['node']}", ["Sys.Audit"], any_=True)
    node = online_node(ctx, p["node"])
    memory = node.memory_mib * 2**20  # a logical node: the size the inventory gives it
    disk = shutil.disk_usage(ctx.instance.state_dir)  # its root filesystem is the lab's
    kernel = platform.uname()
    return {"cpuinfo": {"cpus": node.cpus, "model": "partilha lab vCPU", "sockets": 1,
                        "cores": node.cpus},
            "memory": {"total": memory, "used": 0, "free": memory, "available": memory},
            "rootfs": {"total": disk.total, "used": disk.used, "free": disk.free,
                       "avail": disk.free},
            "boot-info": {"mode": "legacy-bios"},
            "current-kernel": {"sysname": kernel.system, "release": kernel.release,
                               "version": kernel.version, "machine": kernel.machine},
            "pveversion": "pve-manager/8.4.1/2a5fa54a8503f96d",
            "kversion": f"{kernel.system} {kernel.release} {kernel.version}",
            "uptime": int(time.monotonic()), "cpu": 0.0, "loadavg": ["0.00", "0.00", "0.00"]}
