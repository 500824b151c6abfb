"""HaGroup and HaResource: create, no-op, update in place, drift, replace, delete — on the real
engine and lab, for a stopped container (PVE wants the guest to exist)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from partilha.proxmox.resources.ha import HaGroup, HaResource
from partilha.proxmox.template import TEMPLATE_FILE

from .conftest import LabStack

CT = 9301


@pytest.fixture(scope="module")
def container(admin_token: ProxmoxAPI) -> int:
    admin_token.cluster.sdn.zones.post(zone="thaz", type="simple")
    admin_token.cluster.sdn.vnets.post(vnet="thav", zone="thaz")
    _wait(admin_token, admin_token.cluster.sdn.put())
    _wait(admin_token, admin_token.nodes("pve1").lxc.post(
        vmid=CT, ostemplate=f"local:vztmpl/{TEMPLATE_FILE}", net0="name=eth0,bridge=thav"))
    return CT


def _wait(api: ProxmoxAPI, upid: str) -> None:
    for _ in range(600):
        status = api.nodes(upid.split(":")[1]).tasks(upid).status.get()
        if status["status"] == "stopped":
            assert status["exitstatus"] == "OK"
            return
        time.sleep(0.2)
    raise AssertionError(f"{upid} still running")


def ha(group: dict[str, Any], resource: dict[str, Any]) -> None:
    made = HaGroup("g", **{"group": "tha1", "nodes": {"pve2": 1, "pve1": 2}, **group})
    HaResource("r", **{"sid": f"ct:{CT}", "group": made.group, "comment": "portal", **resource})


def test_ha_lifecycle(stack: LabStack, admin_token: ProxmoxAPI, container: int) -> None:
    assert stack.up(lambda: ha({}, {})) == {"create": 2}
    assert stack.writes() == ["POST /cluster/ha/groups", "POST /cluster/ha/resources"]
    assert admin_token.cluster.ha.groups("tha1").get()["nodes"] == "pve1:2,pve2:1"
    resource = admin_token.cluster.ha.resources(f"ct:{CT}").get()
    assert (resource["group"], resource["state"], resource["comment"]) == ("tha1", "started", "portal")

    assert stack.up() == {"same": 2}
    assert stack.writes() == []

    assert stack.up(lambda: ha({"nodes": {"pve1": 1, "pve2": 2}, "nofailback": True},
                               {"max_restart": 2, "comment": ""})) == {"update": 2}
    assert sorted(stack.writes()) == ["PUT /cluster/ha/groups/tha1", f"PUT /cluster/ha/resources/ct:{CT}"]
    group = admin_token.cluster.ha.groups("tha1").get()
    assert (group["nodes"], group["nofailback"]) == ("pve1:1,pve2:2", 1)
    resource = admin_token.cluster.ha.resources(f"ct:{CT}").get()
    assert resource["max_restart"] == 2 and "comment" not in resource

    admin_token.cluster.ha.resources(f"ct:{CT}").put(state="stopped")
    admin_token.cluster.ha.groups("tha1").put(nodes="pve3")
    assert stack.refresh() == {"g": ["nodes"], "r": ["state"]}
    assert stack.up() == {"update": 2}  # put back as declared
    assert admin_token.cluster.ha.resources(f"ct:{CT}").get()["state"] == "started"

    # a new group name: the new group first, the resource moved to it, then the old one deleted
    assert stack.up(lambda: ha({"group": "tha2", "nodes": {"pve1": 1, "pve2": 2},
                                "nofailback": True}, {"max_restart": 2, "comment": ""})) == {
        "replace": 1, "update": 1}
    assert [g["group"] for g in admin_token.cluster.ha.groups.get()] == ["tha2"]
    assert admin_token.cluster.ha.resources(f"ct:{CT}").get()["group"] == "tha2"

    stack.destroy()
    assert admin_token.cluster.ha.resources.get() == []
    assert admin_token.cluster.ha.groups.get() == []
