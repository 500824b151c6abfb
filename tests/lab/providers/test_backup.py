"""BackupJob: create, no-op, update in place, drift, replace, delete — on the real engine and lab."""

from __future__ import annotations

from typing import Any

from proxmoxer import ProxmoxAPI

from partilha.proxmox.resources.backup import BackupJob

from .conftest import LabStack

JOB: dict[str, Any] = {"schedule": "sat 03:17", "storage": "lab-backup", "vmids": [9102, 9101],
                       "prune_backups": {"keep-daily": 7, "keep-last": 0}, "comment": "gold"}


def job(**changes: Any) -> None:
    BackupJob("j", **{"id": "tjob1", **JOB, **changes})


def test_backup_job_lifecycle(stack: LabStack, admin_token: ProxmoxAPI) -> None:
    assert stack.up(job) == {"create": 1}
    live = admin_token.cluster.backup("tjob1").get()
    assert {k: live.get(k) for k in ("vmid", "prune-backups", "storage", "comment", "mode",
                                      "notes-template", "enabled")} == {
        "vmid": "9101,9102", "prune-backups": "keep-daily=7", "storage": "lab-backup",
        "comment": "gold", "mode": "snapshot", "notes-template": "{{guestname}}", "enabled": 1}
    assert stack.writes() == ["POST /cluster/backup"]

    assert stack.up() == {"same": 1}  # the unsorted list and the zero count diff equal
    assert stack.writes() == []

    assert stack.up(lambda: job(vmids=[9101, 9102, 9103], comment="", node="pve1")) == {"update": 1}
    assert stack.writes() == ["PUT /cluster/backup/tjob1"]
    live = admin_token.cluster.backup("tjob1").get()
    assert live["vmid"] == "9101,9102,9103" and live["node"] == "pve1" and "comment" not in live

    admin_token.cluster.backup("tjob1").put(schedule="sun 01:00", vmid="9101")
    assert stack.refresh() == {"j": ["schedule", "vmids"]}
    assert stack.up() == {"update": 1}  # put back as declared
    live = admin_token.cluster.backup("tjob1").get()
    assert (live["schedule"], live["vmid"]) == ("sat 03:17", "9101,9102,9103")

    assert stack.up(lambda: job(id="tjob2")) == {"replace": 1}
    assert {j["id"] for j in admin_token.cluster.backup.get()} == {"tjob2"}

    stack.destroy()
    assert admin_token.cluster.backup.get() == []
