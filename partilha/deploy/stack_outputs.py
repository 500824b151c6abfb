"""The `guests` outputs of the tenant stacks (`<env>-shared`, `<env>-<slug>`), read with the
pinned Pulumi CLI: guest name -> {"vmid", "node", "address", "vnet", ...}."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from partilha.automation.envs import Env
from partilha.errors import UserError
from partilha.workspace import Workspace

TIMEOUT = 120


def guest_outputs(env: Env, workspace: Workspace | None = None) -> dict[str, Any]:
    """Every tenant stack's guests, merged; a missing stack or output is an error naming it."""
    workspace = workspace or Workspace.find()
    stacks = [s.name for s in env.stacks if s.role != "platform"]
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda s: _outputs(s, env, workspace), stacks))
    merged: dict[str, Any] = {}
    for stack, out in zip(stacks, outputs, strict=True):
        guests = out.get("guests")
        if not isinstance(guests, dict):
            raise UserError(f"stack {stack}: no `guests` output (run `partilha up --env {env.name}` first)")
        merged.update(guests)
    return merged


def _outputs(stack: str, env: Env, workspace: Workspace) -> dict[str, Any]:
    pulumi = workspace.tools_bin / "pulumi"
    proc = subprocess.run([str(pulumi), "stack", "output", "--json", "--stack", stack],
                          cwd=env.project, env=workspace.pulumi_env(), capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "pulumi failed"
        raise UserError(f"stack {stack}: cannot read its outputs ({why}); the stacks come first: "
                        f"`partilha up --env {env.name}`")
    data = json.loads(proc.stdout or "{}")
    return data if isinstance(data, dict) else {}
