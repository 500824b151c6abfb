"""The PVE API endpoints the lab serves, one module per API area."""

from partilha.lab.api.router import Router
from partilha.lab.api.routes import (
    access,
    cluster,
    lxc,
    lxc_status,
    nodes,
    pools,
    sdn,
    sdn_vnets,
    tasks,
)

ROUTERS: tuple[Router, ...] = (access.routes, cluster.routes, nodes.routes, pools.routes,
                               tasks.routes, sdn.routes, sdn_vnets.routes, lxc.routes,
                               lxc_status.routes)
