"""HA groups and resources (PVE's /etc/pve/ha/groups.cfg and resources.cfg), as state only.

The lab runs no HA manager (CRM/LRM): it keeps the configuration, its digests, and what PVE's
`get_service_status` reports of a guest; nothing is fenced, recovered or relocated. A service's
state is the requested one (a CRM would converge to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partilha.lab.sdn import sdn_schema
from partilha.lab.server.store import Store

GROUP, RESOURCE = "ha-group", "ha-resource"
GROUP_REQUIRED = ("nodes",)
GUEST_TYPES = {"vm": "qemu", "ct": "lxc"}  # HA resource type -> guest type


def groups(store: Store) -> dict[str, dict[str, Any]]:
    return store.objects(GROUP)


def resources(store: Store) -> dict[str, dict[str, Any]]:
    return store.objects(RESOURCE)


def _section_text(objects: Mapping[str, Mapping[str, Any]], required: tuple[str, ...] = ()) -> str:
    """SectionConfig `write_config`: `<type>: <id>`, comment, required options, the others."""
    out = []
    for oid, obj in objects.items():
        others = sorted(k for k in obj if k not in ("type", "comment", *required))
        keys = ["comment", *required, *others]
        lines = [f"{obj['type']}: {oid}"] + [f"\t{k} {obj[k]}" for k in keys if obj.get(k) not in (None, "")]
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def groups_digest(store: Store) -> str:
    return sdn_schema.digest(_section_text(groups(store), GROUP_REQUIRED))


def resources_digest(store: Store) -> str:
    return sdn_schema.digest(_section_text(resources(store)))


def put_group(store: Store, group: str, data: dict[str, Any]) -> None:
    store.put_object(GROUP, group, {**data, "type": "group"})


def put_resource(store: Store, sid: str, data: dict[str, Any]) -> None:
    store.put_object(RESOURCE, sid, data)


def delete_group(store: Store, group: str) -> None:
    store.delete_object(GROUP, group)


def delete_resource(store: Store, sid: str) -> None:
    store.delete_object(RESOURCE, sid)


def sid_of(guest_type: str, vmid: int) -> str:
    return f"{'vm' if guest_type == 'qemu' else 'ct'}:{vmid}"


def configured(store: Store, sid: str) -> bool:
    return store.get_object(RESOURCE, sid) is not None


def managed(store: Store, sid: str) -> bool:
    """`service_check_ha_state`: configured and not `ignored` (ignored ones act unmanaged)."""
    resource = store.get_object(RESOURCE, sid)
    return resource is not None and resource.get("state") != "ignored"


def service_state(resource: Mapping[str, Any]) -> str:
    """The state the CRM would reach: the requested one (`enabled` is the old `started`)."""
    state = str(resource.get("state") or "started")
    return "started" if state == "enabled" else state


def service_status(store: Store, sid: str) -> dict[str, Any]:
    """`get_service_status`: what a guest's status/current reports under `ha`."""
    resource = store.get_object(RESOURCE, sid)
    if resource is None or not managed(store, sid):
        return {"managed": 0}
    status: dict[str, Any] = {"managed": 1, "state": service_state(resource)}
    if resource.get("group"):
        status["group"] = resource["group"]
    return status
