"""Lab guests: real LXC containers, real sshd, host keys pinned at creation."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from partilha.lab.machine.lxc import containers, known_hosts
from partilha.lab.machine.lxc.commands import MachineError
from partilha.lab.machine.lxc.known_hosts import HostKey
from partilha.lab.machine.lxc.ssh_ready import HostKeyMismatchError, wait_for_ssh

pytestmark = pytest.mark.lab

MakeGuest = Callable[..., containers.GuestSpec]


def test_guest_answers_ssh_as_root_with_its_pinned_host_key(mlab, guest: MakeGuest) -> None:
    spec = guest(201)
    assert containers.is_running(spec.name)
    assert spec.name in subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True).stdout.split()
    pinned = known_hosts.pinned(mlab.known_hosts, str(spec.ip.ip))
    assert {k.type for k in pinned} == {"ssh-ed25519", "ecdsa-sha2-nistp256"}
    result = mlab.ssh(spec, "id", "-un", ";", "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
    assert result.returncode == 0, result.stderr
    user, key_line = result.stdout.splitlines()
    assert user == "root"
    assert HostKey.parse(key_line) in pinned


def test_each_guest_gets_its_own_host_keys_and_machine_id(mlab, guest: MakeGuest) -> None:
    one, two = guest(202, host=21), guest(203, host=22)
    assert not set(containers.guest_host_keys(one)) & set(containers.guest_host_keys(two))
    ids = {mlab.ssh(s, "cat", "/etc/machine-id").stdout.strip() for s in (one, two)}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


def test_a_changed_host_key_is_refused(mlab, guest: MakeGuest, tmp_path: Path) -> None:
    spec = guest(204, host=23)
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    forged = tmp_path / "known_hosts"
    known_hosts.pin(forged, str(spec.ip.ip), [HostKey.parse(other.with_suffix(".pub").read_text())])
    result = subprocess.run(
        mlab.ssh_argv(spec.ip.ip, "true", known_hosts=forged), capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "host key" in result.stderr.lower()
    with pytest.raises(HostKeyMismatchError):
        wait_for_ssh(str(spec.ip.ip), known_hosts.pinned(forged, str(spec.ip.ip)), timeout=10)


def test_hostname_address_route_and_apt_proxy_are_applied(mlab, guest: MakeGuest) -> None:
    spec = guest(205, host=24)
    out = mlab.ssh(
        spec,
        "hostname",
        ";",
        "hostname",
        "-f",
        ";",
        "ip",
        "-4",
        "-br",
        "addr",
        "show",
        "eth0",
        ";",
        "ip",
        "route",
        "show",
        "default",
        ";",
        "cat",
        "/etc/apt/apt.conf.d/01partilha-lab-proxy",
    )
    lines = out.stdout.splitlines()
    assert lines[0] == spec.hostname
    assert lines[1] == spec.hostname
    assert spec.ip.with_prefixlen in lines[2]
    assert lines[3].startswith(f"default via {spec.gateway} dev eth0")
    assert f"http://{spec.gateway}:{mlab.cache.port}/" in lines[4]


def test_systemd_is_init_and_the_guest_is_healthy(mlab, guest: MakeGuest) -> None:
    spec = guest(206, host=25)
    out = mlab.ssh(spec, "systemctl", "is-system-running", "--wait", ";", "systemctl", "is-active", "ssh")
    assert out.stdout.split() == ["running", "active"], out.stdout + out.stderr


def test_memory_and_cpu_limits_reach_the_cgroups(mlab, guest: MakeGuest) -> None:
    spec = guest(207, host=26, memory_mib=192, swap_mib=32, cores=2)
    inside = mlab.ssh(spec, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").stdout.strip()
    assert int(inside) == 192 * 1024 * 1024
    host = Path(f"/sys/fs/cgroup/memory/lxc.payload.{spec.name}")
    assert int((host / "memory.limit_in_bytes").read_text()) == 192 * 1024 * 1024
    assert int((host / "memory.memsw.limit_in_bytes").read_text()) == (192 + 32) * 1024 * 1024
    quota = Path(f"/sys/fs/cgroup/cpu/lxc.payload.{spec.name}/cpu.cfs_quota_us").read_text()
    assert int(quota) == 2 * containers.CFS_PERIOD_US


def test_reconfigure_changes_a_running_guest_live(mlab, guest: MakeGuest) -> None:
    spec = guest(208, host=27)
    old_ip = str(spec.ip.ip)
    new = dataclasses.replace(
        spec, hostname="renamed.lab.test", ip=mlab.vnets["a"].address(28), memory_mib=160, swap_mib=0
    )
    containers.reconfigure(new, mlab.known_hosts)
    assert known_hosts.pinned(mlab.known_hosts, old_ip) == []
    wait_for_ssh(str(new.ip.ip), known_hosts.pinned(mlab.known_hosts, str(new.ip.ip)), timeout=10)
    out = mlab.ssh(
        new,
        "hostname",
        ";",
        "cat",
        "/etc/hostname",
        ";",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    )
    assert out.stdout.split() == ["renamed.lab.test", "renamed.lab.test", str(160 * 1024 * 1024)]
    # the change survives a restart: it was written into the config and the guest's files
    containers.shutdown(new.name, timeout=20)
    assert not containers.is_running(new.name)
    containers.start(new)
    assert mlab.ssh(new, "hostname").stdout.strip() == "renamed.lab.test"


def test_reconfigure_of_a_stopped_guest_moves_it_to_another_vnet(mlab, guest: MakeGuest) -> None:
    spec = guest(209, host=29, start=False)
    moved = dataclasses.replace(
        spec,
        bridge=mlab.vnets["b"].bridge,
        ip=mlab.vnets["b"].address(29),
        gateway=mlab.vnets["b"].gateway.ip,
    )
    containers.reconfigure(moved, mlab.known_hosts)
    containers.start(moved)
    out = mlab.ssh(moved, "ip", "route", "show", "default")
    assert f"via {moved.gateway}" in out.stdout
    assert Path(f"/sys/class/net/{moved.veth}/master").resolve().name == moved.bridge


def test_stop_shutdown_and_state(mlab, guest: MakeGuest) -> None:
    spec = guest(210, host=30)
    containers.stop(spec.name)
    assert containers.state(spec.name) == "STOPPED"
    containers.start(spec)
    containers.shutdown(spec.name, timeout=20)
    assert containers.state(spec.name) == "STOPPED"
    containers.shutdown(spec.name)  # idempotent
    containers.stop(spec.name)


def test_create_refuses_an_existing_guest(mlab, guest: MakeGuest) -> None:
    spec = guest(211, host=31, start=False)
    with pytest.raises(MachineError, match="already exists"):
        containers.create(spec, mlab.template, mlab.known_hosts)


def test_destroy_leaves_nothing(mlab, guest: MakeGuest) -> None:
    spec = guest(212, host=32)
    keys = containers.guest_host_keys(spec)
    containers.destroy(spec.name, mlab.guests_root, mlab.known_hosts)
    assert not containers.exists(spec.name)
    assert spec.name not in subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True).stdout.split()
    assert not spec.dir.exists()
    assert not Path(f"/sys/class/net/{spec.veth}").exists()
    assert str(spec.dir) not in Path("/proc/self/mountinfo").read_text()
    text = mlab.known_hosts.read_text()
    assert not any(k.base64 in text for k in keys)
    containers.destroy(spec.name, mlab.guests_root, mlab.known_hosts)  # idempotent


def test_spec_validation(mlab) -> None:
    with pytest.raises(ValueError, match="gateway"):
        mlab.spec(299, "a", 10, gateway=IPv4Address("192.0.2.1"))
    assert containers.host_veth("pt1a2b-100") != containers.host_veth("pt3c4d-100")
    assert len(containers.host_veth("x" * 64)) <= 15
