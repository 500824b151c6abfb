"""The faults setting: a fraction of calls fail as PVE's do, and a failed call changes nothing;
a fraction of tasks end in error or run late."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.instance import LabInstance
from partilha.lab.server.faults import Faults, Injector, save
from partilha.lab.server.store import Store


def test_every_call_fails_at_rate_one_and_nothing_changes(
        faults: Store, admin: ProxmoxAPI, lab: LabInstance, creds: dict[str, Any]) -> None:
    save(faults, Faults(1.0, seed=7))
    for _ in range(6):
        with pytest.raises(ResourceException) as err:
            admin.pools.post(poolid="never")
        assert err.value.status_code == 500
        assert "got timeout" in str(err.value) or "got lock request timeout" in str(err.value)
    # logins are not failed
    ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"], password=creds["password"],
               verify_ssl=str(lab.cert))
    save(faults, Faults())
    assert "never" not in {p["poolid"] for p in admin.pools.get()}


def test_a_fraction_of_calls_fail(faults: Store, admin: ProxmoxAPI) -> None:
    save(faults, Faults(0.3, seed=11))
    failures = 0
    for _ in range(100):
        try:
            admin.version.get()
        except ResourceException:
            failures += 1
    assert 15 <= failures <= 45  # seeded: the same count on every run


def test_task_faults_end_tasks_in_error_or_late_and_calls_still_succeed(
        faults: Store, admin: ProxmoxAPI, wait_task) -> None:
    save(faults, Faults(1.0, seed=3, targets=("tasks",)))
    outcomes = []
    for _ in range(6):
        started = time.monotonic()
        status = wait_task(admin, admin.cluster.sdn.put(), timeout=30)  # the call itself succeeds
        outcomes.append((status["exitstatus"], time.monotonic() - started))
        log = [line["t"] for line in admin.nodes(status["node"]).tasks(status["upid"]).log.get()]
        ending = "TASK OK" if status["exitstatus"] == "OK" else f"TASK ERROR: {status['exitstatus']}"
        assert log[-1] == ending
    errors = [e for e, _ in outcomes if e != "OK"]
    late = [s for e, s in outcomes if e == "OK"]
    assert errors and late  # seeded: both kinds on every run
    assert all(e == "can't lock file '/var/lock/qemu-server/pve-storage-lock' - got timeout" for e in errors)
    assert min(late) >= 1.0


def test_a_create_failed_by_a_task_fault_leaves_no_guest(faults: Store, admin: ProxmoxAPI,
                                                         wait_task, ostemplate: str) -> None:
    save(faults, Faults(1.0, seed=3, targets=("tasks",)))
    ended = {}
    for vmid in range(9050, 9056):  # faulted tasks fail; late ones fail on the missing bridge
        upid = admin.nodes("pve1").lxc.post(vmid=vmid, ostemplate=ostemplate,
                                           net0="name=eth0,bridge=nowhere,ip=10.9.9.9/24")
        ended[vmid] = wait_task(admin, upid, timeout=30)["exitstatus"]
        assert admin.cluster.nextid.get(vmid=vmid) == vmid  # no guest, no `create` lock left
    faulted = [v for v, e in ended.items()
               if e == f"can't lock file '/var/lock/qemu-server/lock-{v}.conf' - got timeout"]
    assert faulted and len(faulted) < len(ended)  # seeded: both kinds on every run


def test_each_target_is_failed_alone(tmp_path: Path) -> None:
    with Store(tmp_path / "state.sqlite") as store:
        injector = Injector(store)
        save(store, Faults(1.0, seed=5, targets=("calls",)))
        assert all(injector.call_fault("100") for _ in range(20))
        assert not any(injector.task_fault("100") for _ in range(20))
        save(store, Faults(1.0, seed=5, targets=("tasks",)))
        assert not any(injector.call_fault("100") for _ in range(20))
        drawn = [injector.task_fault("100") for _ in range(20)]
        assert {f.error for f in drawn if f and f.error} == {
            "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"}
        assert all(1.0 <= f.delay <= 4.0 for f in drawn if f and not f.error)


def test_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        Faults(1.5)
    with pytest.raises(ValueError, match="unknown fault target 'disks'"):
        Faults(0.5, targets=("disks",))  # type: ignore[arg-type]
