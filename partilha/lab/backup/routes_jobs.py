"""/cluster/backup: scheduled backup jobs (pve-manager PVE/API2/Backup.pm, jobs.cfg), and
/cluster/backup-info/not-backed-up. The lab server's scheduler (partilha.lab.backup.scheduler)
runs them when due. PVE 8 has no "run now" call: the GUI's "Run now" posts the job's options to
`/nodes/{node}/vzdump`, which the lab serves too.
"""

from __future__ import annotations

import uuid
from typing import Any

from partilha.lab import guests
from partilha.lab.backup import jobs, vzdump
from partilha.lab.backup.vzdump_options import VZDUMP_OPTIONS, require_root_for, verify
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, param_error
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router

routes = Router()
JOB_ID = Param(optional=False, max_length=50)
ALL_DAYS = "mon,tue,wed,thu,fri,sat,sun"
JOB_OPTIONS: dict[str, Param] = {
    **VZDUMP_OPTIONS,
    "schedule": Param(format="pve-calendar-event", max_length=128),
    "starttime": Param(pattern=r"\d{1,2}:\d{1,2}"),
    "dow": Param(pattern=r"(mon|tue|wed|thu|fri|sat|sun)(,(mon|tue|wed|thu|fri|sat|sun))*"),
    "enabled": BOOL,
    "comment": Param(),
    "repeat-missed": BOOL,
}
_ROOT_ONLY = ("tmpdir", "dumpdir", "script")


def _stored(p: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if isinstance(v, bool) else v for k, v in p.items()}


def _schedule_from_legacy(p: dict[str, Any]) -> None:
    """`starttime` (+ `dow`) of PVE 6's jobs as a calendar event."""
    starttime, dow = p.pop("starttime", None), p.pop("dow", ALL_DAYS)
    if "schedule" not in p and starttime is not None:
        p["schedule"] = starttime if dow == ALL_DAYS else f"{dow} {starttime}"


def _api_job(ctx: Ctx, jobid: str, conf: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = {"id": jobid, "type": "vzdump", **conf}
    if conf.get("enabled", 1):
        nxt = jobs.next_run(conf["schedule"], jobs.last_run(ctx.store, jobid)[0])
        if nxt is not None:
            job["next-run"] = nxt
    return job


def _job(ctx: Ctx, jobid: str) -> dict[str, Any]:
    conf = jobs.get(ctx.store, jobid)
    if conf is None:
        raise param_error(id=f"No such job '{jobid}'")
    return conf


@routes.route("GET", "/cluster/backup")
def index(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/", ["Sys.Audit"])
    return [_api_job(ctx, jobid, conf) for jobid, conf in jobs.every(ctx.store).items()]


@routes.route("POST", "/cluster/backup", {**JOB_OPTIONS, "id": Param(max_length=50)})
def create_job(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/", ["Sys.Modify"])
    require_root_for(ctx, p, _ROOT_ONLY)
    jobid = p.pop("id", None) or f"backup-{str(uuid.uuid4())[:13]}"
    _schedule_from_legacy(p)
    if "schedule" not in p:
        raise param_error(schedule="property is missing and it is not optional")
    p.setdefault("enabled", True)
    verify(p, check_missing=True)
    if jobs.get(ctx.store, jobid) is not None:
        raise PveError(f"Job '{jobid}' already exists")
    jobs.put(ctx.store, jobid, _stored(p), schedule_changed=True)
    return None


@routes.route("GET", "/cluster/backup/{id}", {"id": JOB_ID})
def read_job(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/", ["Sys.Audit"])
    return {"id": p["id"], "type": "vzdump", **_job(ctx, p["id"])}


@routes.route("PUT", "/cluster/backup/{id}", {
    **JOB_OPTIONS, "id": JOB_ID, "delete": Param()})
def update_job(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/", ["Sys.Modify"])
    require_root_for(ctx, p, _ROOT_ONLY)
    jobid = p.pop("id")
    if not p:
        raise PveError("no options specified")
    verify(p, check_missing=False)
    delete = split_list(p.pop("delete", ""))
    _schedule_from_legacy(p)
    job = dict(_job(ctx, jobid))
    for key in delete:
        if key not in JOB_OPTIONS or key == "schedule":
            raise param_error(delete=f"unknown option '{key}'")
        job.pop(key, None)
    job.update(_stored(p))
    if "exclude" in job:
        job["all"] = 1
    if p.get("vmid"):
        job.pop("all", None)
        job.pop("exclude", None)
    elif p.get("all"):
        job.pop("vmid", None)
    verify(job, check_missing=True)
    old = _job(ctx, jobid)
    changed = any(old.get(k) != job.get(k) for k in ("schedule", "enabled"))
    jobs.put(ctx.store, jobid, job, schedule_changed=changed)
    return None


@routes.route("DELETE", "/cluster/backup/{id}", {"id": JOB_ID})
def delete_job(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/", ["Sys.Modify"])
    if not jobs.delete(ctx.store, p["id"]):
        raise param_error(id=f"No such job '{p['id']}'")
    return None


@routes.route("GET", "/cluster/backup-info/not-backed-up")
def not_backed_up(ctx: Ctx, p: dict[str, Any]) -> Any:
    """Guests no backup job includes."""
    ctx.require("/", ["Sys.Audit"])
    covered = {vmid for conf in jobs.every(ctx.store).values()
               for vmids in vzdump.included_guests(ctx.store, conf).values() for vmid in vmids}
    return [{"vmid": g.vmid, "type": g.type, "name": str(g.config.get("hostname")
                                                        or g.config.get("name") or "")}
            for g in guests.every(ctx.store) if g.vmid not in covered]
