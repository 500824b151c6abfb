"""LXC guests through PVE's API, with proxmoxer: real containers on real VNets, SSH with the host
keys the lab pinned, isolation between municipalities, ACL-scoped tokens, digests, locks, the
nextid race, purge, and `lab down`/`up`/`reset` bringing back or removing all of it.

Three guests for the module: a1 and a2 in municipality A's VNet and pool, b1 in B's.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException
from proxmoxer_types import v8, v9

from partilha.lab import control, guests
from partilha.lab.instance import LabInstance
from partilha.lab.server.store import Store

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]


def containers(lab: LabInstance) -> list[str]:
    names = subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True, check=True).stdout.split()
    return [n for n in names if n.startswith(lab.prefix)]


def lab_bridges(lab: LabInstance) -> list[str]:
    out = subprocess.run(["ip", "-br", "link", "show", "type", "bridge"], capture_output=True, text=True)
    return [line.split()[0] for line in out.stdout.splitlines() if line.startswith(lab.prefix)]


@pytest.fixture(scope="module")
def nets(admin: ProxmoxAPI, make_vnets: Callable[..., dict[str, IPv4Network]]) -> dict[str, IPv4Network]:
    """Two municipalities, each a pool and a VNet of the vlan zone `cim`, applied."""
    for pool in ("abt", "cnt"):
        admin.pools.post(poolid=pool)
    return make_vnets("cim", "vabt", "vcnt", type="vlan", bridge="vmbr0", tags=(101, 103))


@pytest.fixture(scope="module")
def token_a(lab: LabInstance, admin: ProxmoxAPI, nets) -> ProxmoxAPI:
    """Municipality A's deploy token: privilege-separated, allowed in pool abt and VNet vabt."""
    admin.access.users.post(userid="abt@pve", comment="Município de Abrantes")
    secret = admin.access.users("abt@pve").token("deploy").post(privsep=1)["value"]
    grants = {"/pool/abt": "PVEVMAdmin", "/storage/lab-guests": "PVEDatastoreUser",
              "/storage/local": "PVEDatastoreUser", "/sdn/zones/cim/vabt": "PVESDNUser"}
    for path, role in grants.items():
        admin.access.acl.put(path=path, roles=role, users="abt@pve", tokens="abt@pve!deploy")
    return ProxmoxAPI("127.0.0.1", port=lab.port, user="abt@pve", token_name="deploy",
                      token_value=secret, verify_ssl=str(lab.cert))


def create(create_ct: Callable[..., Any], wait_task: WaitTask, api: ProxmoxAPI, vmid: int, vnet: str,
           net: IPv4Network, host: int, pool: str, start: int = 1) -> tuple[Any, dict[str, Any]]:
    ct, upid = create_ct(vmid, vnet, net, host, api=api, hostname=f"ct{vmid}.lab.test", swap=64,
                         cores=1, pool=pool, start=start, unprivileged=1)
    assert upid.split(":")[5:7] == ["vzcreate", str(vmid)]
    return ct, wait_task(api, upid)


@pytest.fixture(scope="module")
def cts(admin: ProxmoxAPI, token_a: ProxmoxAPI, nets, create_ct: Callable[..., Any],
        wait_task: WaitTask) -> dict[str, Any]:
    made = {}
    for name, api, vmid, vnet, host, pool in (
        ("a1", admin, 9101, "vabt", 10, "abt"),
        ("a2", token_a, 9102, "vabt", 11, "abt"),  # created by A's own token
        ("b1", admin, 9201, "vcnt", 10, "cnt"),
    ):
        ct, status = create(create_ct, wait_task, api, vmid, vnet, nets[vnet], host, pool)
        assert status["exitstatus"] == "OK", api.nodes("pve1").tasks(status["upid"]).log.get()
        made[name] = ct
    return made


def listen(ssh: Any, ct: Any, port: int) -> None:
    result = ssh(ct.ip, "systemd-run", f"--unit=listen{port}", "python3", "-m", "http.server", str(port))
    assert result.returncode == 0, result.stderr
    for _ in range(50):
        if ssh(ct.ip, "ss", "-ltnH", f"sport = :{port}").stdout.strip():
            return
        time.sleep(0.1)
    raise AssertionError(f"no listener on {ct.ip}:{port}")


def host_reaches(ct: Any, port: int) -> bool:
    """From the host (the management path the firewall leaves open): is the listener there?"""
    try:
        socket.create_connection((ct.ip, port), timeout=3).close()
    except OSError:
        return False
    return True


def test_each_guest_answers_ssh_with_its_pinned_host_key(lab: LabInstance, guest_ssh, cts) -> None:
    pinned = lab.known_hosts.read_text()
    for ct in cts.values():
        assert f"{ct.ip} ssh-ed25519 " in pinned
        result = guest_ssh(ct.ip, "hostname", "-f")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == ct.hostname
    assert sorted(containers(lab)) == sorted(f"{lab.prefix}{ct.vmid}" for ct in cts.values())


def test_config_status_and_pools_read_as_on_pve(admin: ProxmoxAPI, cts) -> None:
    a1 = cts["a1"]
    config = admin.nodes("pve1").lxc(a1.vmid).config.get()
    assert re.fullmatch(r"[0-9a-f]{40}", config["digest"])
    assert re.fullmatch(rf"name=eth0,bridge=vabt,gw=[\d.]+,hwaddr=BC:24:11(:[0-9A-F]{{2}}){{3}},"
                        rf"ip={a1.ip}/24,type=veth", config["net0"])
    assert config["rootfs"] == f"lab-guests:{a1.vmid}/vm-{a1.vmid}-disk-0.raw,size=4G"
    assert (config["hostname"], config["memory"], config["unprivileged"]) == (a1.hostname, 256, 1)
    assert "lock" not in config
    status = admin.nodes("pve1").lxc(a1.vmid).status.current.get()
    assert (status["status"], status["name"], status["maxmem"]) == ("running", a1.hostname, 256 * 2**20)
    assert status["uptime"] >= 0 and status["pid"] > 1
    listed = {c["vmid"]: c["status"] for c in admin.nodes("pve1").lxc.get()}
    assert listed == {ct.vmid: "running" for ct in cts.values()}
    assert admin.nodes("pve2").lxc.get() == []
    members = {m["vmid"] for m in admin.pools("abt").get()["members"]}
    assert members == {cts["a1"].vmid, cts["a2"].vmid}


@pytest.mark.parametrize("version", [v8, v9], ids=["pve8", "pve9"])
def test_responses_validate_against_pve_schema(lab: LabInstance, creds: dict[str, Any], version: Any,
                                               cts) -> None:
    typed = version.ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"],
                               password=creds["password"], verify_ssl=str(lab.cert))
    node = typed.nodes("pve1")
    node.lxc.get.model()
    for ct in cts.values():
        node.lxc(ct.vmid).config.get.model()
        node.lxc(ct.vmid).status.current.get.model()
        node.lxc(ct.vmid).get.model()
        node.lxc(ct.vmid).status.get.model()
    node.tasks.get.model()


def test_a_guest_of_a_reaches_its_vnet_but_not_b(guest_ssh, cts) -> None:
    listen(guest_ssh, cts["a1"], 7100)
    listen(guest_ssh, cts["b1"], 7100)
    assert host_reaches(cts["b1"], 7100) and host_reaches(cts["a1"], 7100)
    assert guest_ssh.opens(cts["a2"].ip, cts["a1"].ip, 7100)
    assert not guest_ssh.opens(cts["a2"].ip, cts["b1"].ip, 7100)
    assert not guest_ssh.opens(cts["b1"].ip, cts["a1"].ip, 7100)


def test_a_token_scoped_to_pool_a_gets_403_on_bs_guests(token_a: ProxmoxAPI, cts, ostemplate: str) -> None:
    a1, b1 = cts["a1"].vmid, cts["b1"].vmid
    assert token_a.nodes("pve1").lxc(a1).config.get()["hostname"] == cts["a1"].hostname
    assert {c["vmid"] for c in token_a.nodes("pve1").lxc.get()} == {a1, cts["a2"].vmid}
    denied = [
        (lambda: token_a.nodes("pve1").lxc(b1).config.get(), f"(/vms/{b1}, VM.Audit)"),
        (lambda: token_a.nodes("pve1").lxc(b1).status.start.post(), f"(/vms/{b1}, VM.PowerMgmt)"),
        (lambda: token_a.nodes("pve1").lxc(b1).config.put(description="x"),
         f"(/vms/{b1}, VM.Config.Disk|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.Options)"),
        (lambda: token_a.nodes("pve1").lxc(b1).delete(), f"(/vms/{b1}, VM.Allocate)"),
    ]
    for call, what in denied:
        with pytest.raises(ResourceException) as err:
            call()
        assert (err.value.status_code, err.value.content) == (403, f"Permission check failed {what}")
    with pytest.raises(ResourceException) as err:  # creating into B's pool
        token_a.nodes("pve1").lxc.post(vmid=9190, ostemplate=ostemplate, pool="cnt",
                                        net0="name=eth0,bridge=vabt,ip=10.0.0.2/24")
    assert (err.value.status_code, err.value.content) == (403, "Permission check failed")
    with pytest.raises(ResourceException) as err:  # its own pool, but B's VNet
        token_a.nodes("pve1").lxc.post(vmid=9190, ostemplate=ostemplate, pool="abt",
                                        net0="name=eth0,bridge=vcnt,ip=10.0.0.2/24")
    assert (err.value.status_code, err.value.content) == (
        403, "Permission check failed (/sdn/zones/cim/vcnt, SDN.Use)")


def test_config_put_honours_the_digest_and_applies_to_the_container(lab, admin, guest_ssh, cts,
                                                                    modified: str) -> None:
    a1 = cts["a1"]
    config = admin.nodes("pve1").lxc(a1.vmid).config
    digest = config.get()["digest"]
    config.put(description="Portal do munícipe: Abrantes", digest=digest)
    with pytest.raises(ResourceException) as err:
        config.put(description="lost update", digest=digest)
    assert (err.value.status_code, err.value.content) == (500, modified)
    after = config.get()
    assert after["description"] == "Portal do munícipe: Abrantes" and after["digest"] != digest
    config.put(hostname="portal.abrantes.lab.test", memory=300, digest=after["digest"])
    assert guest_ssh(a1.ip, "hostname").stdout.strip() == "portal.abrantes.lab.test"
    name = f"lxc.payload.{lab.prefix}{a1.vmid}"
    limit = next(p for p in (Path(f"/sys/fs/cgroup/memory/{name}/memory.limit_in_bytes"),
                             Path(f"/sys/fs/cgroup/{name}/memory.max")) if p.exists())
    assert int(limit.read_text()) == 300 * 2**20
    with pytest.raises(ResourceException) as err:
        config.put()
    assert err.value.content == "no options specified"
    with pytest.raises(ResourceException) as err:
        config.put(delete="memory")
    assert err.value.errors == {"memory": "unable to delete required option 'memory'"}


def test_a_locked_guest_refuses_changes(lab: LabInstance, admin: ProxmoxAPI, wait_task, cts) -> None:
    b1 = cts["b1"].vmid
    with Store(lab.db) as store:
        guests.update(store, b1, lock="backup")  # as a running vzdump holds it
    try:
        ct = admin.nodes("pve1").lxc(b1)
        assert ct.config.get()["lock"] == "backup"
        for call in (lambda: ct.config.put(description="x"), lambda: ct.delete()):
            with pytest.raises(ResourceException) as err:
                call()
            assert (err.value.status_code, err.value.content) == (500, "CT is locked (backup)")
        status = wait_task(admin, ct.status.stop.post())
        assert status["exitstatus"] == "CT is locked (backup)"
        assert ct.status.current.get()["status"] == "running"
    finally:
        with Store(lab.db) as store:
            guests.update(store, b1, lock=None)
    assert "lock" not in admin.nodes("pve1").lxc(b1).config.get()


def test_two_creates_of_one_vmid_one_wins(lab: LabInstance, admin: ProxmoxAPI, create_ct, nets,
                                          wait_task) -> None:
    vmid = admin.cluster.nextid.get()
    results: list[Any] = []

    def attempt(host: int) -> None:
        try:
            results.append(create(create_ct, wait_task, admin, vmid, "vcnt", nets["vcnt"], host, "cnt",
                                  start=0))
        except ResourceException as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt, args=(host,)) for host in (20, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    [lost] = [r for r in results if isinstance(r, ResourceException)]
    [(won, status)] = [r for r in results if not isinstance(r, ResourceException)]
    assert status["exitstatus"] == "OK"
    assert lost.status_code == 500
    assert re.fullmatch(rf"(unable to create CT {vmid} - )?CT {vmid} already exists on node 'pve1'",
                        lost.content)
    assert admin.nodes("pve1").lxc(vmid).config.get()["hostname"] == won.hostname
    assert wait_task(admin, admin.nodes("pve1").lxc(vmid).delete(purge=1))["exitstatus"] == "OK"
    assert f"{lab.prefix}{vmid}" not in containers(lab)


def test_a_failed_create_leaves_no_guest_and_no_lock(lab: LabInstance, admin: ProxmoxAPI, wait_task,
                                                     token_a, ostemplate: str) -> None:
    vmid = 9160
    admin.access.acl.put(path=f"/vms/{vmid}", roles="PVEVMUser", users="abt@pve")  # granted ahead
    upid = admin.nodes("pve1").lxc.post(vmid=vmid, ostemplate=ostemplate,
                                        net0="name=eth0,bridge=vnone,ip=10.9.9.2/24,gw=10.9.9.1")
    status = wait_task(admin, upid)
    assert status["exitstatus"] == f"unable to create CT {vmid} - bridge 'vnone' does not exist"
    with pytest.raises(ResourceException) as err:
        admin.nodes("pve1").lxc(vmid).config.get()
    assert err.value.content == f"Configuration file 'nodes/pve1/lxc/{vmid}.conf' does not exist"
    assert f"{lab.prefix}{vmid}" not in containers(lab)
    assert not (lab.guests_root / f"{lab.prefix}{vmid}").exists()
    assert admin.cluster.nextid.get(vmid=vmid) == vmid
    assert [e["roleid"] for e in admin.access.acl.get() if e["path"] == f"/vms/{vmid}"] == ["PVEVMUser"]


def test_calls_to_an_offline_node_fail_as_on_pve(lab: LabInstance, admin: ProxmoxAPI, cts,
                                                 ostemplate: str) -> None:
    control.set_node_online(lab, "pve2", False)
    try:
        for call in (lambda: admin.nodes("pve2").lxc.post(vmid=9170, ostemplate=ostemplate),
                     lambda: admin.nodes("pve2").lxc.get()):
            with pytest.raises(ResourceException) as err:
                call()
            assert (err.value.status_code, err.value.content) == (595, "no route to host (pve2)")
    finally:
        control.set_node_online(lab, "pve2", True)


def test_shutdown_and_start_are_tasks_on_the_real_container(admin, guest_ssh, wait_task, cts) -> None:
    a2 = cts["a2"]
    ct = admin.nodes("pve1").lxc(a2.vmid)
    assert wait_task(admin, ct.status.shutdown.post(timeout=30))["exitstatus"] == "OK"
    assert ct.status.current.get()["status"] == "stopped"
    assert guest_ssh(a2.ip, "true", timeout=20).returncode != 0
    with pytest.raises(ResourceException) as err:
        ct.status.stop.post()
    assert err.value.content == f"CT {a2.vmid} not running"
    assert wait_task(admin, ct.status.start.post())["exitstatus"] == "OK"
    assert guest_ssh(a2.ip, "true").returncode == 0
    with pytest.raises(ResourceException) as err:
        ct.status.start.post()
    assert err.value.content == f"CT {a2.vmid} already running"
    status = wait_task(admin, ct.status.reboot.post(timeout=30))
    assert (status["type"], status["exitstatus"]) == ("vzreboot", "OK")
    assert guest_ssh(a2.ip, "true").returncode == 0


def test_node_down_kills_its_guests_and_node_up_starts_the_onboot_ones(
        lab: LabInstance, admin: ProxmoxAPI, guest_ssh, wait_task, cts) -> None:
    a1, a2 = cts["a1"], cts["a2"]
    admin.nodes("pve1").lxc(a1.vmid).config.put(onboot=1)
    assert control.set_node_online(lab, "pve1", False) == []
    try:
        assert {n["node"]: n["status"] for n in admin.nodes.get()}["pve1"] == "offline"
        for ct in (a1, a2):
            assert guest_ssh(ct.ip, "true", timeout=15).returncode != 0
        with pytest.raises(ResourceException) as err:
            admin.nodes("pve1").lxc(a1.vmid).status.current.get()
        assert err.value.status_code == 595
        vms = {r["vmid"]: r["status"] for r in admin.cluster.resources.get(type="vm")}
        assert vms[a1.vmid] == vms[a2.vmid] == "unknown"  # its guests' status is not known
    finally:
        assert control.set_node_online(lab, "pve1", True) == []
    statuses = {c["vmid"]: c["status"] for c in admin.nodes("pve1").lxc.get()}
    assert statuses == {a1.vmid: "running", a2.vmid: "stopped", cts["b1"].vmid: "stopped"}
    assert guest_ssh(a1.ip, "true").returncode == 0
    for ct in (a2, cts["b1"]):
        assert wait_task(admin, admin.nodes("pve1").lxc(ct.vmid).status.start.post())["exitstatus"] == "OK"
    admin.nodes("pve1").lxc(a1.vmid).config.put(delete="onboot")


def test_delete_with_purge_leaves_no_container(lab: LabInstance, admin: ProxmoxAPI, wait_task, cts) -> None:
    a2 = cts["a2"]
    ct = admin.nodes("pve1").lxc(a2.vmid)
    admin.access.acl.put(path=f"/vms/{a2.vmid}", roles="PVEVMUser", users="abt@pve")
    with pytest.raises(ResourceException) as err:
        ct.delete()
    assert err.value.content == f"unable to destroy CT {a2.vmid} - container is running"
    assert wait_task(admin, ct.status.stop.post())["exitstatus"] == "OK"
    status = wait_task(admin, ct.delete(purge=1))
    assert status["exitstatus"] == "OK" and status["type"] == "vzdestroy"
    assert f"{lab.prefix}{a2.vmid}" not in containers(lab)
    assert not (lab.guests_root / f"{lab.prefix}{a2.vmid}").exists()
    assert a2.vmid not in {m.get("vmid") for m in admin.pools("abt").get()["members"]}
    assert not [e for e in admin.access.acl.get() if e["path"] == f"/vms/{a2.vmid}"]
    assert f"{a2.ip} " not in lab.known_hosts.read_text()


def test_lab_down_then_up_restarts_the_running_guests(lab: LabInstance, admin, guest_ssh, cts) -> None:
    control.down(lab)
    assert not any(subprocess.run(["lxc-info", "-n", n, "-s", "-H"], capture_output=True,
                                  text=True).stdout.strip() == "RUNNING" for n in containers(lab))
    assert lab_bridges(lab) == []
    control.up(lab)
    for name in ("a1", "b1"):
        assert guest_ssh(cts[name].ip, "true").returncode == 0
    assert {c["vmid"]: c["status"] for c in admin.nodes("pve1").lxc.get()} == {
        cts["a1"].vmid: "running", cts["b1"].vmid: "running"}
    listen(guest_ssh, cts["b1"], 7100)  # the guests booted afresh
    assert host_reaches(cts["b1"], 7100)
    assert not guest_ssh.opens(cts["a1"].ip, cts["b1"].ip, 7100)  # isolation is back too


def test_lab_reset_removes_everything(lab: LabInstance) -> None:
    control.reset(lab)
    assert containers(lab) == []
    assert lab_bridges(lab) == []
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert lab.nft_table not in tables
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(lab.state_dir) not in processes
    assert not lab.state_dir.exists()
