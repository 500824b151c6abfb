"""Reliability: with 10 % of the lab's API calls and tasks failing as PVE's do, `partilha up --env
lab` converges (one re-run allowed) to the whole inventory, and leaves no orphan guest: every guest
the lab has belongs to some stack's state."""

from __future__ import annotations

import pytest
from proxmoxer import ProxmoxAPI

from partilha.inventory import guests

from .conftest import Cli, lab_vmids

pytestmark = pytest.mark.lab


def test_up_converges_under_faults_and_leaves_no_orphan_guest(cli: Cli, admin_token: ProxmoxAPI) -> None:
    cli.faults(0.1, seed=4)
    runs = [cli("up", "--env", "lab")]
    if runs[0].returncode != 0:
        runs.append(cli("up", "--env", "lab"))
    cli.faults(0.0)
    assert runs[-1].returncode == 0, "\n\n".join(r.stderr + r.stdout[-2000:] for r in runs)
    assert lab_vmids(admin_token) == cli.state_vmids() == {g.vmid for g in guests(cli.inventory)}
    # converged: with the faults off, nothing is left to do
    assert "— 0 changes" in cli("preview", "--env", "lab").stdout
