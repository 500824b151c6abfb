"""The fleet of an environment, from what exists: the env's inventory, its tenant stacks' outputs
and (in a lab env) the node hosts the lab realises; the host keys are the lab's pinned ones there."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from partilha.automation.envs import Env
from partilha.deploy import stack_outputs
from partilha.deploy.certificates import certificate_for
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host, build_hosts
from partilha.errors import UserError
from partilha.lab import LabInstance, control


def fleet_for(env: Env, nodes_file: Path | None = None) -> Fleet:
    """The env's hosts: its nodes (from `nodes_file`, else in a lab env the lab's node hosts) and
    the guests its tenant stacks made; host keys pinned where the env keeps them."""
    guests = stack_outputs.guest_outputs(env)
    lab = env.lab_dir(os.environ) if env.lab else None
    if nodes_file is not None:
        nodes = _read_nodes(nodes_file)
    elif lab is not None:
        nodes = lab_node_addresses(LabInstance.load(lab))
    else:
        nodes = {}
    hosts = build_hosts(env.inventory, guests, nodes, env.name, lab=env.lab)
    folder = env.workspace.private / "frontdoor" / env.name
    hosts = [with_certificate(h, folder) for h in hosts]
    return Fleet(env.name, tuple(hosts), env.known_hosts(os.environ), env.workspace.ssh_key(env.lab))


def with_certificate(host: Host, folder: Path) -> Host:
    """A front door with its certificate in `folder` (partilha.deploy.certificates); other hosts
    as they are."""
    if not host.backends:
        return host
    bundle = certificate_for(folder, [b.site for b in host.backends], lab=host.lab)
    return replace(host, certificate=str(bundle))


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
