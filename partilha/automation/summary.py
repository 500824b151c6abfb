"""What exists after `partilha up`: every guest of the tenant stacks it ran (their `guests`
outputs), where it runs, its address and the SSH command that reaches it with the operator's key,
checking its host key against the pinned known_hosts (never trusting it on first use).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from partilha.automation.envs import Env
from partilha.deploy.paths import workdir_for
from partilha.proxmox.endpoint import CA_FILE, ENDPOINT
from partilha.workspace import Workspace


@dataclass(frozen=True)
class GuestRow:
    name: str
    tenant: str
    service: str
    node: str
    vmid: int
    address: str


def guest_rows(outputs: Iterable[Mapping[str, Any]]) -> list[GuestRow]:
    """The guests of tenant stacks' outputs (stacks without a `guests` mapping add none)."""
    rows = []
    for out in outputs:
        guests = out.get("guests")
        if not isinstance(guests, Mapping):
            continue
        for name, g in guests.items():
            rows.append(GuestRow(name, str(g.get("tenant", "")), str(g.get("service", "")),
                                 str(g.get("node", "")), int(g.get("vmid", 0)), str(g.get("address", ""))))
    return sorted(rows, key=lambda r: (r.vmid, r.name))


def ssh_command(address: str, key: Path, known_hosts: Path) -> str:
    return shlex.join(["ssh", "-i", _shown(key), "-o", f"UserKnownHostsFile={_shown(known_hosts)}",
                       "-o", "StrictHostKeyChecking=yes", f"root@{address}"])


def known_hosts_for(env: Env, environ: Mapping[str, str], workspace: Workspace | None = None) -> Path:
    """Where the guests' host keys are pinned: the lab's known_hosts when the stacks run against a
    lab (the one the environment's endpoint belongs to, else the local one), otherwise the file
    the operator keeps for the env beside its deploy state."""
    workspace = workspace or Workspace.find()
    if environ.get(ENDPOINT):
        ca = Path(environ.get(CA_FILE, ""))
        if environ.get(CA_FILE) and (ca.parent / "instance.json").is_file():  # a lab's state dir
            return ca.parent / "known_hosts"
        return workdir_for(env.name, workspace) / "known_hosts"
    if env.lab:
        return workspace.private / "lab" / "known_hosts"
    return workdir_for(env.name, workspace) / "known_hosts"


def table(env: Env, rows: list[GuestRow], key: Path, known_hosts: Path) -> Table:
    out = Table("guest", "tenant", "node", "address", "SSH", box=box.SIMPLE_HEAD, pad_edge=False,
                title=f"env {env.name}: {len(rows)} guests", title_justify="left")
    for r in rows:
        out.add_row(r.name, r.tenant, r.node, r.address, ssh_command(r.address, key, known_hosts))
    return out


def _shown(path: Path) -> str:
    """A path as short as it reads unambiguously: relative to the current directory when under it."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
