"""The evidence `dr run verify-backups` leaves: each run's report.json in its run folder beside
the state backend (partilha-dr/runs/verify-backups-<time>-<hex>/report.json, `figures.backups`:
one entry per guest and site), and from them the newest result per guest and site, which
`partilha backup status` shows and the audit report reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RUNBOOK = "verify-backups"


def runs(root: Path) -> list[Path]:
    """The verify-backups runs with a report, oldest first (run ids sort by their start time)."""
    return sorted(p for p in (root / "runs").glob(f"{RUNBOOK}-*") if (p / "report.json").is_file())


def newest(root: Path, env: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(guest, site) -> the newest verification of its backup there in env `env` (envs may share a
    state backend, and so this folder), with the run it came from."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for folder in runs(root):
        report = json.loads((folder / "report.json").read_text())
        if report["journal"].get("env") != env:
            continue
        verified_at = report["journal"].get("finished") or report["journal"]["started"]
        for b in report["figures"].get("backups") or []:
            found[(b["guest"], b["site"])] = {**b, "run": folder.name, "verified_at": verified_at}
    return found
