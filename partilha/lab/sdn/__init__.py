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
    objects,
    put,
    remove,
    rollback,
    running_zone_of,
)

__all__ = [
    "CONFIG_KIND",
    "RUNNING_KIND",
    "AppliedVNet",
    "applied_vnet",
    "applied_vnets",
    "commit",
    "digest",
    "objects",
    "put",
    "remove",
    "rollback",
    "running_zone_of",
]
