"""SDN state: the edited section configs and the applied (running) ones.

Like PVE, the API edits zones.cfg, vnets.cfg and subnets.cfg (kinds `sdn-zone`, `sdn-vnet`,
`sdn-subnet`); `PUT /cluster/sdn` copies them into the running config (kinds `sdn-running-*`,
PVE's `.running-config`) and only that is realised (`bridges.py`).
"""

from __future__ import annotations

from typing import Any

from partilha.lab.sdn import sdn_schema
from partilha.lab.server.store import Store

CONFIG_KIND = {"zones": "sdn-zone", "vnets": "sdn-vnet", "subnets": "sdn-subnet"}
RUNNING_KIND = {"zones": "sdn-running-zone", "vnets": "sdn-running-vnet",
                "subnets": "sdn-running-subnet"}


def objects(store: Store, section: str, running: bool = False) -> dict[str, dict[str, Any]]:
    """One section's objects in file order (edited config, or the applied one)."""
    return store.objects((RUNNING_KIND if running else CONFIG_KIND)[section])


def put(store: Store, section: str, oid: str, data: dict[str, Any]) -> None:
    store.put_object(CONFIG_KIND[section], oid, data)


def remove(store: Store, section: str, oid: str) -> None:
    store.delete_object(CONFIG_KIND[section], oid)


def digest(store: Store, section: str) -> str:
    """SHA1 of the section's config file as PVE would write it."""
    return sdn_schema.digest(sdn_schema.section_text(section, objects(store, section)))


def _copy(store: Store, source: dict[str, str], target: dict[str, str]) -> None:
    with store.tx() as db:
        for section in sdn_schema.SECTIONS:
            db.execute("DELETE FROM objects WHERE kind = ?", (target[section],))
            db.execute("INSERT INTO objects (kind, id, data, ord) SELECT ?, id, data, ord "
                       "FROM objects WHERE kind = ?", (target[section], source[section]))


def commit(store: Store) -> int:
    """Make the edited config the running one (PVE's `commit_config`); returns its version."""
    with store.tx():
        _copy(store, CONFIG_KIND, RUNNING_KIND)
        version = int(store.meta("sdn_version") or 0) + 1
        store.set_meta("sdn_version", str(version))
    return version


def global_lock(store: Store) -> str | None:
    """The token of the global SDN lock (pve-network's /etc/pve/sdn/.lock), None when free."""
    return store.meta("sdn_lock_token") or None


def set_global_lock(store: Store, token: str | None) -> None:
    store.set_meta("sdn_lock_token", token or "")


def has_pending_changes(store: Store) -> bool:
    """Whether the edited config differs from the running one."""
    return any(objects(store, s) != objects(store, s, running=True) for s in sdn_schema.SECTIONS)


def rollback(store: Store) -> None:
    """Drop every pending edit: the config becomes the running one again."""
    _copy(store, RUNNING_KIND, CONFIG_KIND)


def running_zone_of(store: Store, vnet: str) -> str | None:
    """The zone of `vnet` in the running config (PVE's check_vnet_access reads that one)."""
    obj = objects(store, "vnets", running=True).get(vnet)
    return str(obj["zone"]) if obj and obj.get("zone") else None
