"""A scheduled backup job (`/cluster/backup`, PVE 8's jobs.cfg `vzdump` section).

The job lists its guests by vmid. PVE answers `vmid` as "101,102" and `prune-backups` as the
property string it was given or, parsed, as a mapping: both read back to the inputs' shape.
Options left empty are not sent on create and are deleted on update (`delete=...`), so the live
job never holds an option the program does not declare. (Wire numbers arrive as floats: every
call goes through `normalised` first.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from partilha.proxmox.client import Pve
from partilha.proxmox.resources.base import Props, unless_gone
from partilha.proxmox.resources.normalised import NormalisedProvider

_OPTIONAL = {"comment": "comment", "node": "node", "prune_backups": "prune-backups"}


def vmid_list(value: str | list[Any] | None) -> list[int]:
    """"101,102" or [101.0, 102] -> [101, 102] (sorted: PVE keeps no order worth keeping)."""
    items = value.split(",") if isinstance(value, str) else value or []
    return sorted({int(item) for item in items if str(item).strip()})


def retention(value: object) -> dict[str, int]:
    """`prune-backups` as a mapping without zero counts (PVE's minimum is 1)."""
    if isinstance(value, str):
        value = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
    if not isinstance(value, Mapping):
        return {}
    return {str(k): int(v) for k, v in sorted(value.items()) if int(v)}


def normalised(props: Props) -> Props:
    return {"jobid": str(props["jobid"]), "schedule": str(props["schedule"]),
            "storage": str(props["storage"]), "vmids": vmid_list(props.get("vmids")),
            "mode": str(props.get("mode") or "snapshot"),
            "prune_backups": retention(props.get("prune_backups")),
            "enabled": bool(props.get("enabled", True)), "comment": str(props.get("comment") or ""),
            "notes_template": str(props.get("notes_template") or ""),
            "node": str(props["node"]) if props.get("node") else None}


def _params(job: Props) -> dict[str, Any]:
    """The API's names and formats for the job's options, the empty ones left out."""
    params: dict[str, Any] = {"schedule": job["schedule"], "storage": job["storage"],
                              "vmid": ",".join(map(str, job["vmids"])), "mode": job["mode"],
                              "enabled": int(job["enabled"])}
    if job["notes_template"]:
        params["notes-template"] = job["notes_template"]
    if job["prune_backups"]:
        params["prune-backups"] = ",".join(f"{k}={v}" for k, v in job["prune_backups"].items())
    for key in ("comment", "node"):
        if job[key]:
            params[key] = job[key]
    return params


class BackupJobProvider(NormalisedProvider):
    replace_on = frozenset({"jobid"})
    delete_before_replace = False  # the new id differs: make it before the old one goes

    def normalise(self, props: Props) -> Props:
        return normalised(props)

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        job = normalised(inputs)
        pve.call("POST", "/cluster/backup", id=job["jobid"], **_params(job))
        return job["jobid"], job

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        live = unless_gone(lambda: pve.get(f"/cluster/backup/{id_}"))
        if live is None:
            return None
        return normalised({
            "jobid": id_, "schedule": live.get("schedule", ""), "storage": live.get("storage", ""),
            "vmids": live.get("vmid"), "mode": live.get("mode"),
            "prune_backups": live.get("prune-backups"), "enabled": int(live.get("enabled", 1)),
            "comment": live.get("comment"), "notes_template": live.get("notes-template"),
            "node": live.get("node")})

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        job = normalised(news)
        removed = [api for key, api in _OPTIONAL.items() if not job[key] and olds.get(key)]
        if olds.get("notes_template") and not job["notes_template"]:
            removed.append("notes-template")
        extra = {"delete": ",".join(removed)} if removed else {}
        pve.call("PUT", f"/cluster/backup/{id_}", **_params(job), **extra)
        return job

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        unless_gone(lambda: pve.call("DELETE", f"/cluster/backup/{id_}"))


class BackupJob(Resource, module="proxmox", name="BackupJob"):
    """`id` is the job's id in jobs.cfg; `prune_backups` maps PVE's keep-* names to counts."""

    jobid: pulumi.Output[str]
    schedule: pulumi.Output[str]
    storage: pulumi.Output[str]
    vmids: pulumi.Output[list[int]]
    mode: pulumi.Output[str]
    prune_backups: pulumi.Output[dict[str, int]]
    enabled: pulumi.Output[bool]
    comment: pulumi.Output[str]
    notes_template: pulumi.Output[str]
    node: pulumi.Output[str | None]

    def __init__(self, name: str, *, id: pulumi.Input[str], schedule: pulumi.Input[str],
                 storage: pulumi.Input[str], vmids: pulumi.Input[list[int]],
                 mode: pulumi.Input[str] = "snapshot",
                 prune_backups: pulumi.Input[dict[str, int]] | None = None,
                 enabled: pulumi.Input[bool] = True, comment: pulumi.Input[str] = "",
                 notes_template: pulumi.Input[str] = "{{guestname}}",
                 node: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(BackupJobProvider(), name, {
            "jobid": id, "schedule": schedule, "storage": storage, "vmids": vmids, "mode": mode,
            "prune_backups": prune_backups or {}, "enabled": enabled, "comment": comment,
            "notes_template": notes_template, "node": node}, opts)
