"""A whole throwaway lab instance, torn down: nothing of it stays on the machine."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from partilha.lab.machine.lxc import aptcache, containers, known_hosts, network, nftables
from partilha.lab.machine.lxc.known_hosts import HostKey

pytestmark = pytest.mark.lab

# A lab's owner (a test run) that starts its package cache, says the cache's PID, and waits.
OWNER = (
    "import os, sys, time\n"
    "from pathlib import Path\n"
    "from partilha.lab.machine.lxc import aptcache\n"
    "cache = aptcache.AptCache(Path(sys.argv[1]), port=int(sys.argv[2]), cache_dir=Path(sys.argv[3]),\n"
    "                          owner=os.getpid())\n"
    "aptcache.start(cache)\n"
    "print(cache.pid_file.read_text().strip(), flush=True)\n"
    "time.sleep(300)\n"
)


def test_teardown_leaves_no_container_mount_bridge_or_table(mlab, tmp_path: Path, free_subnet) -> None:
    prefix = f"pt{secrets.token_hex(2)}"
    table = f"partilha_{prefix}"
    subnet = free_subnet()
    bridge = network.bridge_name(prefix, "v1")
    kh = tmp_path / "known_hosts"
    spec = containers.GuestSpec(
        name=f"{prefix}-100", vmid=100, hostname="gone", bridge=bridge,
        ip=IPv4Interface(f"{subnet[2]}/30"), gateway=IPv4Address(subnet[1]), guests_root=tmp_path / "guests",
        ssh_public_keys=(mlab.key.with_suffix(".pub").read_text(),),
    )  # fmt: skip
    try:
        network.ensure_zone(network.bridge_name(prefix, "z"))
        network.ensure_vnet(bridge, gateway=IPv4Interface(f"{subnet[1]}/30"), zone=f"{prefix}z", tag=5)
        nftables.apply(
            nftables.LabFirewall(table, (nftables.VNetNet(bridge, IPv4Interface(f"{subnet[1]}/30")),))
        )
        containers.create(spec, mlab.template, kh)
        containers.start(spec)
        assert containers.list_guests(f"{prefix}-") == [spec.name]
    finally:
        for name in containers.list_guests(f"{prefix}-"):
            containers.destroy(name, tmp_path / "guests", kh)
        network.remove_all(prefix)
        nftables.remove(table)
    assert spec.name not in subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True).stdout.split()
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    assert prefix not in links and spec.veth not in links
    assert table not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()
    assert not (tmp_path / "guests" / spec.name).exists()
    assert kh.read_text() == ""


def test_known_hosts_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"

    def pin(i: int) -> None:
        known_hosts.pin(path, f"10.0.0.{i}", [HostKey("ssh-ed25519", f"KEY{i}")])

    threads = [threading.Thread(target=pin, args=(i,)) for i in range(1, 41)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    lines = path.read_text().splitlines()
    assert sorted(lines) == sorted(f"10.0.0.{i} ssh-ed25519 KEY{i}" for i in range(1, 41))
    known_hosts.unpin(path, [HostKey("ssh-ed25519", "KEY7")])
    assert known_hosts.pinned(path, "10.0.0.7") == []
    assert len(path.read_text().splitlines()) == 39


def test_a_routed_namespace_goes_with_its_link(mlab, free_subnet) -> None:
    """The outside's kind of namespace: its host end carries the gateway, the host routes it."""
    prefix = f"pt{secrets.token_hex(2)}"
    namespace, subnet = f"{prefix}outside", free_subnet()
    host_end = network.namespace_link(namespace)
    gateway, citizen = IPv4Interface(f"{subnet[1]}/30"), IPv4Interface(f"{subnet[2]}/30")
    try:
        network.ensure_namespace(namespace, citizen, gateway)
        network.ensure_namespace(namespace, citizen, gateway)  # idempotent
        inside = subprocess.run(["ip", "-n", namespace, "-4", "route"], capture_output=True, text=True,
                                check=True).stdout
        assert f"default via {gateway.ip} dev {network.NAMESPACE_NIC}" in inside
        assert network.namespaces(prefix) == [namespace]
        assert gateway.with_prefixlen in subprocess.run(["ip", "-br", "addr", "show", "dev", host_end],
                                                        capture_output=True, text=True).stdout
    finally:
        network.remove_namespace(namespace)
    assert network.namespaces(prefix) == []
    assert host_end not in subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    network.remove_namespace(namespace)  # idempotent


def _gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.alone  # any cache started or stopped on the machine ends the orphan before its time
def test_a_killed_owners_package_cache_ends_at_the_next_start(tmp_path: Path) -> None:
    """apt-cacher-ng makes itself a daemon (its own session, init its parent): SIGKILL of the
    test run that owns it cannot reach it, and the run's reset never comes. The next cache started
    on the machine finds it by its owner's label and ends it."""
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path / "killed"),
                              str(aptcache.free_port()), str(tmp_path / "packages")],
                             stdout=subprocess.PIPE, text=True)
    orphan = 0
    try:
        assert owner.stdout is not None
        orphan = int(owner.stdout.readline())
        assert os.getsid(orphan) != os.getsid(owner.pid)  # out of its owner's session and group
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
        assert not _gone(orphan, seconds=1)  # outlives its owner
        nxt = aptcache.AptCache(tmp_path / "next", port=aptcache.free_port(),
                                cache_dir=tmp_path / "packages2")
        aptcache.start(nxt)
        aptcache.stop(nxt)
        assert _gone(orphan)
    finally:
        owner.kill()
        owner.wait(timeout=30)
        if orphan and not _gone(orphan, seconds=0):
            os.kill(orphan, signal.SIGKILL)


def test_a_cache_whose_pid_file_is_lost_is_still_stopped(tmp_path: Path) -> None:
    """Found by its configuration folder on its command line, not by the PID file alone."""
    cache = aptcache.AptCache(tmp_path, port=aptcache.free_port(), cache_dir=tmp_path / "packages")
    aptcache.start(cache)
    pid = int(cache.pid_file.read_text())
    try:
        cache.pid_file.unlink()
        aptcache.stop(cache)
        assert _gone(pid)
    finally:
        if not _gone(pid, seconds=0):
            os.kill(pid, signal.SIGKILL)
