"""The inventory's PVE nodes as real hosts (`LabInstance.node_key`): a container per node with the
node's name, reached over SSH with pinned host keys and the operator's key, on a node network the
lab's firewall keeps apart from the VNets; node-down/up, lab down/up and reset take them along.

This module's `lab` (overriding the conftest's) is an instance with node hosts.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from partilha.errors import UserError
from partilha.lab import control, throwaway
from partilha.lab.instance import LabInstance
from partilha.lab.machine.lxc import containers

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[3]
NODES = ["pve1", "pve2", "pve3", "pve-dr1"]  # inventories/lab, in order


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, ssh_key: Path) -> Iterator[LabInstance]:
    with throwaway(tmp_path_factory.mktemp("lab"), ROOT / "inventories" / "lab", "t",
                   node_key=ssh_key.with_suffix(".pub")) as (instance, _):
        yield instance


@pytest.fixture(scope="module")
def hosts(lab: LabInstance) -> dict[str, str]:
    return control.node_addresses(lab)


def lab_containers(lab: LabInstance) -> list[str]:
    names = subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True, check=True).stdout.split()
    return [n for n in names if n.startswith(lab.prefix)]


def lab_links(lab: LabInstance) -> str:
    return subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout


def gateway(address: str) -> str:
    return str(IPv4Interface(f"{address}/24").network[1])


def test_every_node_is_a_host_named_like_it_reached_with_the_operators_key(
        lab: LabInstance, hosts: dict[str, str], guest_ssh: Any) -> None:
    assert list(hosts) == NODES
    assert len({IPv4Interface(f"{a}/24").network for a in hosts.values()}) == 1
    assert sorted(lab_containers(lab)) == sorted(f"{lab.prefix}node-{n}" for n in NODES)
    assert control.status(lab)["node_hosts"] == hosts
    assert LabInstance.load(lab.state_dir) == lab  # `lab up` saved the setting
    pinned = lab.known_hosts.read_text()
    for node, address in hosts.items():
        assert f"{address} ssh-ed25519 " in pinned
        result = guest_ssh(address, "hostname")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == node


def test_an_unpinned_node_host_is_refused(hosts: dict[str, str], guest_ssh: Any, tmp_path: Path) -> None:
    (tmp_path / "known_hosts").write_text("")
    stranger = type(guest_ssh)(tmp_path / "known_hosts", guest_ssh.key)
    result = stranger(hosts["pve1"], "true")
    assert result.returncode == 255 and "Host key verification failed" in result.stderr


@pytest.fixture
def host_listener(hosts: dict[str, str]) -> Iterator[tuple[str, int]]:
    """A TCP listener of the host at the node network's gateway (not a port the lab opens)."""
    server = socket.create_server((gateway(hosts["pve1"]), 0))
    server.settimeout(10)

    def serve() -> None:
        for _ in range(10):
            try:
                server.accept()[0].close()
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()
    finally:
        server.close()
        thread.join(timeout=15)


def test_nodes_reach_each_other_and_the_package_cache_but_nothing_else_of_the_host(
        lab: LabInstance, hosts: dict[str, str], guest_ssh: Any, host_listener: tuple[str, int]) -> None:
    pve1, pve2 = hosts["pve1"], hosts["pve2"]
    assert guest_ssh.opens(pve1, pve2, 22)
    assert guest_ssh.opens(pve1, gateway(pve1), lab.cache_port)
    address, port = host_listener
    socket.create_connection((address, port), timeout=3).close()  # it does listen
    assert not guest_ssh.opens(pve1, address, port)


def test_nothing_is_routed_between_nodes_and_guests_whatever_the_forward_rules(
        admin: ProxmoxAPI, hosts: dict[str, str], guest_ssh: Any,
        make_vnets: Callable[..., Any], create_ct: Callable[..., Any], wait_task: Any) -> None:
    net = make_vnets("ndz", "vnd")["vnd"]
    ct, upid = create_ct(9501, "vnd", net, 10, start=1, hostname="ct9501.lab.test", swap=64)
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    rules = admin.cluster.firewall.rules
    rules.post(type="forward", action="ACCEPT", proto="tcp", dport="22", enable=1, comment="any ssh")
    admin.cluster.firewall.options.put(enable=1)
    try:
        assert not guest_ssh.opens(ct.ip, hosts["pve1"], 22)
        assert not guest_ssh.opens(hosts["pve1"], ct.ip, 22)
    finally:
        admin.cluster.firewall.options.put(enable=0)
        rules(0).delete()


def test_node_down_powers_its_host_off_and_node_up_boots_it(
        lab: LabInstance, hosts: dict[str, str], guest_ssh: Any) -> None:
    assert control.set_node_online(lab, "pve2", False) == []
    try:
        assert containers.state(f"{lab.prefix}node-pve2") == "STOPPED"
        assert guest_ssh(hosts["pve2"], "true", timeout=15).returncode == 255
        assert guest_ssh(hosts["pve1"], "true").returncode == 0  # the others stay up
    finally:
        assert control.set_node_online(lab, "pve2", True) == []
    assert guest_ssh(hosts["pve2"], "hostname").stdout.strip() == "pve2"


def test_lab_down_stops_the_node_hosts_and_up_brings_them_back_as_they_were(
        lab: LabInstance, hosts: dict[str, str], guest_ssh: Any) -> None:
    assert guest_ssh(hosts["pve1"], "echo kept > /root/marker").returncode == 0
    control.down(lab)
    assert not any(containers.is_running(n) for n in lab_containers(lab))
    assert f"{lab.prefix}node-br" not in lab_links(lab)
    # Another interface took the node network while the lab was down: `lab up` says so.
    squatter = f"sq{secrets.token_hex(3)}"  # as another lab's bridge would (not this lab's prefix)
    subprocess.run(["ip", "link", "add", squatter, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{gateway(hosts['pve1'])}/24", "dev", squatter], check=True)
        with pytest.raises(UserError, match=f"node network .* is in use on {squatter}"):
            control.up(lab)
    finally:
        subprocess.run(["ip", "link", "del", squatter], check=True)
    control.up(lab)
    assert control.node_addresses(lab) == hosts
    for address in hosts.values():
        assert guest_ssh(address, "true").returncode == 0
    assert guest_ssh(hosts["pve1"], "cat /root/marker").stdout == "kept\n"


def test_lab_reset_leaves_no_node_host_bridge_or_table(lab: LabInstance) -> None:
    control.reset(lab)
    assert lab_containers(lab) == []
    assert lab.prefix not in lab_links(lab)
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert lab.nft_table not in tables
    assert not lab.state_dir.exists()
    assert not any(p.name.startswith(f"{lab.prefix}node-") for p in containers.LXC_PATH.iterdir())
