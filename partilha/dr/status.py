"""Backup status per guest, read from PVE: the newest backup on its site's backup storage and its
age against the tier's RPO, the archives kept against the retention, whether the offsite copy (the
DR site's backup storage) holds one, and the guests no backup job covers
(`GET /cluster/backup-info/not-backed-up`), and the newest `dr run verify-backups` result."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from partilha.automation.envs import Env
from partilha.inventory import guests
from partilha.proxmox.client import Pve


@dataclass(frozen=True)
class GuestStatus:
    guest: str
    vmid: int
    tier: str | None
    newest: str | None  # volid
    newest_at: float | None
    age_s: float | None
    rpo_s: float | None
    kept: int
    retention: int  # the most archives the tier's retention keeps
    offsite: bool | None  # None: the tier has no offsite copy
    verified: dict[str, Any] | None  # the newest `dr run verify-backups` of its primary copy

    @property
    def ok(self) -> bool:
        fresh = self.age_s is not None and self.rpo_s is not None and self.age_s <= self.rpo_s
        proved = self.verified is None or bool(self.verified["recoverable"])
        return (self.tier is None or fresh) and self.offsite is not False and proved


@dataclass(frozen=True)
class Status:
    guests: list[GuestStatus]
    not_covered: list[dict[str, Any]]  # PVE's not-backed-up entries: vmid, name, type

    def to_json(self) -> dict[str, Any]:
        return {"guests": [{**asdict(g), "ok": g.ok} for g in self.guests],
                "not_covered": self.not_covered}


def _archives(pve: Pve, node: str, storage: str) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in pve.get(f"/nodes/{node}/storage/{storage}/content", content="backup"):
        if item.get("vmid") is not None:
            found[int(item["vmid"])].append(dict(item))
    for items in found.values():
        items.sort(key=lambda i: float(i["ctime"]), reverse=True)
    return found


def backup_status(env: Env, pve: Pve, verified: dict[tuple[str, str], dict[str, Any]]) -> Status:
    """`verified`: the newest verify-backups results (partilha.dr.evidence.newest)."""
    inv = env.inventory
    online = {str(n["node"]) for n in pve.get("/nodes") if n.get("status") == "online"}
    site_node = {n.site: n.name for n in reversed(inv.datacentre.nodes) if n.name in online}
    storages = {site: _archives(pve, site_node[site], sid) for site, sid in inv.backup.storages.items()
                if site in site_node}
    dr_site = next((s.name for s in inv.datacentre.sites if s.role == "dr"), None)
    now = time.time()
    rows = []
    for g in guests(inv):
        tier = inv.backup.tiers.get(g.spec.backup_tier or "")
        kept = storages.get(g.site, {}).get(g.vmid, [])
        newest = kept[0] if kept else None
        offsite = None
        if tier is not None and tier.offsite:
            offsite = bool(dr_site and storages.get(dr_site, {}).get(g.vmid))
        retention = sum(tier.retention.model_dump().values()) if tier else 0
        rows.append(GuestStatus(g.name, g.vmid, g.spec.backup_tier, newest["volid"] if newest else None,
                                float(newest["ctime"]) if newest else None,
                                now - float(newest["ctime"]) if newest else None,
                                tier.rpo_hours * 3600 if tier else None, len(kept), retention, offsite,
                                verified.get((g.name, g.site))))
    return Status(rows, [dict(e) for e in pve.get("/cluster/backup-info/not-backed-up")])
