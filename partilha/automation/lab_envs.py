"""The envs `partilha lab up` made for a lab, and what `lab reset` does to them.

A lab reset and brought up again is a new cluster: the state of those envs' stacks names users,
tokens and guests it no longer has (a refresh reads a token of a user that is gone), and the
token store's secrets of their municipalities are refused. So `lab up` records each env it makes
in the lab's folder, and `lab reset` removes those envs' stacks from the state backend (through
the Pulumi CLI, whatever the backend) and their tokens from the token store. Only the stacks
whose config says they are that lab env's: any other env's in the same backend, a production
env's above all, is never touched. Their stack config files stay, for the next `lab up`.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pulumi import automation as auto

from partilha.automation import engine, project
from partilha.automation.envs import ENV, Env
from partilha.errors import UserError
from partilha.proxmox.credentials import LAB, TOKEN_STORE, is_lab
from partilha.proxmox.token_store import TokenStore
from partilha.workspace import Workspace

RECORD = "envs.json"  # in the lab's state directory: env name -> its project folder


def record(lab: Path, env: Env) -> None:
    """`lab up` made (or brought up again) `env` for the lab whose state directory is `lab`."""
    envs = recorded(lab) | {env.name: env.project}
    (lab / RECORD).write_text(json.dumps({k: str(v) for k, v in sorted(envs.items())}, indent=2) + "\n")


def recorded(lab: Path) -> dict[str, Path]:
    """The envs `lab up` made for the lab in `lab`, with their project folders."""
    try:
        data = json.loads((lab / RECORD).read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise UserError(f"{lab / RECORD}: not JSON ({exc})") from None
    return {str(name): Path(folder) for name, folder in data.items()}


def forget(name: str, folder: Path, workspace: Workspace) -> list[str]:
    """Remove lab env `name`'s stacks (those of its stack config files in `folder`) from the
    state backend and their tokens from the token store; the stacks removed."""
    configs = {}
    for path in sorted(folder.glob(f"Pulumi.{name}-*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        if config.get(ENV) == name and is_lab(config.get(LAB, "")):
            configs[path.name.removeprefix("Pulumi.").removesuffix(".yaml")] = config
    if not configs:
        return []
    listed = auto.LocalWorkspace(work_dir=str(folder), env_vars=project.run_env(workspace),
                                 pulumi_command=project.pulumi_command())
    try:
        held = [s.name for s in listed.list_stacks() if s.name in configs]
        for stack in held:
            engine.remove_stack(listed, stack, force=True, keep_config=True)
    except auto.CommandError as exc:
        said = [line.strip() for line in str(exc).splitlines() if "error:" in line] or ["Pulumi failed"]
        raise UserError(f"env {name}: its stacks could not be removed from the state backend "
                        f"({said[-1]}); the lab was left as it is") from None
    tokens = TokenStore(workspace.private / "tokens")
    for config in configs.values():
        if config.get(TOKEN_STORE):
            tokens.remove(str(config[TOKEN_STORE]))
    return held
