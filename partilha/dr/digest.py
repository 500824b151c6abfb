"""A restored guest's data against the digest the vzdump hook recorded at backup time: the guest's
own `partilha-data-digest` (the service deploy installs it: the digest of the records its service
keeps, as its service reads them), run over SSH against the pinned host key."""

from __future__ import annotations

from typing import Any, Literal

from partilha.dr import restore
from partilha.dr.context import Run
from partilha.dr.runbook import StepError

DIGEST = "/usr/local/sbin/partilha-data-digest"  # deploys/services/_web_service.py DATA_DIGEST
Verdict = Literal["ok", "mismatch", "not recorded"]


def taken(run: Run, guest: dict[str, Any]) -> str | None:
    """The running guest's data digest now (None: its service keeps no records), for a backup made
    once it is stopped, when the vzdump hook can no longer ask it."""
    done = restore.in_guest(run, guest, f"if [ -x {DIGEST} ]; then sudo -n {DIGEST}; fi")
    if done.returncode:
        raise StepError(f"{guest['guest']}: its data digest: {done.stderr.strip()[:200] or 'refused'}")
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else None


def compare(run: Run, guest: dict[str, Any], recorded: str | None,
            address: str | None = None) -> tuple[Verdict, str]:
    """The guest's data digest now (reached at `address` for a drill copy) against `recorded`:
    the verdict and one line saying it."""
    if recorded is None:
        return "not recorded", "no data digest was recorded at backup time"
    done = restore.in_guest(run, guest, f"sudo -n {DIGEST}", address)
    now = done.stdout.strip().splitlines()[-1:] or [""]
    if done.returncode or now[0] != recorded:
        seen = now[0][:12] or done.stderr.strip()[:60]
        return "mismatch", f"data digest {seen}… differs from {recorded[:12]}… recorded at backup time"
    return "ok", f"data digest {recorded[:12]}… as recorded at backup time"
