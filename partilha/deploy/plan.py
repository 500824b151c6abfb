"""Which deploy files each host gets for `partilha deploy baseline|hypervisor|services|all`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host
from partilha.deploy.paths import deploy_path

What = Literal["baseline", "hypervisor", "services", "all"]
WHATS: tuple[What, ...] = ("baseline", "hypervisor", "services", "all")


def files_for(host: Host, what: What) -> list[Path]:
    """The baseline on every host, then deploys/hypervisor.py on nodes, then
    deploys/services/<role>.py on each guest with a role."""
    files: list[Path] = []
    if what in ("baseline", "all"):
        files.append(deploy_path("baseline"))
    if what in ("hypervisor", "all") and host.kind == "node":
        files.append(deploy_path("hypervisor"))
    if what in ("services", "all") and host.kind == "guest" and host.role:
        files.append(deploy_path(f"services/{host.role}"))
    return files


def plan(fleet: Fleet, what: What) -> dict[str, list[Path]]:
    return {host.name: files_for(host, what) for host in fleet.hosts}
