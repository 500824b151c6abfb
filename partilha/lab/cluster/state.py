"""The cluster's nodes and what `cluster/status`, `cluster/resources` and `nextid` report."""

from __future__ import annotations

from dataclasses import dataclass
from sqlite3 import Row
from typing import Any

from partilha.inventory import Inventory
from partilha.lab import guests, ha
from partilha.lab.access import POOL
from partilha.lab.guests import LXC, GuestRow
from partilha.lab.server.store import Store

USAGE = {"uptime": 0, "cpu": 0, "mem": 0, "disk": 0, "netin": 0, "netout": 0, "diskread": 0,
         "diskwrite": 0}


@dataclass(frozen=True)
class NodeRow:
    name: str
    site: str
    cpus: int
    memory_mib: int
    online: bool


def seed(store: Store, inventory: Inventory) -> None:
    """Nodes and cluster name from the inventory; kept as they are when already there."""
    with store.tx() as db:
        for i, node in enumerate(inventory.datacentre.nodes):
            db.execute("INSERT OR IGNORE INTO nodes (name, site, cpus, memory_mib, ord) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (node.name, node.site, node.cpus, node.memory_gib * 1024, i))
        db.execute("INSERT OR IGNORE INTO meta VALUES ('cluster', ?)", (inventory.datacentre.name,))


def name(store: Store) -> str:
    return store.meta("cluster") or "lab"


def _node_row(r: Row) -> NodeRow:
    return NodeRow(r["name"], r["site"], r["cpus"], r["memory_mib"], bool(r["online"]))


def nodes(store: Store) -> list[NodeRow]:
    return [_node_row(r) for r in store.query("SELECT * FROM nodes ORDER BY ord")]


def node(store: Store, node_name: str) -> NodeRow | None:
    rows = store.query("SELECT * FROM nodes WHERE name = ?", node_name)
    return _node_row(rows[0]) if rows else None


def set_online(store: Store, node_name: str, online: bool) -> None:
    with store.tx() as db:
        db.execute("UPDATE nodes SET online = ? WHERE name = ?", (int(online), node_name))


def vmid_taken(store: Store, vmid: int) -> bool:
    return bool(store.query("SELECT 1 FROM guests WHERE vmid = ?", vmid))


def first_free_vmid(store: Store) -> int:
    taken = {r["vmid"] for r in store.query("SELECT vmid FROM guests WHERE vmid >= 100")}
    return next(v for v in range(100, 1_000_000) if v not in taken)


def acl_path(resource: dict[str, Any]) -> str:
    kind = resource["type"]
    if kind in ("qemu", "lxc"):
        return f"/vms/{resource['vmid']}"
    if kind == "node":
        return f"/nodes/{resource['node']}"
    if kind == "storage":
        return f"/storage/{resource['storage']}"
    if kind == "pool":
        return f"/pool/{resource['pool']}"
    return f"/sdn/zones/{resource['sdn']}"


def guest_figures(store: Store, guest: GuestRow) -> dict[str, Any]:
    """The sizes PVE's `vmstatus` and `cluster/resources` report of a guest, and the usage
    counters the lab does not measure (0)."""
    shape, host = guest.shape, node(store, guest.node)
    name = shape.hostname if guest.type == LXC else guest.config.get("name") or f"VM {guest.vmid}"
    return {"name": name, "maxmem": shape.memory_mib * 2**20, "maxdisk": shape.disk_bytes,
            "maxcpu": shape.cores or (host.cpus if host else 1), **USAGE}


def resources(store: Store) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offline = set()
    for n in nodes(store):
        out.append({"id": f"node/{n.name}", "type": "node", "node": n.name,
                    "status": "online" if n.online else "offline", "maxcpu": n.cpus,
                    "maxmem": n.memory_mib * 2**20, "level": ""})
        if not n.online:
            offline.add(n.name)
    for guest in guests.every(store):
        # an offline node reports nothing, so PVE knows its guests' status no more
        status = "unknown" if guest.node in offline else guest.status
        item = {"id": f"{guest.type}/{guest.vmid}", "type": guest.type, "vmid": guest.vmid,
                "node": guest.node, "status": status, "template": int(guest.template),
                **guest_figures(store, guest)}
        optional = {"pool": guest.pool, "lock": guest.lock, "tags": guest.config.get("tags"),
                    "hastate": ha.service_status(store, ha.sid_of(guest.type, guest.vmid)).get("state")}
        item.update({k: v for k, v in optional.items() if v})
        out.append(item)
    for pool in store.objects(POOL):
        out.append({"id": f"/pool/{pool}", "type": "pool", "pool": pool})
    return out
