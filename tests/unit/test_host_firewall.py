"""A host's nftables ruleset from its model: valid for nft, and read back from `nft -j` into
the same accept rules the model expects."""

from __future__ import annotations

import os
import shutil
import subprocess
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from partilha.deploy.host_firewall import Accept, accepts, expected_accepts, input_policy, ruleset
from partilha.deploy.hosts import Host, Inbound

GUEST = Host(name="abrantes-portal", address="10.101.0.11", kind="guest", env="lab", site="primary",
             groups=("guests",), ssh_sources=("10.10.0.0/24", "10.101.0.1"),
             inbound=(Inbound("tcp", 80, 80), Inbound("tcp", 443, 443)), admin_user="partilha")
NODE = Host(name="pve1", address="10.216.7.11", kind="node", env="lab", site="primary", groups=("nodes",),
            ssh_sources=("10.10.0.0/24", "10.216.7.1"),
            inbound=(Inbound("udp", 5405, 5412, ("10.10.0.0/24",)),))
MGMT = IPv4Network("10.10.0.0/24")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="nft -c needs root")
@pytest.mark.parametrize("host", [GUEST, NODE], ids=["guest", "node"])
def test_ruleset_is_valid_nftables(host: Host, tmp_path: Path) -> None:
    path = tmp_path / "nftables.conf"
    path.write_text(ruleset(host))
    check = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_ruleset_drops_inbound_and_replaces_only_its_table() -> None:
    text = ruleset(GUEST)
    assert "flush ruleset" not in text  # a PVE node's own firewall tables stay
    assert "table inet partilha\ndelete table inet partilha\n" in text
    assert "type filter hook input priority filter; policy drop;" in text
    assert "elements = { 10.10.0.0/24, 10.101.0.1 }" in text
    assert "tcp dport 22 ip saddr @ssh_sources accept" in text
    assert "hook forward priority filter; policy drop;" in text
    assert "hook forward" not in ruleset(NODE)  # nodes route their SDN zones


def test_expected_accepts_are_ssh_plus_declared_ports() -> None:
    assert expected_accepts(NODE) == {
        Accept("tcp", 22, 22, frozenset({MGMT, IPv4Network("10.216.7.1/32")})),
        Accept("udp", 5405, 5412, frozenset({MGMT}))}


# What nft 1.0.6 (Debian 12) prints for GUEST's table, trimmed to the parts read back.
NFT_JSON = {"nftables": [
    {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
    {"set": {"family": "inet", "name": "ssh_sources", "table": "partilha", "type": "ipv4_addr",
             "flags": ["interval"], "elem": [{"prefix": {"addr": "10.10.0.0", "len": 24}}, "10.101.0.1"]}},
    {"chain": {"family": "inet", "table": "partilha", "name": "input", "type": "filter", "hook": "input",
               "prio": 0, "policy": "drop"}},
    {"rule": {"family": "inet", "table": "partilha", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "lo"}}, {"accept": None}]}},
    {"rule": {"family": "inet", "table": "partilha", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                   "right": "@ssh_sources"}}, {"accept": None}]}},
    {"rule": {"family": "inet", "table": "partilha", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                   "right": {"set": [80, 443]}}}, {"accept": None}]}},
    {"rule": {"family": "inet", "table": "partilha", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
                   "right": {"range": [5405, 5412]}}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                   "right": {"prefix": {"addr": "10.10.0.0", "len": 24}}}}, {"accept": None}]}},
    {"rule": {"family": "inet", "table": "partilha", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
        {"drop": None}]}},
]}


def test_accepts_are_read_back_with_named_sets_resolved() -> None:
    assert input_policy(NFT_JSON) == "drop"
    assert accepts(NFT_JSON) == {
        Accept("tcp", 22, 22, frozenset({MGMT, IPv4Network("10.101.0.1/32")})),
        Accept("tcp", 80, 80, None), Accept("tcp", 443, 443, None),
        Accept("udp", 5405, 5412, frozenset({MGMT}))}  # the dropped 8080 is no accept
    assert accepts(NFT_JSON) - expected_accepts(GUEST) == {Accept("udp", 5405, 5412, frozenset({MGMT}))}
