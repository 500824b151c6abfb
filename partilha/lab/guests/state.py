"""Guests in the state: one row per vmid with its node, PVE config (JSON), lock, status and pool.

`reserve` is PVE's `create_and_lock_config`: the vmid check and the insert with lock `create` run in
one BEGIN IMMEDIATE transaction, so of two creates of one vmid exactly one gets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from sqlite3 import Row
from typing import Any

from partilha.lab.guests import lxc_config, qemu_config
from partilha.lab.guests.shape import Shape
from partilha.lab.server.store import Store

LXC, QEMU = "lxc", "qemu"
_FIELDS = frozenset({"config", "lock", "status", "pool", "node"})


@dataclass(frozen=True)
class GuestRow:
    vmid: int
    type: str
    node: str
    config: dict[str, Any]
    lock: str | None
    status: str
    pool: str | None

    @property
    def conf(self) -> dict[str, Any]:
        """The config as PVE's file holds it (with the `lock` line)."""
        return {**self.config, "lock": self.lock} if self.lock else dict(self.config)

    @property
    def digest(self) -> str:
        return lxc_config.digest(self.conf)

    @property
    def shape(self) -> Shape:
        """What the lab realises of the config (ValueError if a property string is bad)."""
        if self.type == QEMU:
            return qemu_config.qemu_shape(self.config, self.vmid)
        return lxc_config.lxc_shape(self.config, self.vmid)

    @property
    def template(self) -> bool:
        return bool(self.config.get("template"))

    @property
    def kind(self) -> str:
        """PVE's word for the guest type in messages."""
        return "VM" if self.type == QEMU else "CT"


def _guest(row: Row) -> GuestRow:
    return GuestRow(row["vmid"], row["type"], row["node"], json.loads(row["config"]), row["lock"],
                 row["status"], row["pool"])


def get(store: Store, vmid: int) -> GuestRow | None:
    rows = store.query("SELECT * FROM guests WHERE vmid = ?", vmid)
    return _guest(rows[0]) if rows else None


def on_node(store: Store, node: str, kind: str) -> list[GuestRow]:
    return [_guest(r) for r in store.query("SELECT * FROM guests WHERE node = ? AND type = ? "
                                           "ORDER BY vmid", node, kind)]


def every(store: Store) -> list[GuestRow]:
    return [_guest(r) for r in store.query("SELECT * FROM guests ORDER BY vmid")]


def reserve(store: Store, guest: GuestRow) -> GuestRow | None:
    """Insert `guest` unless its vmid is taken; returns the guest holding the vmid if it is."""
    with store.tx() as db:
        row = db.execute("SELECT * FROM guests WHERE vmid = ?", (guest.vmid,)).fetchone()
        if row is not None:
            return _guest(row)
        db.execute("INSERT INTO guests (vmid, type, node, config, lock, status, pool) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (guest.vmid, guest.type, guest.node, json.dumps(guest.config, sort_keys=True),
                    guest.lock, guest.status, guest.pool))
    return None


def update(store: Store, vmid: int, **fields: Any) -> None:
    """Set some of config, lock, status, pool, node."""
    unknown = set(fields) - _FIELDS
    if unknown:
        raise ValueError(f"not a guest field: {sorted(unknown)}")
    if "config" in fields:
        fields["config"] = json.dumps(fields["config"], sort_keys=True)
    names = sorted(fields)
    with store.tx() as db:
        db.execute(f"UPDATE guests SET {', '.join(f'{n} = ?' for n in names)} WHERE vmid = ?",  # noqa: S608
                   (*(fields[n] for n in names), vmid))


def remove(store: Store, vmid: int, access: bool = False) -> None:
    """Forget the guest and its pool membership (`destroy_config`); with `access`, also the ACL
    entries on /vms/<vmid>, as destroying a guest does (`remove_vm_access`)."""
    with store.tx() as db:
        db.execute("DELETE FROM guests WHERE vmid = ?", (vmid,))
        if access:
            db.execute("DELETE FROM acl WHERE path = ?", (f"/vms/{vmid}",))
