"""A guest's `.fw` file (what vzdump puts in an archive as pct.fw): rendered and read back the
way pve-firewall does, its own IP sets included, its rules checked against the cluster's names."""

from __future__ import annotations

import pytest

from partilha.lab.firewall import firewall_file
from partilha.lab.firewall.firewall_addresses import Book
from partilha.lab.firewall.state import GuestFirewallConfig

CLUSTER = Book({"management": [{"cidr": "10.0.0.0/24"}]}, {})


def test_a_guest_firewall_with_its_own_ip_sets_survives_the_round_trip() -> None:
    conf = GuestFirewallConfig(
        options={"enable": 1, "ipfilter": 1, "policy_in": "DROP"},
        rules=[{"type": "in", "action": "ACCEPT", "macro": "SSH", "source": "+management", "enable": 1},
               {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "443", "source": "+friends",
                "enable": 0, "comment": "later"}],
        ipsets={"ipfilter-net0": [{"cidr": "10.1.0.5"}, {"cidr": "10.1.0.6", "nomatch": 1}],
                "friends": [{"cidr": "10.2.0.0/24", "comment": "gis"}]},
        ipset_comments={"friends": "who may call"})
    text = firewall_file.render(conf)
    assert "[IPSET ipfilter-net0]" in text and "!10.1.0.6" in text
    assert "[IPSET friends] # who may call" in text
    assert firewall_file.parse(text, CLUSTER) == conf


def test_a_rule_naming_a_set_neither_the_file_nor_the_cluster_has_is_refused_naming_its_line() -> None:
    text = "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -source +nowhere -p tcp -dport 22\n"
    with pytest.raises(ValueError, match=r"line 7: .*nowhere"):
        firewall_file.parse(text, CLUSTER)


def test_a_line_outside_any_section_is_refused() -> None:
    with pytest.raises(ValueError, match=r"line 1: 'enable: 1' outside"):
        firewall_file.parse("enable: 1\n", CLUSTER)
