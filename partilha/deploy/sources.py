"""The fleet of an environment, from what exists: the inventory, the tenant stacks' outputs and
(in the lab) the node hosts the lab realises; the host keys are the lab's pinned ones there."""

from __future__ import annotations

import json
from pathlib import Path

from partilha.deploy import stack_outputs
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import LAB_ENV, build_hosts
from partilha.deploy.paths import workdir_for
from partilha.errors import UserError
from partilha.inventory import load_inventory
from partilha.lab import LabInstance, control
from partilha.workspace import Workspace


def fleet_for(env: str, inventory_dir: Path | None = None, nodes_file: Path | None = None,
              workspace: Workspace | None = None) -> Fleet:
    workspace = workspace or Workspace.find()
    inventory = load_inventory(inventory_dir or workspace.root / "inventories" / env)
    guests = stack_outputs.guest_outputs(env, inventory, workspace)
    if env == LAB_ENV:
        lab = control.default_instance(workspace.root, None, None)
        nodes = lab_node_addresses(lab) if nodes_file is None else _read_nodes(nodes_file)
        known_hosts = lab.known_hosts
    else:
        nodes = _read_nodes(nodes_file) if nodes_file else {}
        known_hosts = workdir_for(env, workspace) / "known_hosts"
    hosts = build_hosts(inventory, guests, nodes, env)
    return Fleet(env, tuple(hosts), known_hosts, workspace.ssh_key())


def lab_node_addresses(lab: LabInstance) -> dict[str, str]:
    """Node name -> "address/prefix length" of the lab's node hosts (none without them)."""
    if not lab.db.is_file():
        raise UserError(f"no lab in {lab.state_dir} (run `partilha lab up` first)")
    return control.node_interfaces(lab)


def _read_nodes(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a JSON object of node name -> address ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UserError(f"{path}: not a JSON object of node name -> address")
    return data
