"""HA groups and resources (`/cluster/ha`), kept as configuration only. The package re-exports its state
(`state.py`), which callers use as `ha.<function>(store, ...)`."""

from partilha.lab.ha.state import (
    GROUP_REQUIRED,
    GUEST_TYPES,
    configured,
    delete_group,
    delete_resource,
    groups,
    groups_digest,
    managed,
    put_group,
    put_resource,
    resources,
    resources_digest,
    service_state,
    service_status,
    sid_of,
)

__all__ = [
    "GROUP_REQUIRED",
    "GUEST_TYPES",
    "configured",
    "delete_group",
    "delete_resource",
    "groups",
    "groups_digest",
    "managed",
    "put_group",
    "put_resource",
    "resources",
    "resources_digest",
    "service_state",
    "service_status",
    "sid_of",
]
