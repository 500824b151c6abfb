"""Guest on the real engine and lab: an LXC container's whole life (create, SSH with the pinned
host key, a no-op second up, update in place, drift, replace, delete), a QEMU VM cloned from a
template VM, and vmids from /cluster/nextid when several guests race for them. First, without
the lab: the forms real PVE answers in read back as the inputs, and what the provider writes
reads back as declared."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pulumi
import pytest
from proxmoxer import ProxmoxAPI
from pulumi import automation as auto

from partilha.automation import engine
from partilha.lab.instance import LabInstance
from partilha.proxmox.resources import guest_params
from partilha.proxmox.resources.firewall import GuestFirewall
from partilha.proxmox.resources.guest import Guest

from ..api import conftest as api
from .conftest import LabStack

# the API tests' fixtures: SSH into guests against the lab's known_hosts, VNets, task waits
guest_ssh, make_vnets, wait_task, ostemplate = (
    api.guest_ssh, api.make_vnets, api.wait_task, api.ostemplate)
TEMPLATE_VM = 9900


KEYS = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDYdpMGydgr3xZDvH0ctxTWvqkeM6CSg7qBQP6wRNyhB op@cim"
PVE_CONFIGS = {  # GET .../config as PVE 8 answers it for a guest made elsewhere
    "lxc": {"hostname": "portal", "cores": 2, "memory": 1024, "swap": 512, "onboot": 1,
            "net0": "name=eth0,bridge=v101,firewall=1,gw=10.101.0.1,hwaddr=BC:24:11:5E:7A:01,"
                    "ip=10.101.0.11/24,type=veth",
            "rootfs": "local-lvm:vm-10101-disk-0,size=8G", "tags": "portal;abrantes",
            "description": "Portal do munícipe\n", "digest": "0" * 40},
    "qemu": {"name": "portal", "cores": 1, "sockets": 2, "memory": "1024", "onboot": 1,
             "net0": "virtio=BC:24:11:5E:7A:02,bridge=v101,firewall=1",
             "ipconfig0": "ip=10.101.0.11/24,gw=10.101.0.1", "boot": "order=scsi0;ide2;net0",
             "ide2": "local-lvm:vm-10101-cloudinit,media=cdrom",
             "scsi0": "local-lvm:vm-10101-disk-0,iothread=1,size=8G", "sshkeys": quote(KEYS + "\n", safe=""),
             "tags": "abrantes;portal", "description": "Portal do munícipe\n", "digest": "0" * 40},
}


def declared(kind: str, **changes: Any) -> dict[str, Any]:
    return guest_params.normalise({
        "node": "pve1", "kind": kind, "hostname": "portal", "template": "9000", "cores": 2.0,
        "memory": 1024.0, "swap": 512 if kind == "lxc" else 0, "disk_gib": 8, "storage": "local-lvm",
        "bridge": "v101", "ip": "10.101.0.11/24", "gateway": "10.101.0.1", "firewall": True,
        "ssh_public_keys": KEYS + "\n", "tags": ["portal", "abrantes"], "onboot": True,
        "description": "Portal do munícipe", "start": True, **changes})


@pytest.mark.parametrize("kind", ["lxc", "qemu"])
def test_pve_config_forms_read_back_as_the_inputs(kind: str) -> None:
    want = declared(kind)
    assert guest_params.changed(kind, want, PVE_CONFIGS[kind]) == set()
    assert guest_params.disk(kind, PVE_CONFIGS[kind]) == ("local-lvm", 8.0)
    assert guest_params.disk_key(kind, PVE_CONFIGS[kind]) == ("rootfs" if kind == "lxc" else "scsi0")


@pytest.mark.parametrize("kind", ["lxc", "qemu"])
def test_what_is_written_reads_back_as_declared(kind: str) -> None:
    live = PVE_CONFIGS[kind]
    want = declared(kind, hostname="portal2", cores=4, memory=2048, bridge="v102",
                    ip="10.102.0.11/24", gateway="10.102.0.1", tags=[], description="",
                    onboot=False, ssh_public_keys=KEYS.replace("op@cim", "other@cim"))
    params = guest_params.config_params(kind, want, guest_params.changed(kind, want, live), live)
    assert sorted(k for k, v in params.items() if v is None) == ["description", "tags"]
    written = {k: v for k, v in {**live, **params}.items() if v is not None}  # as PVE applies it
    assert guest_params.changed(kind, want, written) == set()
    assert "BC:24:11:5E:7A:0" in written["net0"]  # the MAC kept: a NIC is not replaced


@pytest.fixture(scope="module")
def net(admin: ProxmoxAPI, make_vnets: Callable[..., dict[str, IPv4Network]]) -> IPv4Network:
    for pool in ("tgp1", "tgp2"):
        admin.pools.post(poolid=pool)
    return make_vnets("tgz", "vgu")["vgu"]


@pytest.fixture(scope="module")
def spec(net: IPv4Network, ssh_key: Path, ostemplate: str) -> Callable[..., dict[str, Any]]:
    """`spec(host, **changes)`: a small CT on the VNet at net[host], as a stack declares one."""

    def make(host: int, **changes: Any) -> dict[str, Any]:
        return {"node": "pve1", "kind": "lxc", "hostname": f"g{host}", "template": ostemplate,
                "cores": 1, "memory": 256, "swap": 64, "disk_gib": 4, "storage": "lab-guests",
                "bridge": "vgu", "ip": f"{net[host]}/{net.prefixlen}", "gateway": str(net[1]),
                "ssh_public_keys": ssh_key.with_suffix(".pub").read_text(),
                "tags": ["test", "portal"], **changes}

    return make


def guests(*specs: dict[str, Any]) -> Callable[[], None]:
    def program() -> None:
        for i, each in enumerate(specs):
            made = Guest(f"g{i}", **each)
            pulumi.export(f"vmid{i}", made.vmid)
            pulumi.export(f"address{i}", made.address)
    return program


def config(api_: ProxmoxAPI, kind: str, vmid: int) -> dict[str, Any]:
    return dict(api_.nodes("pve1")(kind)(vmid).config.get())


def pinned(lab: LabInstance, address: str) -> list[str]:
    """The host keys the lab pinned for `address` in its known_hosts."""
    return [line for line in lab.known_hosts.read_text().splitlines() if line.startswith(f"{address} ")]


def made(api_: ProxmoxAPI) -> list[int]:
    """The vmids of the lab's guests, templates left out."""
    return sorted(r["vmid"] for r in api_.cluster.resources.get(type="vm") if not r.get("template"))


@pytest.mark.lab
def test_lxc_lifecycle(stack: LabStack, admin_token: ProxmoxAPI, lab: LabInstance, guest_ssh: Any,
                       spec: Callable[..., dict[str, Any]], wait_task: Any) -> None:
    first = spec(10, description="Portal do munícipe\n", pool="tgp1")
    assert stack.up(guests(first)) == {"create": 1}
    vmid, address = stack.outputs()["vmid0"], stack.outputs()["address0"]
    # everything in the create call, then the start: nothing left for a config update
    assert stack.writes() == ["POST /nodes/pve1/lxc", f"POST /nodes/pve1/lxc/{vmid}/status/start"]
    assert address == first["ip"].split("/")[0] and pinned(lab, address)
    answered = guest_ssh(address, "hostname")  # StrictHostKeyChecking against the pinned key
    assert (answered.returncode, answered.stdout.strip()) == (0, "g10"), answered.stderr
    live = config(admin_token, "lxc", vmid)
    assert (live["memory"], live["tags"], live["description"].rstrip()) == (256, "portal;test",
                                                                             "Portal do munícipe")
    assert "firewall=1" in live["net0"] and live["unprivileged"] == 1 and live["onboot"] == 1

    assert stack.up() == {"same": 1}
    assert stack.writes() == []

    # in place: hostname, memory and tags (one config PUT), a bigger disk, another pool
    grown = {**first, "hostname": "g10b", "memory": 384, "tags": ["test", "gis"], "disk_gib": 5,
             "pool": "tgp2"}
    # the preview names what up then changes, no more (not the address, computed at create)
    assert stack.preview(guests(grown)) == {"update": 1, "same": 1}
    assert stack.changed == {"g0": ["disk_gib", "hostname", "memory", "pool", "tags"]}
    assert stack.up(guests(grown)) == {"update": 1}
    assert stack.changed == {"g0": ["disk_gib", "hostname", "memory", "pool", "tags"]}
    assert stack.writes() == [f"PUT /nodes/pve1/lxc/{vmid}/config", f"PUT /nodes/pve1/lxc/{vmid}/resize",
                              "PUT /pools/tgp1", "PUT /pools/tgp2"]
    live = config(admin_token, "lxc", vmid)
    assert (live["memory"], live["tags"], live["rootfs"].rsplit("size=")[1]) == (384, "gis;test", "5G")
    assert [m["vmid"] for m in admin_token.pools("tgp2").get()["members"]] == [vmid]
    assert guest_ssh(address, "hostname").stdout.strip() == "g10b"  # the same guest, renamed live

    # drift made through the API: memory changed and the guest stopped by hand
    ct = admin_token.nodes("pve1").lxc(vmid)
    ct.config.put(memory=512)
    assert wait_task(admin_token, ct.status.stop.post())["exitstatus"] == "OK"
    assert stack.refresh() == {"g0": ["memory", "start"]}
    assert stack.up() == {"update": 1}  # put back as declared
    assert config(admin_token, "lxc", vmid)["memory"] == 384
    assert ct.status.current.get()["status"] == "running"

    # a new vmid cannot be set in place: the guest is made again (the old one goes first)
    keys = pinned(lab, address)
    assert stack.up(guests({**grown, "vmid": vmid + 50})) == {"replace": 1}
    assert [g["vmid"] for g in admin_token.nodes("pve1").lxc.get()] == [vmid + 50]
    assert pinned(lab, address) and pinned(lab, address) != keys  # a new guest, new host keys
    answered = guest_ssh(address, "hostname")  # verified against the new pinned key
    assert (answered.returncode, answered.stdout.strip()) == (0, "g10b"), answered.stderr

    stack.destroy()
    assert made(admin_token) == [] and pinned(lab, address) == []


@pytest.fixture(scope="module")
def template_vm(admin: ProxmoxAPI, net: IPv4Network, wait_task: Any) -> int:
    """A cloud-image style template VM: a 4 GiB disk, a cloud-init drive, a NIC, no address."""
    upid = admin.nodes("pve1").qemu.post(
        vmid=TEMPLATE_VM, name="debian-12-cloud", memory=512, cores=1, net0="virtio,bridge=vgu",
        scsi0="lab-guests:4", ide2="lab-guests:cloudinit", scsihw="virtio-scsi-pci")
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    assert wait_task(admin, admin.nodes("pve1").qemu(TEMPLATE_VM).template.post())["exitstatus"] == "OK"
    return TEMPLATE_VM


@pytest.mark.lab
def test_qemu_clone_lifecycle(stack: LabStack, admin_token: ProxmoxAPI, guest_ssh: Any,
                              spec: Callable[..., dict[str, Any]], template_vm: int) -> None:
    vm = spec(20, kind="qemu", template=str(template_vm), cores=2, memory=384, disk_gib=6)
    assert stack.up(guests(vm)) == {"create": 1}
    vmid, address = stack.outputs()["vmid0"], stack.outputs()["address0"]
    # the clone, then what cloud-init and the sizes need in one config PUT, the disk, the start
    assert stack.writes() == [f"POST /nodes/pve1/qemu/{template_vm}/clone",
                              f"PUT /nodes/pve1/qemu/{vmid}/config", f"PUT /nodes/pve1/qemu/{vmid}/resize",
                              f"POST /nodes/pve1/qemu/{vmid}/status/start"]
    answered = guest_ssh(address, "hostname")
    assert (answered.returncode, answered.stdout.strip()) == (0, "g20"), answered.stderr
    live = config(admin_token, "qemu", vmid)
    assert (live["cores"], live["sockets"], live["memory"]) == (2, 1, "384")
    assert live["ipconfig0"] == f"ip={vm['ip']},gw={vm['gateway']}" and "firewall=1" in live["net0"]
    assert live["scsi0"].endswith("size=6G") and "template" not in live

    assert stack.up() == {"same": 1}
    assert stack.writes() == []

    assert stack.up(guests({**vm, "cores": 1, "description": "SIG"})) == {"update": 1}
    assert stack.writes() == [f"PUT /nodes/pve1/qemu/{vmid}/config"]
    live = config(admin_token, "qemu", vmid)
    assert (live["cores"], live["description"].rstrip()) == (1, "SIG")

    stack.destroy()
    assert made(admin_token) == []

    # a template whose disk is bigger than declared: one clear error, and the clone made for it
    # destroyed again (a failed create leaves no guest behind)
    with pytest.raises(auto.CommandError, match="guest g21: its disk is 4 GiB, more than disk_gib 2"):
        stack.up(guests(spec(21, kind="qemu", template=str(template_vm), disk_gib=2)))
    assert made(admin_token) == []


@pytest.mark.lab
def test_guests_without_vmid_race_for_nextid_and_a_taken_vmid_is_named(
        stack: LabStack, admin_token: ProxmoxAPI, spec: Callable[..., dict[str, Any]]) -> None:
    # three creates at once (the engine runs them in parallel), each asking /cluster/nextid
    # first: they are offered the same free id, one gets it, the others are refused ("already
    # exists") and take the next one offered
    racing = [spec(host, start=False) for host in (31, 32, 33)]
    assert stack.up(guests(*racing)) == {"create": 3}
    vmids = sorted(stack.outputs()[f"vmid{i}"] for i in range(3))
    assert vmids == made(admin_token) and len(set(vmids)) == 3
    creates = [e.status for e in stack.entries() if (e.method, e.path) == ("POST", "/nodes/pve1/lxc")]
    assert creates.count(200) == 3 and creates.count(500) >= 1, creates  # the race happened

    # a vmid given explicitly that something else holds: one clear error, nothing made
    with pytest.raises(auto.CommandError, match=rf"guest g34: vmid {vmids[0]} is taken"):
        stack.up(guests(*racing, spec(34, start=False, vmid=vmids[0])))
    assert made(admin_token) == vmids


def protected(each: dict[str, Any]) -> Callable[[], None]:
    """The guest protected, and its firewall deleted with it (as a tenant stack declares a data
    guest)."""
    def program() -> None:
        made = Guest("g0", **each, opts=pulumi.ResourceOptions(protect=True))
        GuestFirewall("g0-firewall", node=made.node, vmid=made.vmid, kind=made.kind, enable=True,
                      policy_in="DROP", policy_out="ACCEPT", rules=[],
                      opts=pulumi.ResourceOptions(deleted_with=made))
        pulumi.export("vmid0", made.vmid)
    return program


@pytest.mark.lab
def test_a_node_change_migrates_the_guest_and_a_protected_one_is_not_deleted(
        stack: LabStack, admin_token: ProxmoxAPI, lab: LabInstance, guest_ssh: Any,
        spec: Callable[..., dict[str, Any]]) -> None:
    first = spec(40)
    assert stack.up(protected(first)) == {"create": 2}
    vmid, address = stack.outputs()["vmid0"], first["ip"].split("/")[0]
    assert guest_ssh(address, "echo kept > /root/data").returncode == 0
    keys = pinned(lab, address)

    # another node: a migration (restart mode: it runs), never a destroy and re-create
    assert stack.up(protected({**first, "node": "pve2"})) == {"update": 2}  # the firewall follows
    assert stack.writes()[0] == f"POST /nodes/pve1/lxc/{vmid}/migrate"
    where = {r["vmid"]: (r["node"], r["status"]) for r in admin_token.cluster.resources.get(type="vm")}
    assert where[vmid] == ("pve2", "running")
    answered = guest_ssh(address, "cat /root/data")  # the same host keys, still pinned
    assert (answered.returncode, answered.stdout.strip()) == (0, "kept"), answered.stderr
    assert pinned(lab, address) == keys
    assert stack.up() == {"same": 2} and stack.writes() == []

    # dropped from the program while protected: refused, the guest and its firewall untouched
    with pytest.raises(auto.CommandError, match="protected"):
        stack.up(lambda: None)
    assert made(admin_token) == [vmid] and stack.writes() == []
    assert admin_token.nodes("pve2").lxc(vmid).firewall.options.get()["enable"] == 1
    engine.unprotect_all(stack.stack)  # the explicit step; then it may go
    assert stack.up(lambda: None) == {"delete": 1}  # the firewall went with it (PVE's purge)
    assert made(admin_token) == [] and "GuestFirewall" not in stack.state()
