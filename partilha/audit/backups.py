"""(e) Backups: each guest's newest backup against its tier's RPO, read from PVE as `partilha
backup status` reads it; and the last recoverability check, the newest report of a
`verify-backups` dr run of this env (partilha.dr.report writes it beside the state backend).
No such run, one that did not succeed, or one older than RECOVERY_MAX_AGE: "not proven"."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from partilha.audit.model import Evidence, Item, Status
from partilha.automation.envs import Env
from partilha.dr.context import admin_api
from partilha.dr.journal import dr_root
from partilha.dr.status import status
from partilha.dr.times import when
from partilha.policy.rule import Control

RUNBOOK = "verify-backups"
RECOVERY_MAX_AGE = 8 * 24 * 3600  # a weekly check, and a day's grace


def _hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


def items(env: Env, controls: tuple[Control, ...]) -> list[Item]:
    at = time.time()
    found = status(env, admin_api(env, read_only=True))
    source = "GET /nodes/{node}/storage/{storage}/content?content=backup (`partilha backup status`)"
    rows = []
    for g in found.guests:
        if g.tier is None:
            rows.append(Evidence(g.guest, "not applicable", "no backup tier (it holds no data to back up)",
                                 source, at))
            continue
        offsite = {None: "", True: "; offsite copy present", False: "; offsite copy MISSING"}[g.offsite]
        newest_at = "none" if g.newest_at is None else f"{g.newest} made {when(g.newest_at)}"
        rows.append(Evidence(g.guest, "passed" if g.ok else "failed",
                             f"tier {g.tier}: newest {newest_at}, age {_hours(g.age_s)} against RPO "
                             f"{_hours(g.rpo_s)}{offsite}", source, at))
    fresh = Item("backup-rpo", "Every data guest's newest backup is within its tier's RPO", "backups", True,
                 controls, tuple(rows))
    return [fresh, Item("backup-recoverable", "Backups are proven to restore (the last verify-backups run)",
                        "backups", True, controls, (recoverability(env),))]


def _reports(env: Env) -> list[tuple[float, Path, dict[str, Any]]]:
    found = []
    for path in (dr_root(env.workspace) / "runs").glob(f"{RUNBOOK}-*/report.json"):
        journal = json.loads(path.read_text()).get("journal") or {}
        if journal.get("env") == env.name and journal.get("runbook") == RUNBOOK:
            found.append((float(journal.get("finished") or journal.get("started") or 0), path, journal))
    return sorted(found, key=lambda f: f[0])


def recoverability(env: Env) -> Evidence:
    runs = _reports(env)
    if not runs:
        return Evidence(env.name, "not proven", f"no `{RUNBOOK}` dr run of env {env.name} has a report",
                        f"`partilha dr run {RUNBOOK} --env {env.name}`", 0.0)
    finished, path, journal = runs[-1]
    source = f"`partilha dr run {RUNBOOK}` run {journal.get('run_id')} ({path})"
    if journal.get("outcome") != "succeeded":  # a run still going, paused or interrupted proves nothing yet
        verdict: Status = "failed" if journal.get("outcome") == "failed" else "not proven"
        return Evidence(env.name, verdict, f"the run {journal.get('outcome')}", source, finished)
    if time.time() - finished > RECOVERY_MAX_AGE:
        return Evidence(env.name, "not proven", f"the newest run finished {when(finished)}: older than "
                        f"{RECOVERY_MAX_AGE / 86400:g} days", source, finished)
    return Evidence(env.name, "passed", f"succeeded, finished {when(finished)}", source, finished)
