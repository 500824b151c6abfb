"""Backup jobs in the state: PVE's jobs.cfg `vzdump` sections, and each job's run state (PVE
keeps it in /var/lib/pve-manager/jobs/vzdump-<id>.json): when it last ran, or when its schedule
last changed, and the tasks of its last run."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from partilha.calendar_event import CalendarEvent
from partilha.lab.server.store import Store

JOB, RUN = "vzdump-job", "vzdump-job-run"
# Job options that are not vzdump's (PVE::VZDump::JobBase `options`).
JOB_ONLY = ("schedule", "enabled", "comment", "repeat-missed")


def every(store: Store) -> dict[str, dict[str, Any]]:
    return store.objects(JOB)


def get(store: Store, jobid: str) -> dict[str, Any] | None:
    return store.get_object(JOB, jobid)


def put(store: Store, jobid: str, conf: dict[str, Any], schedule_changed: bool) -> None:
    """Save the job; a new or rescheduled (or re-enabled) one counts from now, as
    `create_job`/`detect_changed_runtime_props` do."""
    with store.tx():
        store.put_object(JOB, jobid, conf)
        if schedule_changed or store.get_object(RUN, jobid) is None:
            mark_run(store, jobid, int(time.time()), [])


def delete(store: Store, jobid: str) -> bool:
    with store.tx():
        store.delete_object(RUN, jobid)
        return store.delete_object(JOB, jobid)


def last_run(store: Store, jobid: str) -> tuple[int, list[str]]:
    """(time it last ran or was rescheduled, UPIDs of that run)."""
    state = store.get_object(RUN, jobid) or {}
    return int(state.get("time", 0)), list(state.get("upids", []))


def mark_run(store: Store, jobid: str, when: int, upids: list[str]) -> None:
    store.put_object(RUN, jobid, {"time": when, "upids": upids})


def next_run(schedule: str, after: int) -> int | None:
    """The job's next run strictly after `after` (epoch seconds, local calendar)."""
    moment = CalendarEvent.parse(schedule).next_after(dt.datetime.fromtimestamp(after))
    return int(moment.timestamp()) if moment is not None else None
