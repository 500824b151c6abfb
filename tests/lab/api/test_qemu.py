"""QEMU guests through PVE's API, with proxmoxer: the lab has no QEMU, so a VM is an LXC system
container set up as cloud-init would set up the VM. The PVE pattern holds end to end: a template
VM, cloned, given `ipconfig0` and URL-encoded `sshkeys`, answers SSH at its address with its
name as hostname and its own pinned host key. Plus qemu-server's digest wording, locks, start /
stop semantics, DELETE with purge, and PVE's schema for the answers.
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
from proxmoxer_types import v8, v9

from partilha.lab import guests
from partilha.lab.instance import LabInstance
from partilha.lab.server.store import Store

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]
TEMPLATE, WEB = 9000, 9001


@pytest.fixture(scope="module")
def net(make_vnets: Callable[..., dict[str, IPv4Network]]) -> IPv4Network:
    return make_vnets("vmz", "vqm")["vqm"]


def log_of(api: ProxmoxAPI, upid: str) -> str:
    return "\n".join(line["t"] for line in api.nodes(upid.split(":")[1]).tasks(upid).log.get(limit=500))


@pytest.fixture(scope="module")
def template_vm(admin: ProxmoxAPI, net: IPv4Network, wait_task: WaitTask) -> int:
    """A cloud-image style template: a disk, a cloud-init drive, a NIC on the VNet, no address."""
    upid = admin.nodes("pve1").qemu.post(
        vmid=TEMPLATE, name="debian-12-cloud", memory=512, cores=1, sockets=1, ostype="l26",
        agent="enabled=1", net0="virtio,bridge=vqm", scsi0="lab-guests:4",
        ide2="lab-guests:cloudinit", scsihw="virtio-scsi-pci", tags="template;debian")
    status = wait_task(admin, upid)
    assert (status["type"], status["exitstatus"]) == ("qmcreate", "OK"), log_of(admin, upid)
    assert "realised by the LXC system container" in log_of(admin, upid)
    status = wait_task(admin, admin.nodes("pve1").qemu(TEMPLATE).template.post())
    assert (status["type"], status["exitstatus"]) == ("qmtemplate", "OK")
    return TEMPLATE


@pytest.fixture(scope="module")
def web(admin: ProxmoxAPI, net: IPv4Network, ssh_key: Path, template_vm: int,
        wait_task: WaitTask) -> str:
    """VM 9001, cloned from the template, cloud-init set by config, started; its address."""
    upid = admin.nodes("pve1").qemu(template_vm).clone.post(newid=WEB, name="web1")
    status = wait_task(admin, upid)
    assert (status["type"], status["exitstatus"]) == ("qmclone", "OK"), log_of(admin, upid)
    assert "linked clone" in log_of(admin, upid) and "copies the template's files" in log_of(admin, upid)
    ip = str(net[20])
    upid = admin.nodes("pve1").qemu(WEB).config.post(
        ipconfig0=f"ip={ip}/{net.prefixlen},gw={net[1]}", cores=2, memory=384,
        sshkeys=quote(ssh_key.with_suffix(".pub").read_text(), safe=""))
    status = wait_task(admin, upid)
    assert (status["type"], status["exitstatus"]) == ("qmconfig", "OK"), log_of(admin, upid)
    status = wait_task(admin, admin.nodes("pve1").qemu(WEB).status.start.post())
    assert (status["type"], status["exitstatus"]) == ("qmstart", "OK"), log_of(admin, status["upid"])
    return ip


def test_a_template_is_converted_as_pve_does(admin: ProxmoxAPI, template_vm: int) -> None:
    config = admin.nodes("pve1").qemu(template_vm).config.get()
    assert config["template"] == 1
    assert config["scsi0"] == f"lab-guests:{template_vm}/base-{template_vm}-disk-0.raw,size=4G"
    assert config["ide2"] == f"lab-guests:{template_vm}/vm-{template_vm}-cloudinit.qcow2,media=cdrom"
    assert config["boot"] == "order=scsi0;ide2;net0"
    assert config["memory"] == "512" and config["net0"].startswith("virtio=BC:24:11:")
    with pytest.raises(ResourceException) as err:
        admin.nodes("pve1").qemu(template_vm).template.post()
    assert err.value.content == "you can't convert a template to a template"


def test_a_clone_of_the_template_answers_ssh_with_its_name(lab: LabInstance, admin: ProxmoxAPI,
                                                          guest_ssh: Any, web: str, template_vm: int) -> None:
    result = guest_ssh(web, "hostname")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "web1"
    source, clone = (admin.nodes("pve1").qemu(v).config.get() for v in (template_vm, WEB))
    assert clone["net0"].split(",")[0] != source["net0"].split(",")[0]  # a new MAC
    assert clone["smbios1"] != source["smbios1"] and "template" not in clone
    assert clone["scsi0"] == f"lab-guests:{WEB}/vm-{WEB}-disk-0.raw,size=4G"
    assert "%20" in clone["sshkeys"]  # kept URL-encoded, as PVE stores it
    name = f"lxc.payload.{lab.prefix}{WEB}"
    limit = next(p for p in (Path(f"/sys/fs/cgroup/memory/{name}/memory.limit_in_bytes"),
                             Path(f"/sys/fs/cgroup/{name}/memory.max")) if p.exists())
    assert int(limit.read_text()) == 384 * 2**20
    status = admin.nodes("pve1").qemu(WEB).status.current.get()
    assert (status["status"], status["qmpstatus"], status["name"], status["cpus"]) == (
        "running", "running", "web1", 2)
    assert status["maxmem"] == 384 * 2**20 and status["agent"] == 1 and status["ha"] == {"managed": 0}
    assert status["pid"] > 1


def test_the_clones_host_key_is_its_own(lab: LabInstance, admin: ProxmoxAPI, guest_ssh: Any,
                                        web: str) -> None:
    pinned = [line.split()[2] for line in lab.known_hosts.read_text().splitlines()
              if line.startswith(f"{web} ssh-ed25519 ")]
    served = guest_ssh(web, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
    template_key = (lab.guests_root / f"{lab.prefix}{TEMPLATE}/upper/etc/ssh/ssh_host_ed25519_key.pub")
    assert pinned == [served] and served != template_key.read_text().split()[1]


def test_updates_check_qemu_servers_digest_and_locks(lab: LabInstance, admin: ProxmoxAPI,
                                                      web: str, wait_task: WaitTask) -> None:
    config = admin.nodes("pve1").qemu(WEB).config
    digest = config.get()["digest"]
    assert config.put(description="Portal do munícipe", digest=digest) is None  # PUT: synchronous
    with pytest.raises(ResourceException) as err:
        config.post(description="lost update", digest=digest)
    assert (err.value.status_code, err.value.content) == (
        500, "checksum missmatch (file change by other user?)")
    assert config.get()["description"] == "Portal do munícipe"
    with Store(lab.db) as store:
        guests.update(store, WEB, lock="backup")  # as a running vzdump holds it
    try:
        with pytest.raises(ResourceException) as err:
            config.put(description="x")
        assert err.value.content == "VM is locked (backup)"
        status = wait_task(admin, admin.nodes("pve1").qemu(WEB).status.shutdown.post())
        assert status["exitstatus"] == "VM is locked (backup)"
    finally:
        with Store(lab.db) as store:
            guests.update(store, WEB, lock=None)
    with pytest.raises(ResourceException) as err:
        config.post()
    assert err.value.content == "no options specified"
    with pytest.raises(ResourceException) as err:
        config.post(net1="virtio,bridge=vqm")
    assert err.value.status_code == 400


def test_power_semantics_are_qemu_servers(admin: ProxmoxAPI, web: str, template_vm: int,
                                          wait_task: WaitTask) -> None:
    vm = admin.nodes("pve1").qemu(WEB)
    assert wait_task(admin, vm.status.start.post())["exitstatus"] == f"VM {WEB} already running"
    status = wait_task(admin, admin.nodes("pve1").qemu(template_vm).status.start.post())
    assert status["exitstatus"] == "you can't start a vm if it's a template"
    with pytest.raises(ResourceException) as err:
        admin.nodes("pve1").qemu(template_vm).status.reboot.post()
    assert err.value.content == f"VM {template_vm} not running"
    assert wait_task(admin, admin.nodes("pve1").qemu(template_vm).status.stop.post())["exitstatus"] == "OK"


def test_create_refuses_as_pve_does(admin: ProxmoxAPI, template_vm: int) -> None:
    qemu = admin.nodes("pve1").qemu
    with pytest.raises(ResourceException) as err:
        qemu.post(vmid=template_vm, name="again")
    assert err.value.content == (f"unable to create VM {template_vm} - VM {template_vm} already "
                                 "exists on node 'pve1'")
    with pytest.raises(ResourceException) as err:
        qemu.post(vmid=9050, sshkeys=quote("ssh-ed25519 not-a-key", safe=""))
    assert err.value.content == "SSH public key validation error"
    with pytest.raises(ResourceException) as err:
        qemu.post(vmid=9050, net0="virtio,bridge=vqm,speed=10")
    assert err.value.errors == {
        "net0": "invalid format - invalid key in comma-separated list property: speed\n"}
    with pytest.raises(ResourceException) as err:
        qemu.post(vmid=9050, memory="8")
    assert err.value.errors == {"memory": "invalid format - format error\ncurrent: value must have a "
                                          "minimum value of 16\n"}


@pytest.mark.parametrize("version", [v8, v9], ids=["pve8", "pve9"])
def test_answers_validate_against_pve_schema(lab: LabInstance, creds: dict[str, Any], version: Any,
                                             web: str, template_vm: int) -> None:
    typed = version.ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"],
                               password=creds["password"], verify_ssl=str(lab.cert))
    node = typed.nodes("pve1")
    node.qemu.get.model()
    for vmid in (template_vm, WEB):
        node.qemu(vmid).config.get.model()
        node.qemu(vmid).status.current.get.model()
    typed.cluster.resources.get.model()


def test_cluster_resources_carry_the_guests_figures(admin: ProxmoxAPI, web: str, template_vm: int) -> None:
    entries = {r["vmid"]: r for r in admin.cluster.resources.get(type="vm")}
    assert (entries[WEB]["name"], entries[WEB]["maxmem"], entries[WEB]["maxcpu"]) == ("web1", 384 * 2**20, 2)
    assert entries[WEB]["maxdisk"] == 4 * 2**30 and entries[WEB]["template"] == 0
    assert entries[template_vm]["template"] == 1 and entries[template_vm]["tags"] == "template;debian"


def test_delete_with_purge(lab: LabInstance, admin: ProxmoxAPI, web: str, wait_task: WaitTask) -> None:
    vm = admin.nodes("pve1").qemu(WEB)
    with pytest.raises(ResourceException) as err:
        vm.delete()
    assert err.value.content == f"VM {WEB} is running - destroy failed"
    assert wait_task(admin, vm.status.stop.post())["exitstatus"] == "OK"
    admin.cluster.ha.resources.post(sid=f"vm:{WEB}", state="stopped")
    with pytest.raises(ResourceException) as err:
        vm.delete()
    assert err.value.content == (f"unable to remove VM {WEB} - used in HA resources and purge "
                                 "parameter not set.")
    upid = vm.delete(purge=1)
    status = wait_task(admin, upid)
    assert (status["type"], status["exitstatus"]) == ("qmdestroy", "OK")
    assert f"NOTE: removed VM {WEB} from HA resource configuration." in log_of(admin, upid)
    assert admin.cluster.ha.resources.get() == []
    assert not (lab.guests_root / f"{lab.prefix}{WEB}").exists()
    assert f"{web} " not in lab.known_hosts.read_text()
    with pytest.raises(ResourceException) as err:
        vm.config.get()
    assert err.value.content == f"Configuration file 'nodes/pve1/qemu-server/{WEB}.conf' does not exist"
