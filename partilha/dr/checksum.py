"""An archive checked before any restore. On a file storage: the sha256 the vzdump hook recorded
beside it at backup time (backup/hooks/vzdump-partilha, `<archive>.sha256`) against the archive
as it is now, read where it lies: on the node over SSH (root, the node's pinned host key), or on
this machine for a lab env (the lab's nodes are this machine). On a PBS storage: PBS's own
verification state (`verification` of the storage's content listing)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from partilha.dr.context import Run

Verdict = Literal["ok", "mismatch", "missing"]
SSH_TIMEOUT = 600  # reading a large archive on the node: a bound


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    why: str  # one line
    data_digest: str | None = None  # the guest's data digest recorded at backup time, if any


def pbs_verdict(entry: dict[str, Any]) -> Checked:
    """PBS's verification of a backup snapshot, as its content listing gives it."""
    state = (entry.get("verification") or {}).get("state")
    if state == "ok":
        return Checked("ok", "PBS verification ok")
    if state is None:
        return Checked("missing", "PBS has not verified it yet (no verify job ran since it was made)")
    return Checked("mismatch", f"PBS verification {state}")


def sha256_verdict(name: str, recorded: str | None, actual: str) -> Checked:
    """The archive's sha256 now against the line the hook wrote (`<hex>  <name>`)."""
    if recorded is None:
        return Checked("missing", f"no sha256 recorded beside {name} at backup time (the vzdump hook, "
                                  "PTL-HV-11, was not installed when it was made)")
    fields = recorded.split()
    if len(fields) != 2 or fields[1] != name:
        return Checked("mismatch", f"{name}.sha256 does not name {name}")
    if fields[0] != actual:
        return Checked("mismatch", f"sha256 {actual[:12]}… differs from {fields[0][:12]}… recorded at "
                                   "backup time: the archive was altered or replaced")
    return Checked("ok", f"sha256 {actual[:12]}… as recorded at backup time")


def _read_local(path: str) -> tuple[str, str | None, str | None]:
    digest = hashlib.sha256()
    with Path(path).open("rb") as archive:
        while chunk := archive.read(1 << 20):
            digest.update(chunk)
    sidecar, data = Path(f"{path}.sha256"), Path(f"{path}.data.sha256")
    return (digest.hexdigest(), sidecar.read_text() if sidecar.is_file() else None,
            data.read_text().strip() if data.is_file() else None)


def _read_on_node(run: Run, node: str, path: str) -> tuple[str, str | None, str | None]:
    known = run.env.known_hosts(os.environ)
    argv = ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-i", str(run.env.workspace.ssh_key(run.env.lab)), f"root@{node}",
            f"sha256sum -- '{path}' | cut -d' ' -f1; head -n1 -- '{path}.sha256' 2>/dev/null || echo; "
            f"head -n1 -- '{path}.data.sha256' 2>/dev/null || echo"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=SSH_TIMEOUT, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode:
        raise RuntimeError(f"ssh root@{node}: {done.stderr.strip() or 'refused'}")
    actual, recorded, data = [*done.stdout.split("\n"), "", ""][:3]
    return actual.strip(), (recorded + "\n" if recorded else None), (data.strip() or None)


def check(run: Run, node: str, storage: str, volid: str) -> Checked:
    """`volid` on `storage` as seen from `node`, checked."""
    if run.pve.get(f"/storage/{storage}").get("type") == "pbs":
        listed = run.pve.get(f"/nodes/{node}/storage/{storage}/content", content="backup")
        entry: dict[str, Any] = next((c for c in listed if c.get("volid") == volid), {})
        return pbs_verdict(entry)
    path = str(run.pve.get(f"/nodes/{node}/storage/{storage}/content/{volid}")["path"])
    actual, recorded, data = _read_local(path) if run.env.lab else _read_on_node(run, node, path)
    verdict = sha256_verdict(Path(path).name, recorded, actual)
    return Checked(verdict.verdict, verdict.why, data)
