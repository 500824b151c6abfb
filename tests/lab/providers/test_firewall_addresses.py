"""IPSet, Alias and VNetFirewall on the real engine and lab: create, no-op, drift found by refresh
and put back by up (an IP set entry or a VNet rule removed, an alias changed behind partilha's
back), destroy; and what PVE refuses (an IP set name, an address, a rule naming a missing set),
in PVE's words."""

from __future__ import annotations

from collections.abc import Iterator

import pulumi
import pytest
from proxmoxer import ProxmoxAPI
from pulumi import automation as auto

from partilha.proxmox.resources.cluster_firewall import ClusterRules
from partilha.proxmox.resources.firewall_addresses import Alias, IPSet
from partilha.proxmox.resources.vnet_firewall import VNetFirewall

from .conftest import LabStack

RULE = {"type": "forward", "action": "ACCEPT", "source": "+tfa", "dest": "tf-gis", "proto": "tcp",
        "dport": "443", "comment": "flow tfa -> tf-gis"}


VNET_RULES = [{"type": "forward", "action": "ACCEPT", "source": "+tfa", "dest": "+tfa", "comment": "within"},
              {"type": "forward", "action": "ACCEPT", "proto": "tcp", "dport": "22", "comment": "ssh"}]


def named(rules: list[dict[str, str]] | None = None, entries: tuple[str, ...] = ("10.101.0.0/24",),
          ipset: str = "tfa", vnet: str | None = None) -> None:
    made = [IPSet("tfa", ipset=ipset, comment="VNet tfa", entries=[{"cidr": c} for c in entries]),
            Alias("gis", alias="tf-gis", cidr="10.30.0.17/32", comment="the GIS")]
    uses = pulumi.ResourceOptions(depends_on=made)
    ClusterRules("rules", rules=rules if rules is not None else [RULE], opts=uses)
    if vnet is not None:
        VNetFirewall("fw", vnet=vnet, rules=VNET_RULES, opts=uses)


def entries(api: ProxmoxAPI) -> list[tuple[str, int]]:
    return sorted((e["cidr"], int(e.get("nomatch", 0))) for e in api.cluster.firewall.ipset("tfa").get())


@pytest.fixture
def vnet(admin_token: ProxmoxAPI) -> Iterator[str]:
    admin_token.cluster.sdn.zones.post(zone="tfz", type="simple")
    admin_token.cluster.sdn.vnets.post(vnet="tfv", zone="tfz")
    try:
        yield "tfv"
    finally:
        admin_token.cluster.sdn.vnets("tfv").delete()
        admin_token.cluster.sdn.zones("tfz").delete()


def test_lifecycle_and_drift(stack: LabStack, admin_token: ProxmoxAPI, vnet: str) -> None:
    program = lambda: named(entries=("10.101.0.7/24", "10.102.0.0/24"), vnet=vnet)  # noqa: E731
    fw = admin_token.cluster.sdn.vnets(vnet).firewall
    assert stack.up(program) == {"create": 4}
    assert entries(admin_token) == [("10.101.0.0/24", 0), ("10.102.0.0/24", 0)]
    assert admin_token.cluster.firewall.aliases("tf-gis").get()["cidr"] == "10.30.0.17"
    assert [r["source"] for r in admin_token.cluster.firewall.rules.get()] == ["+tfa"]
    assert (fw.options.get()["enable"], fw.options.get()["policy_forward"]) == (1, "DROP")
    assert [r["comment"] for r in fw.rules.get()] == ["within", "ssh"]
    assert stack.up() == {"same": 4} and stack.writes() == []  # a cleaned address diffs equal

    admin_token.cluster.firewall.ipset("tfa")("10.102.0.0%2F24").delete()  # behind its back
    admin_token.cluster.firewall.aliases("tf-gis").put(cidr="10.30.0.99", comment="the GIS")
    fw.rules(1).delete()
    assert stack.refresh() == {"tfa": ["entries"], "gis": ["cidr"], "fw": ["rules"]}
    assert stack.up() == {"same": 1, "update": 3}
    assert entries(admin_token) == [("10.101.0.0/24", 0), ("10.102.0.0/24", 0)]
    assert admin_token.cluster.firewall.aliases("tf-gis").get()["cidr"] == "10.30.0.17"
    assert [r["comment"] for r in fw.rules.get()] == ["within", "ssh"]

    assert stack.up(lambda: named(entries=("10.101.0.0/24",), vnet=vnet)) == {"same": 3, "update": 1}
    assert stack.writes() == ["DELETE /cluster/firewall/ipset/tfa/10.102.0.0%2F24"]  # PVE unescapes it
    stack.destroy()
    assert admin_token.cluster.firewall.ipset.get() == []
    assert admin_token.cluster.firewall.aliases.get() == []
    assert fw.rules.get() == [] and not fw.options.get().get("enable")


def test_what_pve_refuses_fails_up_in_pves_words(stack: LabStack, admin_token: ProxmoxAPI) -> None:
    for program, words in (
            (lambda: named(ipset="1st-set", rules=[]), "value does not match the regex pattern"),
            (lambda: named(entries=("10.101.0.300",), rules=[]),
             "value does not look like a valid IP address or CIDR network"),
            (lambda: named(rules=[{**RULE, "source": "+nosuch"}]), "no such ipset 'nosuch'")):
        with pytest.raises(auto.CommandError, match=words):
            stack.up(program)
    assert admin_token.cluster.firewall.rules.get() == []
    stack.destroy()
