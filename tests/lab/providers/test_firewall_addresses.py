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


def named(rules: list[dict[str, str]] | None = None, entries: tuple[str, ...] = ("10.101.0.0/24",),
          ipset: str = "tfa") -> None:
    made = [IPSet("tfa", ipset=ipset, comment="VNet tfa", entries=[{"cidr": c} for c in entries]),
            Alias("gis", alias="tf-gis", cidr="10.30.0.17/32", comment="the GIS")]
    ClusterRules("rules", rules=rules if rules is not None else [RULE],
                 opts=pulumi.ResourceOptions(depends_on=made))


def entries(api: ProxmoxAPI) -> list[tuple[str, int]]:
    return sorted((e["cidr"], int(e.get("nomatch", 0))) for e in api.cluster.firewall.ipset("tfa").get())


def test_ipsets_and_aliases_lifecycle_and_drift(stack: LabStack, admin_token: ProxmoxAPI) -> None:
    program = lambda: named(entries=("10.101.0.7/24", "10.102.0.0/24"))  # noqa: E731
    assert stack.up(program) == {"create": 3}
    assert entries(admin_token) == [("10.101.0.0/24", 0), ("10.102.0.0/24", 0)]
    assert admin_token.cluster.firewall.aliases("tf-gis").get()["cidr"] == "10.30.0.17"
    assert [r["source"] for r in admin_token.cluster.firewall.rules.get()] == ["+tfa"]
    assert stack.up() == {"same": 3} and stack.writes() == []  # a cleaned address diffs equal

    admin_token.cluster.firewall.ipset("tfa")("10.102.0.0%2F24").delete()  # behind its back
    admin_token.cluster.firewall.aliases("tf-gis").put(cidr="10.30.0.99", comment="the GIS")
    assert stack.refresh() == {"tfa": ["entries"], "gis": ["cidr"]}
    assert stack.up() == {"same": 1, "update": 2}
    assert entries(admin_token) == [("10.101.0.0/24", 0), ("10.102.0.0/24", 0)]
    assert admin_token.cluster.firewall.aliases("tf-gis").get()["cidr"] == "10.30.0.17"

    assert stack.up(lambda: named(entries=("10.101.0.0/24",))) == {"same": 2, "update": 1}
    assert stack.writes() == ["DELETE /cluster/firewall/ipset/tfa/10.102.0.0%2F24"]  # PVE unescapes it
    stack.destroy()
    assert admin_token.cluster.firewall.ipset.get() == []
    assert admin_token.cluster.firewall.aliases.get() == []


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


@pytest.fixture
def vnet(admin_token: ProxmoxAPI) -> Iterator[str]:
    admin_token.cluster.sdn.zones.post(zone="tfz", type="simple")
    admin_token.cluster.sdn.vnets.post(vnet="tfv", zone="tfz")
    try:
        yield "tfv"
    finally:
        admin_token.cluster.sdn.vnets("tfv").delete()
        admin_token.cluster.sdn.zones("tfz").delete()


def test_a_vnet_firewall_lifecycle_and_drift(stack: LabStack, admin_token: ProxmoxAPI, vnet: str) -> None:
    rules = [{"type": "forward", "action": "ACCEPT", "source": "10.101.0.0/24", "dest": "10.101.0.0/24",
              "comment": "within"},
             {"type": "forward", "action": "ACCEPT", "proto": "tcp", "dport": "22", "comment": "ssh"}]
    fw = admin_token.cluster.sdn.vnets(vnet).firewall
    assert stack.up(lambda: VNetFirewall("fw", vnet=vnet, rules=rules)) == {"create": 1}
    assert (fw.options.get()["enable"], fw.options.get()["policy_forward"]) == (1, "DROP")
    assert [r["comment"] for r in fw.rules.get()] == ["within", "ssh"]
    assert stack.up() == {"same": 1} and stack.writes() == []

    fw.rules(1).delete()  # behind its back
    assert stack.refresh() == {"fw": ["rules"]}
    assert stack.up() == {"update": 1}
    assert [r["comment"] for r in fw.rules.get()] == ["within", "ssh"]

    stack.destroy()
    assert fw.rules.get() == [] and not fw.options.get().get("enable")
