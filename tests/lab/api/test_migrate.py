"""Migrating guests between nodes through PVE's API (`POST .../lxc|qemu/{vmid}/migrate`): PVE's
parameter checks and errors (same node, unknown node, running without restart/online, live CT
migration, locked guest, offline target), the `vzmigrate`/`qmigrate` task, and the guest on the
target node afterwards with its files and SSH host keys unchanged, running again.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab import cluster, guests
from partilha.lab.instance import LabInstance
from partilha.lab.server.store import Store

from .conftest import CT, GuestSSH

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]
Fails = Callable[[Callable[[], Any]], ResourceException]
CTID, VMID = 4301, 4302
MARK = "/root/survives-migration"


@pytest.fixture(scope="module")
def net(make_vnets: Callable[..., dict[str, IPv4Network]]) -> IPv4Network:
    return make_vnets("migz", "vmig")["vmig"]


@pytest.fixture(scope="module")
def ct(create_ct: Callable[..., tuple[CT, str]], admin: ProxmoxAPI, net: IPv4Network,
       wait_task: WaitTask, guest_ssh: GuestSSH) -> CT:
    """A running CT on pve1 with a file written in it."""
    made, upid = create_ct(CTID, "vmig", net, 10, start=1)
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    assert guest_ssh(made.ip, f"echo kept > {MARK}").returncode == 0
    return made


def _host_key(guest_ssh: GuestSSH, ip: str) -> str:
    done = guest_ssh(ip, "cat /etc/ssh/ssh_host_ed25519_key.pub")
    assert done.returncode == 0, done.stderr  # (only with the host key the lab pinned)
    return done.stdout.strip()


def _task_error(admin: ProxmoxAPI, wait_task: WaitTask, upid: str) -> str:
    status = wait_task(admin, upid)
    assert status["type"] in ("vzmigrate", "qmigrate")
    return str(status["exitstatus"])


def test_pve_refuses_what_it_refuses_before_the_task(admin: ProxmoxAPI, ct: CT, fails: Fails) -> None:
    migrate = admin.nodes("pve1").lxc(CTID).migrate
    same = fails(lambda: migrate.post(target="pve1", restart=1))
    assert same.status_code == 400 and "target is local node." in str(same.errors)
    assert "no such cluster node 'pve9'" in str(fails(lambda: migrate.post(target="pve9", restart=1)))
    running = fails(lambda: migrate.post(target="pve2"))
    assert "can't migrate running container without --online or --restart" in str(running)
    elsewhere = fails(lambda: admin.nodes("pve2").lxc(CTID).migrate.post(target="pve3", restart=1))
    assert "Configuration file 'nodes/pve2/lxc/4301.conf' does not exist" in str(elsewhere)


def test_the_task_refuses_live_ct_migration_a_locked_guest_and_an_offline_target(
        admin: ProxmoxAPI, ct: CT, lab: LabInstance, wait_task: WaitTask) -> None:
    migrate = admin.nodes("pve1").lxc(CTID).migrate
    assert _task_error(admin, wait_task, migrate.post(target="pve2", online=1)) == \
        "lxc live migration is currently not implemented"
    with Store(lab.db) as store:
        guests.update(store, CTID, lock="backup")
        try:
            locked = _task_error(admin, wait_task, migrate.post(target="pve2", restart=1))
            assert locked == "CT is locked (backup)"
        finally:
            guests.update(store, CTID, lock=None)
        cluster.set_online(store, "pve3", False)
        try:
            error = _task_error(admin, wait_task, migrate.post(target="pve3", restart=1))
        finally:
            cluster.set_online(store, "pve3", True)
    assert error.startswith("migration aborted") and "pve3" in error
    assert admin.nodes("pve1").lxc(CTID).status.current.get()["status"] == "running"


def test_a_restart_migration_moves_the_ct_with_its_files_and_host_keys(
        admin: ProxmoxAPI, ct: CT, wait_task: WaitTask, guest_ssh: GuestSSH, fails: Fails) -> None:
    key = _host_key(guest_ssh, ct.ip)
    upid = admin.nodes("pve1").lxc(CTID).migrate.post(target="pve2", restart=1)
    assert upid.split(":")[1] == "pve1"  # the task runs on the source node, as PVE's
    assert _task_error(admin, wait_task, upid) == "OK"
    where = {int(r["vmid"]): r["node"] for r in admin.cluster.resources.get(type="vm")}
    assert where[CTID] == "pve2"
    assert admin.nodes("pve2").lxc(CTID).status.current.get()["status"] == "running"
    assert "does not exist" in str(fails(lambda: admin.nodes("pve1").lxc(CTID).config.get()))
    assert guest_ssh(ct.ip, f"cat {MARK}").stdout.strip() == "kept"
    assert _host_key(guest_ssh, ct.ip) == key


def test_a_vm_moves_only_online_when_running(
        admin: ProxmoxAPI, net: IPv4Network, ssh_key: Path, wait_task: WaitTask,
        guest_ssh: GuestSSH, fails: Fails) -> None:
    ip = str(net[30])
    upid = admin.nodes("pve1").qemu.post(
        vmid=VMID, name="vm-mig", memory=256, cores=1, net0="virtio,bridge=vmig",
        scsi0="lab-guests:4", ide2="lab-guests:cloudinit", ipconfig0=f"ip={ip}/24,gw={net[1]}",
        sshkeys=quote(ssh_key.with_suffix(".pub").read_text(), safe=""))
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    assert wait_task(admin, admin.nodes("pve1").qemu(VMID).status.start.post())["exitstatus"] == "OK"
    assert guest_ssh(ip, f"echo kept > {MARK}").returncode == 0
    key = _host_key(guest_ssh, ip)
    migrate = admin.nodes("pve1").qemu(VMID).migrate
    assert "can't migrate running VM without --online" in str(fails(lambda: migrate.post(target="pve2")))
    assert _task_error(admin, wait_task, migrate.post(target="pve2", online=1)) == "OK"
    assert admin.nodes("pve2").qemu(VMID).status.current.get()["status"] == "running"
    assert guest_ssh(ip, f"cat {MARK}").stdout.strip() == "kept"
    assert _host_key(guest_ssh, ip) == key
