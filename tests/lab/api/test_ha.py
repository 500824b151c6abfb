"""HA groups and resources through PVE's API, with proxmoxer: state only (the lab runs no HA
manager), but with pve-ha-manager's validation, words, digests and permissions, and what a
guest's status/current and cluster/resources report of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException
from proxmoxer_types import v9

from partilha.lab.instance import LabInstance

pytestmark = pytest.mark.lab

WaitTask = Callable[..., dict[str, Any]]
CT, VM = 9401, 9402


@pytest.fixture(scope="module")
def guests(admin: ProxmoxAPI, make_vnets: Callable[..., Any], ostemplate: str,
           wait_task: WaitTask) -> None:
    """A stopped CT and a stopped VM on a VNet: HA resources need guests that exist."""
    make_vnets("haz", "vha")
    node = admin.nodes("pve1")
    for upid in (node.lxc.post(vmid=CT, ostemplate=ostemplate, net0="name=eth0,bridge=vha"),
                 node.qemu.post(vmid=VM, name="ha-vm", net0="virtio,bridge=vha")):
        assert wait_task(admin, upid)["exitstatus"] == "OK"


def failure(call: Callable[[], Any]) -> tuple[int, str, dict[str, str] | None]:
    with pytest.raises(ResourceException) as err:
        call()
    return err.value.status_code, err.value.content, err.value.errors


def test_groups_crud_with_pves_words(admin: ProxmoxAPI, modified: str) -> None:
    groups = admin.cluster.ha.groups
    groups.post(group="cim-a", nodes="pve1:2,pve2", restricted=1, comment="Médio Tejo")
    assert failure(lambda: groups.post(group="cim-a", nodes="pve1")) == (
        500, "create ha group failed: ha group ID 'cim-a' already defined", None)
    assert failure(lambda: groups.post(group="cim-b", nodes="pve1:x")) == (
        400, "Parameter verification failed.",
        {"nodes": "invalid format - value does not look like a valid ha group node\n"})
    assert failure(lambda: groups.post(group="cim-b"))[2] == {
        "nodes": "property is missing and it is not optional"}
    group = groups("cim-a").get()
    assert {k: group[k] for k in ("group", "type", "nodes", "restricted", "comment")} == {
        "group": "cim-a", "type": "group", "nodes": "pve1:2,pve2", "restricted": 1,
        "comment": "Médio Tejo"}
    groups("cim-a").put(nofailback=1, digest=group["digest"])
    assert failure(lambda: groups("cim-a").put(comment="lost", digest=group["digest"])) == (
        500, f"update ha group failed: {modified}", None)
    assert failure(lambda: groups("cim-a").put(delete="nodes")) == (
        500, "update ha group failed: unable to delete required option 'nodes'", None)
    groups("cim-a").put(delete="comment")
    assert "comment" not in groups("cim-a").get() and groups("cim-a").get()["nofailback"] == 1
    assert failure(lambda: groups("nope").get()) == (500, "no such ha group 'nope'", None)
    assert [g["group"] for g in groups.get()] == ["cim-a"]


def test_resources_crud_with_pves_words(admin: ProxmoxAPI, guests: None, modified: str) -> None:
    resources = admin.cluster.ha.resources
    resources.post(sid=f"ct:{CT}", group="cim-a", max_restart=2, comment="portal")
    resources.post(sid=str(VM), state="stopped")  # a bare vmid takes the guest's type
    assert failure(lambda: resources.post(sid=f"ct:{CT}")) == (
        500, f"create resource failed: resource ID 'ct:{CT}' already defined", None)
    assert failure(lambda: resources.post(sid="9999")) == (
        500, "unable do add resource - VM/CT 9999 does not exist", None)
    assert failure(lambda: resources.post(sid="ct:9998"))[1] == "resource 'ct:9998' does not exist in cluster"
    assert failure(lambda: resources.post(sid=f"vm:{CT}"))[1] == (
        f"resource 'vm:{CT}' - guest with ID {CT} is not a VM")
    assert failure(lambda: resources.post(sid="ct:abc"))[1] == "invalid VMID"
    assert failure(lambda: resources.post(sid="ct 1"))[2] == {
        "sid": "invalid format - value does not look like a valid ha resource id\n"}
    assert failure(lambda: resources.post(sid=f"ct:{CT}", state="running"))[0] == 400
    entry = resources(f"ct:{CT}").get()
    assert {k: entry[k] for k in ("sid", "type", "group", "max_restart")} == (
        {"sid": f"ct:{CT}", "type": "ct", "group": "cim-a", "max_restart": 2})
    assert resources(str(VM)).get()["sid"] == f"vm:{VM}"
    assert failure(lambda: resources(f"ct:{CT}").put(group="nope")) == (
        500, "HA group 'nope' does not exist", None)
    resources(f"ct:{CT}").put(state="started", digest=entry["digest"])
    assert failure(lambda: resources(f"ct:{CT}").put(comment="x", digest=entry["digest"]))[1] == (
        f"update resource failed: {modified}")
    assert failure(lambda: admin.cluster.ha.groups("cim-a").delete())[1] == (
        f"delete ha group failed: ha group is used by service 'ct:{CT}'")
    assert sorted(r["sid"] for r in resources.get()) == [f"ct:{CT}", f"vm:{VM}"]
    assert [r["sid"] for r in resources.get(type="vm")] == [f"vm:{VM}"]


def test_guests_report_their_ha_state(admin: ProxmoxAPI, guests: None) -> None:
    status = admin.nodes("pve1").lxc(CT).status.current.get()
    assert status["ha"] == {"managed": 1, "group": "cim-a", "state": "started"}
    assert admin.nodes("pve1").qemu(VM).status.current.get()["ha"] == {"managed": 1, "state": "stopped"}
    hastate = {r["vmid"]: r.get("hastate") for r in admin.cluster.resources.get(type="vm")}
    assert hastate == {CT: "started", VM: "stopped"}
    current = admin.cluster.ha.status.current.get()
    assert current[0]["type"] == "quorum" and current[0]["status"] == "OK"
    assert {e["sid"]: e["state"] for e in current[1:]} == {f"ct:{CT}": "started", f"vm:{VM}": "stopped"}


def test_ha_status_validates_against_pve9_schema(lab: LabInstance, creds: dict[str, Any],
                                                 guests: None) -> None:
    """PVE 8's published schema calls each line's `type` an object (its answers carry a string),
    so proxmoxer-stubs' v8 model cannot validate any real answer; v9's can."""
    typed = v9.ProxmoxAPI("127.0.0.1", port=lab.port, user=creds["username"],
                          password=creds["password"], verify_ssl=str(lab.cert))
    typed.cluster.ha.status.current.get.model()
    typed.cluster.ha.resources(f"ct:{CT}").get.model()


def test_permissions_are_pves(lab: LabInstance, admin: ProxmoxAPI, guests: None) -> None:
    admin.access.users.post(userid="ha-auditor@pve")
    secret = admin.access.users("ha-auditor@pve").token("ro").post(privsep=0)["value"]
    auditor = ProxmoxAPI("127.0.0.1", port=lab.port, user="ha-auditor@pve", token_name="ro",
                         token_value=secret, verify_ssl=str(lab.cert))
    assert failure(lambda: auditor.cluster.ha.groups.get()) == (
        403, "Permission check failed (/, Sys.Audit)", None)
    admin.access.acl.put(path="/", roles="PVEAuditor", users="ha-auditor@pve")
    assert [g["group"] for g in auditor.cluster.ha.groups.get()] == ["cim-a"]
    assert failure(lambda: auditor.cluster.ha.groups.post(group="cim-x", nodes="pve1")) == (
        403, "Permission check failed (/, Sys.Console)", None)
    assert failure(lambda: auditor.cluster.ha.resources(f"ct:{CT}").delete())[0] == 403


def test_removing_a_guest_needs_purge_and_purge_removes_its_resource(admin: ProxmoxAPI, guests: None,
                                                                     wait_task: WaitTask) -> None:
    ct = admin.nodes("pve1").lxc(CT)
    assert failure(lambda: ct.delete())[1] == (
        f"unable to remove CT {CT} - used in HA resources and purge parameter not set.")
    assert wait_task(admin, ct.delete(purge=1))["exitstatus"] == "OK"
    assert [r["sid"] for r in admin.cluster.ha.resources.get()] == [f"vm:{VM}"]
    admin.cluster.ha.resources(f"vm:{VM}").delete()
    assert failure(lambda: admin.cluster.ha.resources(f"vm:{VM}").delete())[1] == (
        f"resource 'vm:{VM}' is not HA managed")
    admin.cluster.ha.groups("cim-a").delete()
    assert admin.cluster.ha.groups.get() == []
    assert wait_task(admin, admin.nodes("pve1").qemu(VM).delete(purge=1))["exitstatus"] == "OK"
