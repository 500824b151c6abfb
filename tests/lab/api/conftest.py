"""What several modules' tests of the lab API share (the throwaway lab itself, `lab`, and the
guests' SSH key, `ssh_key`, are tests/lab/conftest.py's): PVE's words and the lab's template
(`modified`, `ostemplate`), `fails` for a refused call, SSH into guests against the host keys
the lab pinned (`guest_ssh`), SDN VNets on free subnets (`make_vnets`),
containers on them (`create_ct`) and the faults setting put back after a test (`faults`).
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.instance import LabInstance
from partilha.lab.server.faults import Faults, save
from partilha.lab.server.store import Store

WaitTask = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def wait_task() -> WaitTask:
    """`wait_task(api, upid, timeout=120)`: poll a task as PVE clients do; its final status."""

    def wait(api: ProxmoxAPI, upid: str, timeout: float = 120.0) -> dict[str, Any]:
        node = upid.split(":")[1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = dict(api.nodes(node).tasks(upid).status.get())
            if status["status"] == "stopped":
                return status
            time.sleep(0.2)
        raise AssertionError(f"task {upid} still running after {timeout:g} s")

    return wait


@pytest.fixture(scope="session")
def ostemplate() -> str:
    """The container template the lab offers, by the volid `pveam` gives it on `local`."""
    return "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture(scope="session")
def modified() -> str:
    """PVE's words for a stale `digest` (PVE::Tools::assert_if_modified)."""
    return "detected modified configuration - file changed by other user? Try again."


@pytest.fixture(scope="session")
def fails() -> Callable[[Callable[[], Any]], ResourceException]:
    """`fails(call)`: the ResourceException the call raises (the test fails if it raises none)."""

    def refused(call: Callable[[], Any]) -> ResourceException:
        with pytest.raises(ResourceException) as err:
            call()
        return err.value

    return refused


@dataclasses.dataclass(frozen=True)
class GuestSSH:
    """SSH as root into a guest with `key`, trusting only the host keys the lab pinned."""

    known_hosts: Path
    key: Path

    def __call__(self, address: str, *command: str, input: str | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = ["ssh", "-F", "/dev/null", "-i", str(self.key), "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
                f"root@{address}", *command]
        return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def opens(self, source: str, target: str, port: int) -> bool:
        """From inside guest `source`: does a TCP connection to `target`:`port` open (2 s at most)?"""
        probe = f"timeout 2 bash -c '</dev/tcp/{target}/{port}' && echo open || echo closed"
        result = self(source, probe)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip() == "open"


@pytest.fixture(scope="module")
def guest_ssh(lab: LabInstance, ssh_key: Path) -> GuestSSH:
    """`guest_ssh(address, *command, input=None, timeout=60)`: the completed ssh; `.opens(source,
    target, port)`: a TCP probe from one guest to another."""
    return GuestSSH(lab.known_hosts, ssh_key)


@pytest.fixture(scope="module")
def make_vnets(admin: ProxmoxAPI, subnet_pool: Callable[[int], list[IPv4Network]],
               wait_task: WaitTask) -> Callable[..., dict[str, IPv4Network]]:
    """`make_vnets(zone, *vnets, type="simple", tags=(), **zone options)`: the zone (ipam pve), each
    VNet (with its tag, if given) on a free /24 with its first address as gateway, applied (the
    apply asserted OK); the VNets' subnets by name."""

    def make(zone: str, *vnets: str, type: str = "simple", tags: tuple[int, ...] = (),
             **options: Any) -> dict[str, IPv4Network]:
        subnets = dict(zip(vnets, subnet_pool(len(vnets)), strict=True))
        admin.cluster.sdn.zones.post(zone=zone, type=type, ipam="pve", **options)
        for i, (vnet, net) in enumerate(subnets.items()):
            admin.cluster.sdn.vnets.post(vnet=vnet, zone=zone, **({"tag": tags[i]} if tags else {}))
            admin.cluster.sdn.vnets(vnet).subnets.post(subnet=str(net), type="subnet",
                                                       gateway=str(net[1]))
        assert wait_task(admin, admin.cluster.sdn.put())["exitstatus"] == "OK"
        return subnets

    return make


@dataclasses.dataclass(frozen=True)
class CT:
    """A guest `create_ct` made: its vmid, eth0's address and the hostname it was given."""

    vmid: int
    ip: str
    hostname: str | None = None


@pytest.fixture(scope="module")
def create_ct(admin: ProxmoxAPI, ssh_key: Path, ostemplate: str) -> Callable[..., tuple[CT, str]]:
    """`create_ct(vmid, vnet, net, host, api=admin, gw=True, firewall=False, **params)`: POST
    /nodes/pve1/lxc of the lab's template with a 4 GiB rootfs on lab-guests, 256 MiB, the SSH key,
    and eth0 on `vnet` at `net[host]` (gateway `net[1]` unless gw=False; `firewall=1` if asked);
    other parameters as given. The guest and the create task's UPID, not waited for."""

    def create(vmid: int, vnet: str, net: IPv4Network, host: int, *, api: ProxmoxAPI | None = None,
               gw: bool = True, firewall: bool = False, **params: Any) -> tuple[CT, str]:
        ct = CT(vmid, str(net[host]), params.get("hostname"))
        net0 = f"name=eth0,bridge={vnet},ip={ct.ip}/{net.prefixlen}"
        net0 += f",gw={net[1]}" if gw else ""
        net0 += ",firewall=1" if firewall else ""
        upid = (api or admin).nodes("pve1").lxc.post(
            vmid=vmid, ostemplate=ostemplate, memory=256, rootfs="lab-guests:4", net0=net0,
            **{"ssh-public-keys": ssh_key.with_suffix(".pub").read_text()}, **params)
        return ct, str(upid)

    return create


@pytest.fixture
def faults(lab: LabInstance) -> Iterator[Store]:
    """The instance's state store, to `save` a faults setting in; no faults again afterwards."""
    store = Store(lab.db)
    try:
        yield store
    finally:
        save(store, Faults())
        store.close()
