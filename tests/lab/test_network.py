"""SDN VNets as bridges, isolated by the lab's one nftables table."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from partilha.lab.machine.lxc import containers, network, nftables

pytestmark = pytest.mark.lab

MakeGuest = Callable[..., containers.GuestSpec]


def _counter(table: str, comment: str) -> int:
    text = subprocess.run(["nft", "list", "table", "inet", table], capture_output=True, text=True).stdout
    for line in text.splitlines():
        if f'comment "{comment}"' in line:
            match = re.search(r"counter packets (\d+)", line)
            assert match, line
            return int(match.group(1))
    raise AssertionError(f"no rule with comment {comment!r} in {table}")


def test_same_vnet_reaches_other_vnet_does_not_until_allowed(mlab, guest: MakeGuest) -> None:
    server = guest(301, "b", 40)
    neighbour = guest(302, "b", 41)
    stranger = guest(303, "a", 42)
    mlab.listen(server, 7000)
    assert mlab.connect(neighbour, server.ip.ip, 7000) == "open hello"
    assert mlab.connect(stranger, server.ip.ip, 7000).startswith("closed")
    mlab.allow.append(
        nftables.Rule(
            dst=(IPv4Network(f"{server.ip.ip}/32"),),
            src=(stranger.ip.network,),
            proto="tcp",
            dport=(7000,),
            comment="a to b web",
        )
    )
    mlab.apply_firewall()
    assert mlab.connect(stranger, server.ip.ip, 7000) == "open hello"
    # the rule is for that port only
    mlab.listen(server, 7001)
    assert mlab.connect(stranger, server.ip.ip, 7001).startswith("closed")
    assert mlab.connect(neighbour, server.ip.ip, 7001) == "open hello"


def test_guest_inbound_rules_apply_within_and_across_vnets(mlab, guest: MakeGuest) -> None:
    server = guest(304, "a", 43)
    neighbour = guest(305, "a", 44)
    mlab.listen(server, 7002)
    mlab.listen(server, 7003)
    mlab.guest_rules[304] = nftables.GuestFilter(
        304, server.ip.ip, "DROP",
        (nftables.Rule(proto="tcp", dport=(22,)), nftables.Rule(proto="tcp", dport=(7002,))),
    )
    mlab.apply_firewall()
    assert mlab.connect(neighbour, server.ip.ip, 7002) == "open hello"
    assert nftables.bridged_traffic_filtered(mlab.vnets["a"].bridge), "same-VNet filtering unavailable"
    assert mlab.connect(neighbour, server.ip.ip, 7003).startswith("closed")
    assert mlab.ssh(server, "true").returncode == 0  # management path from the host
    # policy_in of one guest does not restrict the others
    assert mlab.connect(server, neighbour.ip.ip, 22).startswith("open")


def test_guest_reaches_the_host_only_at_its_gateway_cache(mlab, guest: MakeGuest) -> None:
    spec = guest(306, "a", 45)
    own_gw, other_gw = mlab.vnets["a"].gateway.ip, mlab.vnets["b"].gateway.ip
    with _host_listener(own_gw) as port:
        assert _host_connect(own_gw, port)  # the port is really open on the host
        assert mlab.connect(spec, own_gw, port).startswith("closed")
    assert mlab.connect(spec, own_gw, mlab.cache.port).startswith("open")
    assert mlab.connect(spec, other_gw, mlab.cache.port).startswith("closed")
    ping = mlab.ssh(spec, "ping", "-c", "1", "-W", "2", str(own_gw))
    assert ping.returncode == 0, ping.stdout + ping.stderr


@contextmanager
def _host_listener(address: IPv4Address) -> Iterator[int]:
    """A TCP listener of the host (this test's own process) on one of its addresses."""
    with socket.socket() as sock:
        sock.bind((str(address), 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def _host_connect(address: IPv4Address, port: int) -> bool:
    try:
        socket.create_connection((str(address), port), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def outside_host(mlab, free_subnet: Callable[[], IPv4Network]) -> Iterator[tuple[IPv4Address, int]]:
    """A host beyond the lab: a netns behind a veth of the host that is NOT a lab bridge.

    Its address is on a subnet no route of the machine used; nothing is sent anywhere else.
    """
    subnet = free_subnet()
    host_end, ns_end, ns = f"{mlab.prefix}o0", f"{mlab.prefix}o1", f"{mlab.prefix}out"
    host_ip, ns_ip = IPv4Interface(f"{subnet[1]}/30"), IPv4Interface(f"{subnet[2]}/30")
    port = 7100
    listener: subprocess.Popen[bytes] | None = None
    try:
        for argv in (
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end],
            ["ip", "link", "set", ns_end, "netns", ns],
            ["ip", "addr", "add", host_ip.with_prefixlen, "dev", host_end],
            ["ip", "link", "set", host_end, "up"],
            ["ip", "-n", ns, "addr", "add", ns_ip.with_prefixlen, "dev", ns_end],
            ["ip", "-n", ns, "link", "set", ns_end, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
        ):
            subprocess.run(argv, check=True, capture_output=True)
        code = (
            f"import socket\ns=socket.socket();s.bind(('{ns_ip.ip}',{port}));s.listen(8)\n"
            "for _ in range(100):\n c,_a=s.accept();c.sendall(b'hello');c.close()\n"
        )
        listener = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _host_connect(ns_ip.ip, port):
            time.sleep(0.1)
        yield ns_ip.ip, port
    finally:
        if listener is not None:
            listener.kill()
            listener.wait(timeout=10)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def test_nothing_leaves_the_machine(mlab, guest: MakeGuest, outside_host: tuple[IPv4Address, int]) -> None:
    spec = guest(307, "a", 46)
    address, port = outside_host
    # the guest's only route is the lab gateway
    route = mlab.ssh(spec, "ip", "-4", "route", "get", "192.0.2.10")
    assert f"via {spec.gateway} dev eth0" in route.stdout
    ruleset = subprocess.run(
        ["nft", "list", "table", "inet", mlab.table], capture_output=True, text=True
    ).stdout
    assert "oifname != @lab_ifs counter packets" in ruleset
    # a real listener outside the lab: reachable from the host, not from the guest
    assert _host_connect(address, port)
    before = _counter(mlab.table, "off the machine")
    assert mlab.connect(spec, address, port).startswith("closed")
    assert _counter(mlab.table, "off the machine") > before


def test_other_tables_are_never_touched(mlab) -> None:
    other = f"{mlab.prefix}_other"
    subprocess.run(["nft", "add", "table", "inet", other], check=True)
    try:
        mlab.apply_firewall()
        nftables.apply(mlab.firewall())
        assert nftables.exists(other)
        assert nftables.list_tables(mlab.prefix) == [other]
        assert nftables.exists(mlab.table)
    finally:
        subprocess.run(["nft", "delete", "table", "inet", other], check=True)


def test_ensure_is_idempotent_and_names_are_checked(mlab) -> None:
    vnet = mlab.vnets["a"]
    before = subprocess.run(
        ["ip", "-br", "addr", "show", "dev", vnet.bridge], capture_output=True, text=True
    ).stdout
    network.ensure_vnet(vnet.bridge, gateway=vnet.gateway, zone=mlab.zone, tag=11)
    after = subprocess.run(
        ["ip", "-br", "addr", "show", "dev", vnet.bridge], capture_output=True, text=True
    ).stdout
    assert before == after
    assert set(network.list_bridges(mlab.prefix)) == {mlab.zone, *(v.bridge for v in mlab.vnets.values())}
    assert Path(f"/proc/sys/net/ipv4/conf/{vnet.bridge}/forwarding").read_text().strip() == "1"
    with pytest.raises(ValueError, match="15"):
        network.bridge_name(mlab.prefix, "a-much-too-long-vnet")


def test_vlan_zone_trunk_when_the_kernel_can(mlab) -> None:
    vnet = mlab.vnets["a"]
    vnet_end, zone_end = network.trunk_names(vnet.bridge)
    if network.vlan_filtering_supported(mlab.zone):
        assert network.bridge_of(vnet_end) == vnet.bridge
        assert network.bridge_of(zone_end) == mlab.zone
        vlans = subprocess.run(
            ["bridge", "vlan", "show", "dev", zone_end], capture_output=True, text=True
        ).stdout
        assert "11 PVID" in vlans
    else:
        # no VLAN filtering in this kernel: VNets stay separate segments, never a flat trunk
        assert not network.exists(vnet_end)
        assert not network.exists(zone_end)


def test_temporary_vnet_is_removed_cleanly(mlab, free_subnet: Callable[[], IPv4Network]) -> None:
    name = network.bridge_name(mlab.prefix, "vt")
    subnet = free_subnet()
    try:
        network.ensure_vnet(name, gateway=IPv4Interface(f"{subnet[1]}/30"), zone=mlab.zone, tag=99)
        assert name in network.list_bridges(mlab.prefix)
    finally:
        network.remove_vnet(name)
    assert name not in network.list_bridges(mlab.prefix)
    assert not any(network.exists(end) for end in network.trunk_names(name))


def test_a_probe_point_stands_on_a_vnet_like_a_host_of_it_and_goes(mlab, guest: MakeGuest) -> None:
    """A namespace on VNet a reaches a guest of VNet b only as the allow list says, routed through
    a's gateway like a's guests; removing it leaves no namespace nor link of it."""
    server = guest(311, "b", 50)
    mlab.listen(server, 7000)
    name, vnet = f"{mlab.prefix}pp", mlab.vnets["a"]
    network.ensure_namespace(name, vnet.address(60), vnet.gateway, vnet.bridge)
    try:
        program = (f"import socket\ntry:\n socket.create_connection(('{server.ip.ip}', 7000), timeout=2)\n"
                   " print('open')\nexcept OSError:\n print('closed')")

        def connect() -> str:
            return subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", program],
                                  capture_output=True, text=True, timeout=30).stdout.strip()

        assert connect() == "closed"  # across VNets: dropped until a rule allows it
        mlab.allow.append(nftables.Rule(src=(vnet.subnet,), proto="tcp", dport=(7000,), comment="pp"))
        mlab.apply_firewall()
        assert connect() == "open"
    finally:
        mlab.allow.clear()
        mlab.apply_firewall()
        network.remove_namespace(name)
    assert network.namespaces(mlab.prefix) == [] and not network.exists(network.namespace_link(name))
