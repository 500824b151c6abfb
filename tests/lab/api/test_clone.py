"""Container templates and clones through PVE's API, with proxmoxer, on real containers: a clone
carries the source's files but has its own host key (pinned, verified over SSH), the source is
untouched, the locks pve-container takes during a clone refuse changes, and a template refuses
what PVE refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from partilha.lab.instance import LabInstance

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]
SOURCE, CLONE, LINKED = 9301, 9302, 9303


@pytest.fixture(scope="module")
def net(make_vnets: Callable[..., dict[str, IPv4Network]]) -> IPv4Network:
    return make_vnets("clz", "vcl")["vcl"]


def net0(net: IPv4Network, host: int) -> str:
    return f"name=eth0,bridge=vcl,ip={net[host]}/{net.prefixlen},gw={net[1]}"


@pytest.fixture(scope="module")
def source(admin: ProxmoxAPI, net: IPv4Network, create_ct: Callable[..., Any], guest_ssh: Any,
           wait_task: WaitTask) -> str:
    """CT 9301, running, with a marker file and 300 MB of ballast (a clone takes a moment)."""
    ct, upid = create_ct(SOURCE, "vcl", net, 10, hostname="source.lab.test", start=1)
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    result = guest_ssh(ct.ip, "echo from-the-source > /root/marker && "
                              "head -c 300M /dev/urandom > /root/ballast")
    assert result.returncode == 0, result.stderr
    return ct.ip


def test_a_running_ct_is_neither_templated_nor_fully_cloned(admin: ProxmoxAPI, source: str) -> None:
    ct = admin.nodes("pve1").lxc(SOURCE)
    with pytest.raises(ResourceException) as err:
        ct.template.post()
    assert err.value.content == "you can't convert a CT to template if the CT is running"
    with pytest.raises(ResourceException) as err:
        ct.clone.post(newid=CLONE)
    assert err.value.content == "Cannot do full clones on a running container without snapshots"
    assert "lock" not in ct.config.get()
    with pytest.raises(ResourceException) as err:
        admin.nodes("pve1").lxc(CLONE).config.get()
    assert err.value.content == f"Configuration file 'nodes/pve1/lxc/{CLONE}.conf' does not exist"


def test_locks_during_a_clone_refuse_changes(admin: ProxmoxAPI, source: str, net: IPv4Network,
                                             wait_task: WaitTask) -> None:
    ct = admin.nodes("pve1").lxc(SOURCE)
    assert wait_task(admin, ct.status.shutdown.post(timeout=30))["exitstatus"] == "OK"
    upid = ct.clone.post(newid=CLONE, hostname="clone.lab.test", description="Cópia")
    source_lock = ct.config.get().get("lock")
    clone_lock = admin.nodes("pve1").lxc(CLONE).config.get().get("lock")
    refused = []
    for call in (lambda: ct.config.put(description="x"), lambda: ct.status.start.post(),
                 lambda: ct.delete()):
        try:
            refused.append(wait_task(admin, call())["exitstatus"])
        except ResourceException as exc:
            refused.append(exc.content)
    still_running = admin.nodes("pve1").tasks(upid).status.get()["status"] == "running"
    assert still_running, "the clone ended before the locks could be seen; give the source more ballast"
    assert (source_lock, clone_lock) == ("disk", "create")
    assert refused == ["CT is locked (disk)"] * 3
    status = wait_task(admin, upid)
    assert (status["type"], status["id"], status["exitstatus"]) == ("vzclone", str(SOURCE), "OK")
    assert "lock" not in ct.config.get()
    assert "lock" not in admin.nodes("pve1").lxc(CLONE).config.get()


def test_the_clone_has_the_files_its_own_identity_and_the_source_is_untouched(
        admin: ProxmoxAPI, guest_ssh: Any, source: str, net: IPv4Network, wait_task: WaitTask) -> None:
    clone = admin.nodes("pve1").lxc(CLONE)
    src_config, config = admin.nodes("pve1").lxc(SOURCE).config.get(), clone.config.get()
    assert (config["hostname"], config["description"]) == ("clone.lab.test", "Cópia")
    assert config["rootfs"] == f"lab-guests:{CLONE}/vm-{CLONE}-disk-0.raw,size=4G"
    hwaddr = {c["net0"].split("hwaddr=")[1].split(",")[0] for c in (src_config, config)}
    assert len(hwaddr) == 2  # a new MAC, as PVE's clone gives every net[n]
    clone.config.put(net0=net0(net, 11) + f",hwaddr={config['net0'].split('hwaddr=')[1].split(',')[0]}")
    assert wait_task(admin, clone.status.start.post())["exitstatus"] == "OK"
    assert wait_task(admin, admin.nodes("pve1").lxc(SOURCE).status.start.post())["exitstatus"] == "OK"
    clone_ip = str(net[11])
    assert guest_ssh(clone_ip, "cat", "/root/marker").stdout.strip() == "from-the-source"
    assert guest_ssh(clone_ip, "hostname").stdout.strip() == "clone.lab.test"
    guest_ssh(clone_ip, "echo clone-only > /root/clone-file")
    keys = {ip: guest_ssh(ip, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
            for ip in (source, clone_ip)}
    assert keys[source] != keys[clone_ip]
    machine_ids = {guest_ssh(ip, "cat", "/etc/machine-id").stdout for ip in (source, clone_ip)}
    assert len(machine_ids) == 2
    assert guest_ssh(source, "hostname").stdout.strip() == "source.lab.test"
    assert guest_ssh(source, "test", "-e", "/root/clone-file").returncode == 1
    assert admin.nodes("pve1").lxc(SOURCE).config.get()["net0"] == src_config["net0"]


def test_a_template_and_its_linked_clone(admin: ProxmoxAPI, source: str, wait_task: WaitTask) -> None:
    ct = admin.nodes("pve1").lxc(SOURCE)
    assert wait_task(admin, ct.status.stop.post())["exitstatus"] == "OK"
    assert ct.template.post() is None
    config = ct.config.get()
    assert config["template"] == 1
    assert config["rootfs"] == f"lab-guests:{SOURCE}/base-{SOURCE}-disk-0.raw,size=4G"
    with pytest.raises(ResourceException) as err:
        ct.template.post()
    assert err.value.content == "you can't convert a template to a template"
    assert wait_task(admin, ct.status.start.post())["exitstatus"] == "you can't start a CT if it's a template"
    with pytest.raises(ResourceException) as err:
        ct.clone.post(newid=LINKED, storage="local")
    assert err.value.content == "parameter 'storage' not allowed for linked clones"
    with pytest.raises(ResourceException) as err:
        ct.clone.post(newid=CLONE)
    assert err.value.content == f"CT {CLONE} already exists on node 'pve1'"
    upid = ct.clone.post(newid=LINKED, hostname="linked.lab.test")
    assert wait_task(admin, upid)["exitstatus"] == "OK"
    log = "\n".join(line["t"] for line in admin.nodes("pve1").tasks(upid).log.get())
    assert "linked clone" in log and "the lab has no copy-on-write storage" in log
    linked = admin.nodes("pve1").lxc(LINKED).config.get()
    assert "template" not in linked and linked["hostname"] == "linked.lab.test"
    resources = {r["vmid"]: r for r in admin.cluster.resources.get(type="vm")}
    assert (resources[SOURCE]["template"], resources[LINKED]["template"]) == (1, 0)


def test_clones_and_template_are_removed_with_purge(lab: LabInstance, admin: ProxmoxAPI,
                                                   wait_task: WaitTask) -> None:
    clone = admin.nodes("pve1").lxc(CLONE)
    assert wait_task(admin, clone.status.stop.post())["exitstatus"] == "OK"
    for vmid in (CLONE, LINKED, SOURCE):
        assert wait_task(admin, admin.nodes("pve1").lxc(vmid).delete(purge=1))["exitstatus"] == "OK"
        assert not (lab.guests_root / f"{lab.prefix}{vmid}").exists()
    assert admin.nodes("pve1").lxc.get() == []
