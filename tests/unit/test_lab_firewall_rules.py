"""The lab's PVE firewall logic without a lab: rule checks in PVE's words, digests, macros, and the
translation of firewall configs into the nftables model and its text (pure functions)."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from partilha.lab.firewall import firewall_addresses, firewall_schema, firewall_translate
from partilha.lab.firewall.firewall_addresses import Book
from partilha.lab.firewall.firewall_schema import RuleError
from partilha.lab.firewall.state import ClusterFirewallConfig, GuestFirewallConfig
from partilha.lab.guests.state import LXC, GuestRow
from partilha.lab.machine.lxc import containers, nftables


def test_digests_are_pves_sha1_over_sorted_key_value_lines() -> None:
    rules = [{"type": "in", "action": "ACCEPT", "enable": 1}, {"type": "out", "action": "DROP"}]
    text = "action:ACCEPT\nenable:1\ntype:in\naction:DROP\ntype:out\n"
    assert firewall_schema.list_digest(rules) == hashlib.sha1(text.encode()).hexdigest()  # noqa: S324
    assert firewall_schema.object_digest({"enable": 1}) == firewall_schema.list_digest([{"enable": 1}])
    assert firewall_schema.list_digest([{"comment": None}]) == firewall_schema.list_digest([])


@pytest.mark.parametrize(("text", "parsed"), [
    ("22", [(22, 22)]),
    ("80:85,443", [(80, 85), (443, 443)]),
    ("ssh", [(22, 22)]),
    ("echo-request", ["echo-request"]),
])
def test_ports_parse_as_pve_reads_them(text: str, parsed: list[Any]) -> None:
    assert firewall_schema.parse_ports(text) == parsed


@pytest.mark.parametrize(("text", "message"), [
    ("70000", "invalid port '70000'\n"),
    ("9:1", "backwards range '9:1' not allowed, did you mean '1:9'?\n"),
    ("22,", "extraneous commas in list\n"),
    ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "too many entries in port list (> 15 numbers)\n"),
    ("22,echo-request", "ICMP ports not allowed in port range\n"),
])
def test_bad_ports_fail_with_pves_words(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        firewall_schema.parse_ports(text)
    assert str(err.value) == message


def test_address_lists() -> None:
    assert firewall_schema.parse_address_list("10.0.0.0/24,10.1.0.1") == 4
    assert firewall_schema.parse_address_list("+trusted") is None  # an IP set reference
    with pytest.raises(ValueError, match="you can't use a range in a list"):
        firewall_schema.parse_address_list("10.0.0.1-10.0.0.9,10.1.0.1")
    with pytest.raises(ValueError, match="detected mixed ipv4/ipv6 addresses"):
        firewall_schema.parse_address_list("10.0.0.1,fd00::1")


def verified(env: str = "ct", **rule: Any) -> dict[str, Any]:
    firewall_schema.verify_rule(rule, env, Book())
    return rule


@pytest.mark.parametrize(("env", "rule", "param", "message"), [
    ("ct", {"action": "ACCEPT"}, "type", "missing property"),
    ("ct", {"type": "in", "action": "ACCEPT", "macro": "ssh2"}, "macro", "unknown macro 'ssh2'"),
    ("ct", {"type": "in", "action": "ACCEPT", "iface": "eth0"}, "iface",
     r"value does not match the regex pattern 'net\d+'"),
    ("ct", {"type": "forward", "action": "ACCEPT"}, "type",
     "rule type 'forward' is not allowed for ct rules"),
    ("group", {"type": "group", "action": "web"}, "type", "security groups not allowed"),
    ("cluster", {"type": "in", "action": "ACCEPT", "proto": "gre", "dport": "80"}, "dport",
     "protocol 'gre' does not support ports"),
    ("ct", {"type": "in", "action": "ACCEPT", "proto": "tcp", "icmp-type": "echo-request"},
     "proto", "missing property - 'icmp-type' requires this property"),
    ("ct", {"type": "in", "action": "ACCEPT", "dest": "+mgmt"}, "dest", "no such ipset 'mgmt'"),
])
def test_verify_rule_refuses_with_pves_words(env: str, rule: dict[str, Any], param: str,
                                             message: str) -> None:
    with pytest.raises(RuleError) as err:
        firewall_schema.verify_rule(rule, env, Book())
    assert (err.value.param, err.value.message) == (param, message)


def test_verify_rule_spells_macros_and_derives_the_ip_version() -> None:
    rule = verified(type="in", action="ACCEPT", macro="postgresql", source="10.2.0.0/16")
    assert (rule["macro"], rule["ipversion"]) == ("PostgreSQL", 4)
    assert "ipversion" not in verified(type="in", action="DROP", proto="tcp", dport="5432")
    assert firewall_schema.expand_macro(verified(type="in", action="ACCEPT", macro="DNS")) == [
        {"type": "in", "action": "ACCEPT", "proto": "udp", "dport": "53"},
        {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "53"}]


def test_copy_and_delete_follow_pve() -> None:
    rule: dict[str, Any] = {"type": "in", "action": "ACCEPT", "comment": "x"}
    firewall_schema.copy_rule_data(rule, {"comment": "-", "enable": 7, "pos": 3, "digest": "d"})
    assert rule == {"type": "in", "action": "ACCEPT", "enable": 1}  # `pos`, `digest` not kept
    with pytest.raises(RuleError, match=r"no such property \('colour'\)"):
        firewall_schema.delete_rule_properties(rule, ["colour"])


def ct(vmid: int, net0: str) -> GuestRow:
    return GuestRow(vmid, LXC, "pve1", {"net0": net0, "rootfs": "lab-guests:4"}, None, "running", None)


def test_translation_follows_pves_switches_and_groups() -> None:
    guests = [ct(101, "name=eth0,bridge=va,ip=10.1.0.5/24,firewall=1"),
              ct(102, "name=eth0,bridge=va,ip=10.1.0.6/24")]  # no firewall flag on net0
    web = [{"type": "in", "action": "ACCEPT", "macro": "Web", "enable": 1},
           {"type": "out", "action": "DROP", "proto": "udp", "enable": 1}]
    rules = [{"type": "group", "action": "web", "enable": 1},
             {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22", "enable": 0},
             {"type": "in", "action": "ACCEPT", "source": "fd00::/8", "ipversion": 6, "enable": 1},
             {"type": "in", "action": "REJECT", "proto": "icmp", "icmp-type": "echo-request",
              "enable": 1},
             {"type": "group", "action": "gone", "enable": 1}]
    configs = {101: GuestFirewallConfig({"enable": 1, "ipfilter": 1}, rules),
               102: GuestFirewallConfig({"enable": 1}, rules)}
    cluster = ClusterFirewallConfig({"enable": 0}, groups={"web": web})
    assert firewall_translate.guest_firewalls(cluster, guests, configs, "lab-{}".format) == ()  # off
    cluster.options["enable"] = 1
    [fw] = firewall_translate.guest_firewalls(cluster, guests, configs, "lab-{}".format)
    assert (fw.vmid, fw.ip, fw.policy_in, fw.policy_out) == (101, IPv4Address("10.1.0.5"), "DROP",
                                                             "ACCEPT")
    assert (fw.container, fw.ipfilter) == ("lab-101", ((IPv4Address("10.1.0.5"), IPv4Address("10.1.0.5")),))
    bridge = nftables.render_bridge(nftables.LabFirewall("t", guests=(fw,)))
    port = containers.host_veth("lab-101")
    assert f'iifname "{port}" ether type ip ip saddr != 10.1.0.5 counter drop' in bridge
    assert f'iifname "{port}" ether type arp arp saddr ip != 10.1.0.5 counter drop' in bridge
    assert fw.rules_in == (nftables.Rule(proto="tcp", dport=((80, 80),)),
                           nftables.Rule(proto="tcp", dport=((443, 443),)),
                           nftables.Rule("REJECT", proto="icmp", icmp_type="echo-request"))
    assert fw.rules_out == (nftables.Rule("DROP", proto="udp"),)


def test_cluster_forward_rules_become_the_allow_list_in_order() -> None:
    cluster = ClusterFirewallConfig({"enable": 1}, rules=[
        {"type": "forward", "action": "DROP", "proto": "tcp", "dport": "25", "enable": 1},
        {"type": "forward", "action": "ACCEPT", "source": "10.1.0.0/24", "dest": "10.2.0.7",
         "proto": "tcp", "dport": "8080:8090,443", "enable": 1, "comment": "portal"},
        {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "8006", "enable": 1}])
    drop, accept = firewall_translate.forward_rules(cluster)
    assert drop.render("accept") == "tcp dport 25 drop"
    assert accept.render("accept") == ('ip saddr 10.1.0.0-10.1.0.255 ip daddr 10.2.0.7 '
                                       'tcp dport { 443, 8080-8090 } accept comment "portal"')


def test_an_enabled_vnet_firewall_filters_its_bridge_with_its_forward_rules() -> None:
    cluster = ClusterFirewallConfig({"enable": 1}, groups={"web": [
        {"type": "forward", "action": "ACCEPT", "proto": "tcp", "dport": "443", "enable": 1}]})
    configs = {"va": GuestFirewallConfig({"enable": 1, "policy_forward": "DROP"}, [
                   {"type": "group", "action": "web", "enable": 1},
                   {"type": "forward", "action": "ACCEPT", "proto": "tcp", "dport": "22", "enable": 0}]),
               "vb": GuestFirewallConfig({"policy_forward": "DROP"}, []),  # not enabled
               "vgone": GuestFirewallConfig({"enable": 1}, [])}  # no such applied VNet
    bridges = {"va": "lab-va", "vb": "lab-vb"}
    [va] = firewall_translate.vnet_firewalls(cluster, configs, bridges)
    assert va == nftables.VNetFilter("lab-va", "DROP", (nftables.Rule(proto="tcp", dport=((443, 443),)),))
    assert firewall_translate.vnet_firewalls(ClusterFirewallConfig(), configs, bridges) == ()
    text = nftables.render(nftables.LabFirewall("t", vnet_filters=(va,)))
    assert '\t\tiifname "lab-va" jump vnet_0\n\t\toifname "lab-va" jump vnet_0\n' in text
    assert ('chain vnet_0 {\n\t\ttcp dport 443 return\n\t\tcounter drop comment "vnet lab-va '
            'policy_forward"\n\t}') in text


def test_rendered_sets_merge_what_nft_would_refuse_as_overlapping() -> None:
    rule = nftables.Rule(proto="tcp", dport=(80, (79, 85), 86, 22),
                    src=(IPv4Network("10.0.0.0/30"), (IPv4Address("10.0.0.2"), IPv4Address("10.0.0.9"))))
    assert rule.render("return") == "ip saddr 10.0.0.0-10.0.0.9 tcp dport { 22, 79-86 } return"
    with pytest.raises(ValueError, match="ports need a protocol"):
        nftables.Rule(proto=47, dport=(80,))


# IP sets and aliases

BOOK = Book(
    ipsets={"vabt": [{"cidr": "10.101.0.9", "nomatch": 1}, {"cidr": "10.101.0.0/24"}],
            "gis-servers": [{"cidr": "gis"}, {"cidr": "gone"}], "empty": []},
    aliases={"gis": {"name": "GIS", "cidr": "10.30.0.17", "ipversion": 4}},
    guest_ipsets={"vabt": [{"cidr": "10.1.1.1"}]})


def test_a_set_is_its_entries_minus_its_nomatch_ones_and_aliases_resolve() -> None:
    ip = IPv4Address
    assert BOOK.ranges("+dc/vabt") == [(ip("10.101.0.0"), ip("10.101.0.8")),
                                       (ip("10.101.0.10"), ip("10.101.0.255"))]
    assert BOOK.ranges("+vabt") == [(ip("10.1.1.1"), ip("10.1.1.1"))]  # the guest's own first
    assert BOOK.ranges("+gis-servers") == [(ip("10.30.0.17"), ip("10.30.0.17"))]  # "gone" skipped
    assert BOOK.ranges("Gis") == BOOK.ranges("dc/gis") == [(ip("10.30.0.17"), ip("10.30.0.17"))]
    assert BOOK.ranges("+empty") == []
    for missing, words in (("+nosuch", "no such ipset 'nosuch'"), ("guest/gis", "no such alias 'guest/gis'")):
        with pytest.raises(ValueError, match=words):
            BOOK.ranges(missing)


def test_rules_naming_sets_are_checked_and_realised_through_the_book() -> None:
    rule = {"type": "forward", "action": "ACCEPT", "source": "+vabt", "dest": "gis", "proto": "tcp",
            "dport": "443", "enable": 1}
    firewall_schema.verify_rule(rule, "cluster", BOOK)
    assert rule["ipversion"] == 4  # the alias's
    [realised] = firewall_translate.realised(rule, BOOK)
    assert realised.dst == ((IPv4Address("10.30.0.17"), IPv4Address("10.30.0.17")),)
    assert len(realised.src) == 1  # the guest's set: a cluster rule sees only the book it is given
    assert firewall_translate.realised({**rule, "source": "+empty"}, BOOK) == []  # matches nothing
    with pytest.raises(RuleError, match="invalid ipset name '\\+1x'"):
        firewall_schema.verify_rule({**rule, "source": "+1x"}, "cluster", BOOK)


@pytest.mark.parametrize(("text", "kept"), [
    ("10.101.0.7/24", ("10.101.0.0/24", 4)), ("10.101.0.7/32", ("10.101.0.7", 4)),
    ("10.101.0.7", ("10.101.0.7", 4)), ("fd00::1/128", ("fd00::1", 6))])
def test_set_entries_are_kept_as_pve_cleans_them(text: str, kept: tuple[str, int]) -> None:
    assert firewall_addresses.entry_cidr(text) == kept


@pytest.mark.parametrize(("text", "message"), [
    ("10.0.0.300", "value does not look like a valid IP address or CIDR network\n"),
    ("10.0.0.0/33", "Invalid prefix length /33\n"), ("office hours", "value does not look like a "
                                                     "valid IP address or CIDR network\n")])
def test_bad_addresses_fail_with_pves_words(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        firewall_addresses.verify_ip_or_cidr_or_alias(text)
    assert str(err.value) == message
