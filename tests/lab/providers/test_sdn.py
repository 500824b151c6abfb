"""SdnZone, SdnVnet, SdnSubnet and SdnApply on the real engine and lab: create, no-op, update in
place, drift, replace, delete — with one `PUT /cluster/sdn` per `up` however many objects
changed (deletes, which Pulumi runs last, apply themselves)."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network

import pytest
from proxmoxer import ProxmoxAPI

from partilha.proxmox.resources.sdn import SdnApply, SdnSubnet, SdnVnet, SdnZone

from .conftest import LabStack, Program

APPLY = "PUT /cluster/sdn"


@pytest.fixture(scope="module")
def nets(subnet_pool: Callable[[int], list[IPv4Network]]) -> dict[str, IPv4Network]:
    """Two VNets' subnets, on /24s no route of this machine uses."""
    return dict(zip(("tva", "tvb"), subnet_pool(2), strict=True))


def sdn(nets: dict[str, IPv4Network], *, zone: str = "tz", bridge: str = "tzb1", alias: str = "first",
        gateway: int = 1, snat: bool = False) -> Program:
    """A vlan zone, a tagged VNet with a subnet per entry of `nets`, and their apply."""

    def declare() -> None:
        objects: list[SdnZone | SdnVnet | SdnSubnet] = [
            z := SdnZone("zone", zone=zone, type="vlan", bridge=bridge)]
        for tag, (name, net) in enumerate(nets.items(), start=101):
            vnet = SdnVnet(f"vnet-{name}", vnet=name, zone=z.zone, tag=tag, alias=alias)
            objects += [vnet, SdnSubnet(f"subnet-{name}", vnet=vnet.vnet, cidr=str(net),
                                        gateway=str(net[gateway]), snat=snat)]
        SdnApply("apply", changes=[o.revision for o in objects])

    return declare


def running(api: ProxmoxAPI, section: str) -> dict[str, dict[str, object]]:
    """The applied SDN config (what the nodes run), by id."""
    key = section.rstrip("s")
    return {o[key]: o for o in api.cluster.sdn(section).get(running=1)}


def test_sdn_lifecycle(stack: LabStack, admin_token: ProxmoxAPI, nets: dict[str, IPv4Network]) -> None:
    a, b = nets.values()
    assert stack.up(sdn(nets)) == {"create": 6}
    assert sorted(stack.writes()) == [
        "POST /cluster/sdn/vnets", "POST /cluster/sdn/vnets", "POST /cluster/sdn/vnets/tva/subnets",
        "POST /cluster/sdn/vnets/tvb/subnets", "POST /cluster/sdn/zones", APPLY]
    assert {k: (v["zone"], v["tag"], v["alias"]) for k, v in running(admin_token, "vnets").items()} == {
        "tva": ("tz", 101, "first"), "tvb": ("tz", 102, "first")}
    assert running(admin_token, "zones")["tz"]["bridge"] == "tzb1"

    assert stack.up() == {"same": 6}
    assert stack.writes() == []

    # Every object changed: five updates, one apply.
    assert stack.up(sdn(nets, bridge="tzb2", alias="second", gateway=254, snat=True)) == {"update": 6}
    assert stack.writes().count(APPLY) == 1
    assert sorted(w for w in stack.writes() if w != APPLY) == [
        "PUT /cluster/sdn/vnets/tva", f"PUT /cluster/sdn/vnets/tva/subnets/tz-{a.network_address}-24",
        "PUT /cluster/sdn/vnets/tvb", f"PUT /cluster/sdn/vnets/tvb/subnets/tz-{b.network_address}-24",
        "PUT /cluster/sdn/zones/tz"]
    assert {v["alias"] for v in running(admin_token, "vnets").values()} == {"second"}
    assert running(admin_token, "zones")["tz"]["bridge"] == "tzb2"
    subnet = admin_token.cluster.sdn.vnets("tva").subnets(f"tz-{a.network_address}-24").get(running=1)
    assert (subnet["gateway"], subnet["snat"]) == (str(a[254]), 1)

    # Drift: an alias changed by hand and left pending; refresh shows both, up puts it back.
    admin_token.cluster.sdn.vnets("tva").put(alias="by hand")
    assert stack.refresh() == {"vnet-tva": ["alias"], "apply": ["changes"]}
    assert stack.up() == {"same": 4, "update": 2}
    assert stack.writes() == ["PUT /cluster/sdn/vnets/tva", APPLY]
    assert running(admin_token, "vnets")["tva"]["alias"] == "second"
    assert [v for v in admin_token.cluster.sdn.vnets.get(pending=1) if v.get("state")] == []

    # Replace: another zone id; its VNets and their subnets are made again in it.
    assert stack.up(sdn(nets, zone="tz2", bridge="tzb2", alias="second", gateway=254, snat=True)) == {
        "replace": 5, "update": 1}
    assert stack.writes().count(APPLY) == 1 + 5  # each delete applied itself, the creates once
    assert {k: v["zone"] for k, v in running(admin_token, "vnets").items()} == {"tva": "tz2", "tvb": "tz2"}
    assert set(running(admin_token, "zones")) == {"tz2"}

    stack.destroy()
    assert running(admin_token, "vnets") == {} and running(admin_token, "zones") == {}
