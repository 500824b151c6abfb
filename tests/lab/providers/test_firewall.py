"""SecurityGroup and GuestFirewall on the real engine and lab, enforcement proven over the network:
a guest with its firewall on (policy_in DROP) takes SSH and the ports its security group opens
from another guest of its VNet, and nothing else; the group's ports changed in place move the
opening; a rule deleted by hand shows as drift and comes back in its place; the guest made again
(same vmid) gets its firewall again in the same up.

(The lab filters what guests send each other; the host's own traffic to them is its management
path and is not filtered, as pve-firewall leaves a node's own access open.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pulumi
import pytest
from proxmoxer import ProxmoxAPI

from partilha.proxmox.resources.firewall import GuestFirewall, SecurityGroup
from partilha.proxmox.resources.guest import Guest

from ..api import conftest as api
from .conftest import LabStack

pytestmark = pytest.mark.lab
guest_ssh, make_vnets, wait_task, ostemplate = (  # ssh_key: tests/lab/conftest.py's
    api.guest_ssh, api.make_vnets, api.wait_task, api.ostemplate)
SSH = {"type": "in", "action": "ACCEPT", "macro": "SSH", "enable": 1}
WEB = 9500


@pytest.fixture(scope="module")
def net(admin: ProxmoxAPI, make_vnets: Callable[..., dict[str, IPv4Network]]) -> Iterator[IPv4Network]:
    """A VNet, and the datacenter firewall on (without it PVE enforces no guest firewall)."""
    subnet = make_vnets("tfz", "vfw")["vfw"]
    admin.cluster.firewall.options.put(enable=1)
    try:
        yield subnet
    finally:
        admin.cluster.firewall.options.put(enable=0)


def port(number: int) -> dict[str, Any]:
    return {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": str(number), "enable": 1}


@pytest.fixture(scope="module")
def program(net: IPv4Network, ssh_key: Path, ostemplate: str) -> Callable[..., Callable[[], None]]:
    """`program(group_rules, web_template)`: web (vmid 9500, firewalled: SSH and the group `tweb`)
    and probe, on the VNet."""

    def declare(group_rules: list[dict[str, Any]], web_template: str = ostemplate) -> Callable[[], None]:
        def run() -> None:
            made = {}
            for name, host, vmid, template, firewall in (("web", 10, WEB, web_template, True),
                                                         ("probe", 11, None, ostemplate, False)):
                made[name] = Guest(
                    name, node="pve1", kind="lxc", hostname=name, template=template, vmid=vmid, cores=1,
                    memory=192, swap=0, disk_gib=4, storage="lab-guests", bridge="vfw",
                    ip=f"{net[host]}/{net.prefixlen}", gateway=str(net[1]), firewall=firewall,
                    ssh_public_keys=ssh_key.with_suffix(".pub").read_text(), tags=["fw"])
                pulumi.export(name, made[name].address)
            group = SecurityGroup("grp", group="tweb", comment="Portal", rules=group_rules)
            GuestFirewall("fw", node="pve1", vmid=made["web"].vmid, kind="lxc", rules=[
                SSH, {"type": "group", "action": group.group, "enable": 1}])
        return run

    return declare


def listen(guest_ssh: Any, address: str, *ports: int) -> None:
    for number in ports:
        started = guest_ssh(address, "systemd-run", f"--unit=listen{number}", "python3", "-m",
                            "http.server", str(number))
        assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 20
    while len(guest_ssh(address, "ss", "-ltnH").stdout.splitlines()) < len(ports) + 1:  # + sshd
        assert time.monotonic() < deadline, f"no listeners on {address}"
        time.sleep(0.2)


def test_group_and_guest_firewall(stack: LabStack, admin_token: ProxmoxAPI, guest_ssh: Any,
                                  program: Callable[..., Callable[[], None]], ostemplate: str) -> None:
    assert stack.up(program([port(8080)])) == {"create": 4}
    web, probe = stack.outputs()["web"], stack.outputs()["probe"]
    rules = f"/nodes/pve1/lxc/{WEB}/firewall/rules"
    fw_writes = [w for w in stack.writes() if "firewall" in w]
    assert fw_writes == ["POST /cluster/firewall/groups", "POST /cluster/firewall/groups/tweb",
                         f"POST {rules}", f"POST {rules}", f"PUT /nodes/pve1/lxc/{WEB}/firewall/options"]
    listen(guest_ssh, web, 8080, 8081)
    assert guest_ssh.opens(probe, web, 22) and guest_ssh.opens(probe, web, 8080)
    assert not guest_ssh.opens(probe, web, 8081)  # default deny: only the declared ports
    assert guest_ssh.opens(web, probe, 22)  # policy_out ACCEPT

    assert stack.up() == {"same": 4}
    assert stack.writes() == []

    # the group's port moved: its one rule rewritten in place, enforced at once
    assert stack.up(program([port(8081)])) == {"same": 3, "update": 1}
    assert stack.writes() == ["PUT /cluster/firewall/groups/tweb/0"]
    assert guest_ssh.opens(probe, web, 8081) and not guest_ssh.opens(probe, web, 8080)

    # drift: the SSH rule deleted by hand; the next up puts it back on top, the group after it
    fw = admin_token.nodes("pve1").lxc(WEB).firewall
    fw.rules(0).delete()
    assert not guest_ssh.opens(probe, web, 22)
    assert stack.refresh() == {"fw": ["rules"]}
    assert stack.up() == {"same": 3, "update": 1}
    assert stack.writes() == [f"PUT {rules}/0", f"POST {rules}", f"PUT {rules}/0"]
    assert [(r["type"], r["action"], r.get("macro")) for r in fw.rules.get()] == [
        ("in", "ACCEPT", "SSH"), ("group", "tweb", None)]
    assert guest_ssh.opens(probe, web, 22) and guest_ssh.opens(probe, web, 8081)

    # web made again with the same vmid (another template): destroying it purged its firewall,
    # so the engine replaces the firewall along with it (its vmid is unknown until the new guest
    # exists, and a vmid change replaces a GuestFirewall) and the new guest is filtered as before
    assert stack.up(program([port(8081)], ostemplate.replace("12.7-1", "12.7-2"))) == {
        "same": 2, "replace": 2}
    listen(guest_ssh, web, 8080, 8081)
    # the new guest has a new MAC: the probe's ARP entry for the address is stale (as on any LAN)
    assert guest_ssh(probe, "ip", "neigh", "flush", "dev", "eth0").returncode == 0
    assert guest_ssh.opens(probe, web, 8081) and not guest_ssh.opens(probe, web, 8080)

    stack.destroy()
    assert "tweb" not in {g["group"] for g in admin_token.cluster.firewall.groups.get()}
    assert admin_token.cluster.resources.get(type="vm") == []
