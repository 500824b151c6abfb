"""partilha.proxmox's client against the lab with faults on: transient failures of calls and of
tasks are retried until they succeed, and a deadline ends a call that never does."""

from __future__ import annotations

import time

import pytest

from partilha.lab import control
from partilha.lab.instance import LabInstance
from partilha.lab.server.faults import Faults, save
from partilha.lab.server.store import Store
from partilha.proxmox.client import NodeOfflineError, Pve
from partilha.proxmox.endpoint import from_env, lab_env
from partilha.proxmox.retry import Backoff, DeadlineError

pytestmark = pytest.mark.lab


def connect(lab: LabInstance, deadline: float) -> Pve:
    endpoint = from_env(lab_env(lab.credentials, lab.cert))
    return Pve.connect(endpoint, Backoff(first=0.05, longest=0.5, deadline=deadline))


def test_calls_and_tasks_converge_through_faults(lab: LabInstance, faults: Store) -> None:
    pve = connect(lab, deadline=60)
    save(faults, Faults(0.3, seed=21))
    for _ in range(10):
        assert {n["node"] for n in pve.get("/nodes")} >= {"pve1", "pve2"}
    for _ in range(5):
        assert pve.run("PUT", "/cluster/sdn")["exitstatus"] == "OK"
    gets, applies = pve.calls["GET /nodes"], pve.calls["PUT /cluster/sdn"]
    assert gets > 10 and applies > 5  # seeded: some calls and some tasks failed and were retried


def test_a_call_failing_past_its_deadline_says_so(lab: LabInstance, faults: Store) -> None:
    pve = connect(lab, deadline=1.0)
    save(faults, Faults(1.0, seed=1, targets=("calls",)))
    with pytest.raises(DeadlineError, match=r"^GET /nodes: still failing after .*deadline 1 s"):
        pve.get("/nodes")
    assert pve.calls["GET /nodes"] >= 3


def test_a_call_to_a_node_the_cluster_reports_offline_fails_at_once_naming_it(lab: LabInstance) -> None:
    pve = connect(lab, deadline=120)
    control.set_node_online(lab, "pve2", False)
    try:
        started = time.monotonic()
        with pytest.raises(NodeOfflineError, match=r"^GET /nodes/pve2/lxc: node pve2 is offline .*"
                                                   r"`partilha dr run restore-guest"):
            pve.get("/nodes/pve2/lxc")
        assert time.monotonic() - started < 10 and pve.calls["GET /nodes/pve2/lxc"] == 1
        assert pve.get("/nodes/pve1/lxc") == []  # the other nodes answer as before
    finally:
        control.set_node_online(lab, "pve2", True)
