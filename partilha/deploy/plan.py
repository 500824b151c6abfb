"""Which deploy files each host gets for `partilha deploy baseline|hypervisor|services|all`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host
from partilha.deploy.paths import deploy_path
from partilha.workspace import Workspace

What = Literal["baseline", "hypervisor", "services", "all"]
WHATS: tuple[What, ...] = ("baseline", "hypervisor", "services", "all")


def files_for(host: Host, what: What, workspace: Workspace | None = None) -> list[Path]:
    """The baseline on every host, then deploys/hypervisor.py on nodes, then
    deploys/services/<role>.py on each guest with a role."""
    files: list[Path] = []
    if what in ("baseline", "all"):
        files.append(deploy_path("baseline", workspace))
    if what in ("hypervisor", "all") and host.kind == "node":
        files.append(deploy_path("hypervisor", workspace))
    if what in ("services", "all") and host.kind == "guest" and host.role:
        files.append(deploy_path(f"services/{host.role}", workspace))
    return files


def plan(fleet: Fleet, what: What, workspace: Workspace | None = None) -> dict[str, list[Path]]:
    return {host.name: files_for(host, what, workspace) for host in fleet.hosts}
