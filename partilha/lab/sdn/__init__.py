"""SDN zones, VNets and subnets (`/cluster/sdn`), applied as bridges. The package re-exports its state
(`state.py`), which callers use as `sdn.<function>(store, ...)`."""

from partilha.lab.sdn.state import (
    CONFIG_KIND,
    RUNNING_KIND,
    AppliedVNet,
    applied_vnet,
    applied_vnets,
    commit,
    digest,
    global_lock,
    has_pending_changes,
    objects,
    put,
    remove,
    rollback,
    running_zone_of,
    set_global_lock,
)

__all__ = [
    "CONFIG_KIND",
    "RUNNING_KIND",
    "AppliedVNet",
    "applied_vnet",
    "applied_vnets",
    "commit",
    "digest",
    "global_lock",
    "has_pending_changes",
    "objects",
    "put",
    "remove",
    "rollback",
    "running_zone_of",
    "set_global_lock",
]
