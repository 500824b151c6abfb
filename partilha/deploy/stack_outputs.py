"""The one reader of an env's stack outputs (the pinned Pulumi CLI, `pulumi stack output`): above
all the `guests` of its tenant stacks (`<env>-shared`, `<env>-<slug>`): guest name -> {"vmid",
"node", "address", "vnet", ...}."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from partilha.automation.envs import Env
from partilha.errors import UserError

TIMEOUT = 120


def guest_outputs(env: Env) -> dict[str, Any]:
    """Every tenant stack's guests, merged; a missing stack or output is an error naming it."""
    stacks = [s.name for s in env.stacks if s.role != "platform"]
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda s: stack_guests(env, s), stacks))
    return {name: guest for guests in found for name, guest in guests.items()}


def stack_guests(env: Env, stack: str) -> dict[str, Any]:
    """One tenant stack's `guests` output: guest name -> {"vmid", "node", "address", ...}."""
    guests = outputs(env, stack).get("guests")
    if not isinstance(guests, dict):
        raise UserError(f"stack {stack}: no `guests` output (run `partilha up --env {env.name}` first)")
    return guests


def outputs(env: Env, stack: str) -> dict[str, Any]:
    """A stack's outputs, read with the pinned Pulumi CLI (secrets stay hidden)."""
    workspace = env.workspace
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
