"""(e) Backups: each guest's newest backup against its tier's RPO, read from PVE as `partilha
backup status` reads it; and each guest's last recoverability check, the newest `dr run
verify-backups` result for its copy (partilha.dr.evidence). No result, or one older than
RECOVERY_MAX_AGE: "not proven"; a copy that did not restore: "failed"."""

from __future__ import annotations

import time
from typing import Any

from partilha.audit.model import Evidence, Item
from partilha.automation.envs import Env
from partilha.dr import evidence
from partilha.dr.context import admin_api
from partilha.dr.journal import dr_root
from partilha.dr.status import GuestStatus, backup_status
from partilha.dr.times import when
from partilha.policy.rule import Control

RECOVERY_MAX_AGE = 8 * 24 * 3600  # a weekly check, and a day's grace


def _hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


def items(env: Env, controls: tuple[Control, ...]) -> list[Item]:
    at = time.time()
    found = backup_status(env, admin_api(env, read_only=True),
                          evidence.newest(dr_root(env.workspace), env.name))
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
    proved = tuple(recoverability(g, at) for g in found.guests if g.tier is not None)
    return [fresh, Item("backup-recoverable", "Each data guest's newest verified backup restored and served "
                        "(`dr run verify-backups`)", "backups", True, controls, proved)]


def recoverability(g: GuestStatus, at: float) -> Evidence:
    command = f"`partilha dr run {evidence.RUNBOOK}`"
    checked: dict[str, Any] | None = g.verified
    if checked is None:
        return Evidence(g.guest, "not proven", f"no `{evidence.RUNBOOK}` run has checked its backup",
                        command, at)
    source = f"{command} run {checked['run']}"
    verified_at = float(checked["verified_at"])
    if not checked["recoverable"]:
        return Evidence(g.guest, "failed", f"{checked['archive']} did not come back: "
                        + "; ".join(checked.get("why") or ["unrecoverable"]), source, verified_at)
    if at - verified_at > RECOVERY_MAX_AGE:
        return Evidence(g.guest, "not proven", f"last proved {when(verified_at)}: older than "
                        f"{RECOVERY_MAX_AGE / 86400:g} days", source, verified_at)
    data = "its data matched" if checked.get("data") == "ok" else "no data digest was recorded to match"
    return Evidence(g.guest, "passed", f"{checked['archive']} restored, booted, served; {data} "
                    f"({when(verified_at)})", source, verified_at)
