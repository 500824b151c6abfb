"""Commands a runbook runs on a node's shell, as operators do where PVE has no API for it
(`pvecm expected`, moving a guest config in /etc/pve): on a PVE node over SSH as root, with the
operator's key and the host key checked against the env's known_hosts (nothing learnt); on the
lab's nodes, which answer the same commands (partilha.lab.cluster.node_shell)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence

from partilha.dr.context import Run
from partilha.dr.runbook import StepError
from partilha.errors import UserError
from partilha.lab import LabInstance, control

SSH_TIMEOUT = 60


def run_on_node(run: Run, node: str, argv: Sequence[str]) -> str:
    """Run `argv` on `node`; what it printed. A failure is a StepError with the node's words."""
    run.log(f"{node}# {shlex.join(argv)}")
    env = run.env
    lab = env.lab_dir(os.environ) if env.lab else None
    if lab is not None:
        try:
            return control.run_on_node(LabInstance.load(lab), node, list(argv))
        except UserError as exc:
            raise StepError(str(exc)) from None
    ssh = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
           "-o", f"UserKnownHostsFile={env.known_hosts(os.environ)}", "-o", "ConnectTimeout=10",
           "-i", str(env.workspace.ssh_key(False)), "-l", "root", node, "--", shlex.join(argv)]
    try:
        done = subprocess.run(ssh, capture_output=True, text=True, timeout=SSH_TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise StepError(f"{node}: {shlex.join(argv)}: no answer within {SSH_TIMEOUT} s") from None
    if done.returncode != 0:
        raise StepError(f"{node}: {(done.stderr or done.stdout).strip() or f'exit {done.returncode}'}")
    return done.stdout
