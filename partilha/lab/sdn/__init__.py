"""SDN zones, VNets and subnets (`/cluster/sdn`), applied as bridges. `__all__` is what the rest of
the lab may use: the state (`state.py`), used as `sdn.<function>(store, ...)`, the config format,
the VNet permission check, the apply of the config to bridges and the outside network."""

from partilha.lab.sdn.state import (
    CONFIG_KIND,
    RUNNING_KIND,
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

# isort: split
# the modules below import other areas, which may import this one back: its state comes first
from partilha.lab.sdn import outside, sdn_apply, sdn_schema
from partilha.lab.sdn.bridges import AppliedVNet, applied_vnet, applied_vnets
from partilha.lab.sdn.sdn_config import check_vnet_access

__all__ = [
    "CONFIG_KIND",
    "RUNNING_KIND",
    "AppliedVNet",
    "applied_vnet",
    "applied_vnets",
    "check_vnet_access",
    "commit",
    "digest",
    "global_lock",
    "has_pending_changes",
    "objects",
    "outside",
    "put",
    "remove",
    "rollback",
    "running_zone_of",
    "sdn_apply",
    "sdn_schema",
    "set_global_lock",
]
