"""The PVE API endpoints the lab serves, one module per API area."""

from partilha.lab.api.router import Router
from partilha.lab.api.routes import (
    access,
    access_objects,
    backup_jobs,
    cluster,
    firewall_cluster,
    firewall_groups,
    firewall_guest,
    guest_migrate,
    guest_resize,
    ha,
    lxc,
    lxc_clone,
    lxc_status,
    node_storage,
    nodes,
    pools,
    qemu,
    qemu_clone,
    qemu_status,
    sdn,
    sdn_vnets,
    storage,
    tasks,
    vzdump,
)

ROUTERS: tuple[Router, ...] = (access.routes, access_objects.routes, cluster.routes, nodes.routes,
                               pools.routes, tasks.routes, sdn.routes, sdn_vnets.routes, lxc.routes,
                               lxc_status.routes, firewall_cluster.routes,
                               firewall_groups.routes, firewall_guest.routes, storage.routes,
                               node_storage.routes, vzdump.routes, backup_jobs.routes,
                               lxc_clone.routes, qemu.routes, qemu_status.routes,
                               qemu_clone.routes, ha.routes,
                               guest_resize.routes, guest_migrate.routes)
