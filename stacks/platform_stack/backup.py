"""Backup jobs per tier, and the offsite copy of the tiers that ask for one.

A tier's job backs up the inventory's guests of that tier (by their derived vmids, so the job
exists before the guests and no municipality stack has to edit it: a scoped token cannot touch
cluster backup jobs) on the tier's schedule, to the primary site's backup storage, pruned by the
tier's retention.

Offsite: PVE's directory, NFS and LVM storages have no replication of their own, so the copy at
the DR site is a second, independent job of the same guests on the same schedule and retention,
writing to the DR site's backup storage. Losing the primary site then loses at most one schedule
interval at the DR site too (the tier's RPO holds there), and the two copies share no file, so a
corrupt archive at one site does not spoil the other. vzdump serialises the two jobs per node (its
node lock), so they never back up a guest at the same moment. The DR site's backup storage must be
reachable from the primary site's nodes (an NFS export or PBS datastore at the DR site; in the lab
a directory of the same machine).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi

from keyed_outputs import by_key
from partilha.inventory import Inventory, PlacedGuest
from partilha.inventory.models import Tier
from partilha.proxmox.resources.backup import BackupJob


def retention(tier: Tier) -> dict[str, int]:
    """PVE's prune-backups names for the tier's retention (counts of 0 left out)."""
    keep = tier.retention.model_dump()
    return {name.replace("_", "-"): count for name, count in keep.items() if count}


class BackupPlan(pulumi.ComponentResource):
    jobs: pulumi.Output[dict[str, dict[str, Any]]]  # job id -> tier, site, storage, schedule, vmids

    def __init__(self, name: str, inventory: Inventory, guests: list[PlacedGuest],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:Backup", name, None, opts)
        sites: dict[str, str] = {s.role: s.name for s in inventory.datacentre.sites}
        storages = inventory.backup.storages
        jobs: dict[str, pulumi.Output[dict[str, Any]]] = {}
        for tier_name, tier in inventory.backup.tiers.items():
            vmids = sorted(g.vmid for g in guests if g.spec.backup_tier == tier_name and g.vmid)
            if not vmids:
                continue  # PVE refuses a job without guests
            copies = [("primary", "")] + ([("dr", "-offsite")] if tier.offsite else [])
            for role, suffix in copies:
                site = sites[role]
                job_id = f"partilha-{tier_name}{suffix}"
                job = BackupJob(job_id, id=job_id, schedule=tier.schedule, storage=storages[site],
                                vmids=vmids, prune_backups=retention(tier),
                                comment=f"partilha: tier {tier_name}, copy at site {site}",
                                opts=pulumi.ResourceOptions(parent=self))
                jobs[job_id] = pulumi.Output.all(job.storage, job.vmids, job.schedule).apply(
                    partial(_describe, tier_name, site, role == "dr"))
        self.jobs = by_key(jobs)
        self.register_outputs({"jobs": self.jobs})


def _describe(tier: str, site: str, offsite: bool, made: list[Any]) -> dict[str, Any]:
    storage, vmids, schedule = made
    return {"tier": tier, "site": site, "offsite": offsite, "storage": storage,
            "vmids": [int(v) for v in vmids], "schedule": schedule}
