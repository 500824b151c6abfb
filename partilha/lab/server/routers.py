"""The PVE API endpoints the lab serves: every area's routers."""

from partilha.lab.access import routes_access, routes_objects, routes_pools
from partilha.lab.backup import routes_jobs, routes_vzdump
from partilha.lab.cluster import routes_cluster, routes_nodes
from partilha.lab.firewall import (
    routes_aliases,
    routes_firewall,
    routes_guest_firewall,
    routes_ipsets,
    routes_security_groups,
    routes_vnet_firewall,
)
from partilha.lab.guests import (
    routes_lxc,
    routes_lxc_clone,
    routes_lxc_status,
    routes_migrate,
    routes_qemu,
    routes_qemu_clone,
    routes_qemu_status,
    routes_resize,
)
from partilha.lab.ha import routes_ha
from partilha.lab.sdn import routes_sdn, routes_vnets
from partilha.lab.server import routes_tasks
from partilha.lab.server.router import Router
from partilha.lab.storage import routes_content, routes_storage

ROUTERS: tuple[Router, ...] = (
    routes_access.routes, routes_objects.routes, routes_cluster.routes, routes_nodes.routes,
    routes_pools.routes, routes_tasks.routes, routes_sdn.routes, routes_vnets.routes,
    routes_lxc.routes, routes_lxc_status.routes, routes_firewall.routes,
    routes_security_groups.routes, routes_guest_firewall.routes, routes_storage.routes,
    routes_content.routes, routes_vzdump.routes, routes_jobs.routes, routes_lxc_clone.routes,
    routes_qemu.routes, routes_qemu_status.routes, routes_qemu_clone.routes, routes_ha.routes,
    routes_resize.routes, routes_migrate.routes, routes_vnet_firewall.routes,
    routes_ipsets.routes, routes_aliases.routes)
