"""/nodes and /nodes/{node}/status."""

from __future__ import annotations

import platform
import shutil
import time
from typing import Any

from partilha.lab import cluster
from partilha.lab.cluster.node_guard import online_node
from partilha.lab.server.context import Ctx
from partilha.lab.server.params import NODE
from partilha.lab.server.router import Router

routes = Router()


@routes.route("GET", "/nodes")
def list_nodes(ctx: Ctx, p: dict[str, Any]) -> Any:
    """Every node and whether it is online, for any user; its figures only with Sys.Audit on it
    (PVE's `extract_node_stats` with `exclude_stats`)."""
    return [{"node": n.name, "status": "online" if n.online else "offline", "type": "node",
             "id": f"node/{n.name}",
             **({"level": "", "maxcpu": n.cpus, "maxmem": n.memory_mib * 2**20}
                if ctx.allowed(f"/nodes/{n.name}", ["Sys.Audit"]) else {})}
            for n in cluster.nodes(ctx.store)]


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
