"""Where deploy files live (deploys/ in the checkout) and where a run keeps its files."""

from __future__ import annotations

from pathlib import Path

from partilha.workspace import CHECKOUT, Workspace


def deploy_path(name: str) -> Path:
    """deploys/<name>.py: "baseline", "hypervisor", "services/portal", ..."""
    return CHECKOUT / "deploys" / f"{name}.py"


def workdir_for(env: str, workspace: Workspace | None = None) -> Path:
    """.partilha/deploy/<env>/: the fleet file, ssh_config, pyinfra inventory and log, reports."""
    return (workspace or Workspace.find()).private / "deploy" / env
