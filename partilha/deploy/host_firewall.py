"""A host's own nftables firewall, from its model, and reading it back from `nft -j`.

One table (`inet partilha`), replaced as a whole on load, so a PVE node's own firewall tables
are left alone. Inbound is dropped unless it is loopback, a reply, essential ICMP, SSH from
`ssh_sources`, or one of the host's declared `inbound` ports. Outbound is not filtered (apt,
time and services' clients need it; PVE's firewall filters guests from outside).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

from partilha.deploy.hosts import Host, Inbound

TABLE = "partilha"
SSH_PORT = 22
ICMP = "echo-request, destination-unreachable, time-exceeded, parameter-problem"
ICMPV6 = ("echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, "
          "nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert")


def _ports(rule: Inbound) -> str:
    return str(rule.first) if rule.first == rule.last else f"{rule.first}-{rule.last}"


def ruleset(host: Host) -> str:
    """/etc/nftables.conf for `host`."""
    accepts = [f"        {rule.proto} dport {_ports(rule)}"
               + (f" ip saddr {{ {', '.join(rule.sources)} }}" if rule.sources else "") + " accept"
               for rule in host.inbound]
    forward = ([] if host.kind == "node" else  # a node routes its SDN zones
               ["    chain forward {", "        type filter hook forward priority filter; policy drop;",
                "    }"])
    lines = [
        "#!/usr/sbin/nft -f",
        f"# {host.name}: the partilha baseline's host firewall (PTL-FW-01..03), from its host model.",
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        "    set ssh_sources {",
        "        type ipv4_addr",
        "        flags interval",
        f"        elements = {{ {', '.join(host.ssh_sources)} }}",
        "    }",
        "    chain input {",
        "        type filter hook input priority filter; policy drop;",
        '        iif "lo" accept',
        "        ct state established,related accept",
        "        ct state invalid drop",
        f"        icmp type {{ {ICMP} }} limit rate 20/second accept",
        f"        icmpv6 type {{ {ICMPV6} }} accept",
        f"        tcp dport {SSH_PORT} ip saddr @ssh_sources accept",
        *accepts,
        "    }",
        *forward,
        "    chain output {",
        "        type filter hook output priority filter; policy accept;",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Accept:
    """One port-matching accept rule of the input chain, as nft reports it."""

    proto: str
    first: int
    last: int
    sources: frozenset[IPv4Network] | None  # None: from anywhere


def expected_accepts(host: Host) -> set[Accept]:
    ssh = Accept("tcp", SSH_PORT, SSH_PORT, frozenset(IPv4Network(s) for s in host.ssh_sources))
    return {ssh, *(Accept(r.proto, r.first, r.last,
                          frozenset(IPv4Network(s) for s in r.sources) if r.sources else None)
                   for r in host.inbound)}


def input_policy(nft_json: Mapping[str, Any]) -> str | None:
    for item in nft_json.get("nftables", []):
        chain = item.get("chain")
        if chain and chain.get("table") == TABLE and chain.get("name") == "input":
            return str(chain.get("policy"))
    return None


def accepts(nft_json: Mapping[str, Any]) -> set[Accept]:
    """The port-matching accept rules of `inet partilha`'s input chain in `nft -j list ruleset`
    output, with named sets resolved."""
    items = nft_json.get("nftables", [])
    sets = {s["set"]["name"]: _networks(s["set"].get("elem", []))
            for s in items if "set" in s and s["set"].get("table") == TABLE}
    found: set[Accept] = set()
    for item in items:
        rule = item.get("rule")
        if not rule or rule.get("table") != TABLE or rule.get("chain") != "input":
            continue
        exprs = rule.get("expr", [])
        if not any("accept" in e for e in exprs):
            continue
        ports: list[tuple[str, int, int]] = []
        sources: frozenset[IPv4Network] | None = None
        for expr in exprs:
            match = expr.get("match")
            if not match:
                continue
            payload = match.get("left", {}).get("payload", {})
            right = match.get("right")
            if payload.get("field") == "dport":
                ports += [(payload["protocol"], a, b) for a, b in _port_ranges(right)]
            elif payload.get("protocol") == "ip" and payload.get("field") == "saddr":
                sources = sets.get(right[1:], frozenset()) if isinstance(right, str) and \
                    right.startswith("@") else _networks(_listed(right))
        found.update(Accept(proto, a, b, sources) for proto, a, b in ports)
    return found


def _listed(right: Any) -> list[Any]:
    return list(right["set"]) if isinstance(right, dict) and "set" in right else [right]


def _port_ranges(right: Any) -> Iterable[tuple[int, int]]:
    for value in _listed(right):
        if isinstance(value, int):
            yield value, value
        elif isinstance(value, dict) and "range" in value:
            yield int(value["range"][0]), int(value["range"][1])


def _networks(values: Iterable[Any]) -> frozenset[IPv4Network]:
    nets: set[IPv4Network] = set()
    for value in values:
        if isinstance(value, str):
            nets.add(IPv4Network(value))
        elif isinstance(value, dict) and "prefix" in value:
            nets.add(IPv4Network(f"{value['prefix']['addr']}/{value['prefix']['len']}"))
        else:  # ruleset() writes addresses and prefixes only
            raise ValueError(f"unexpected address element in the firewall: {value!r}")
    return frozenset(nets)
