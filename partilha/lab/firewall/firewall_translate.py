"""From PVE's firewall configs to the lab's nftables model (partilha.lab.machine.lxc.nftables): what
pve-firewall would enforce on the lab's guests and on traffic routed between its VNets.

- Nothing is enforced unless the datacenter firewall is on (`cluster.fw` option `enable`).
- A guest's rules apply when its firewall option `enable` is set and its net0 has `firewall=1`,
  matched on net0's IPv4 address; `policy_in` defaults to DROP and `policy_out` to ACCEPT, as
  in PVE. A `group` rule stands for the group's `in`/`out` rules in its place (a group that no
  longer exists counts as empty, as pve-firewall warns and goes on).
- Cluster `forward` rules (with those of the groups cluster rules name) decide, in order, the
  traffic routed between VNets, which the lab otherwise drops: its municipalities' isolation.
  Cluster `in`/`out` rules concern the hosts' own traffic, which the lab does not filter.

- A VNet's firewall (`enable`, `policy_forward` defaulting to ACCEPT, its `forward` rules and
  those of the groups it names) decides, in order, what is forwarded into or out of its bridge.
- A guest's `ipfilter` option: it sends IPv4 and ARP from net0's address only (PVE's default
  `ipfilter-net0` set: the configured address; the lab has no IP sets).

Not realised: disabled rules, IPv6 (the lab is IPv4), `log`, `iface` other than net0 (the lab's
guests have one NIC), ICMP types nft has no name for, and the guest options besides `enable`,
`ipfilter` and the policies (dhcp, macfilter, ndp, radv concern traffic the lab has no use for).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from ipaddress import IPv4Address, IPv4Interface
from typing import Any, Literal, cast

from partilha.lab.firewall import firewall_schema
from partilha.lab.firewall.state import ClusterFirewallConfig, GuestFirewallConfig, Rules
from partilha.lab.guests import lxc_config, qemu_config
from partilha.lab.guests.state import QEMU, GuestRow
from partilha.lab.machine import Action, Address, GuestFilter, Policy, Port, Rule, VNetFilter

Forward = Literal["ACCEPT", "DROP"]
_NFT_PROTOS = ("tcp", "udp", "icmp", "sctp", "dccp", "udplite")


def enabled(conf: ClusterFirewallConfig) -> bool:
    return bool(int(conf.options.get("enable") or 0))


def forward_rules(conf: ClusterFirewallConfig) -> tuple[Rule, ...]:
    return tuple(_chain(conf.rules, conf.groups, "forward")) if enabled(conf) else ()


def vnet_firewalls(conf: ClusterFirewallConfig, configs: Mapping[str, GuestFirewallConfig],
                   bridges: Mapping[str, str]) -> tuple[VNetFilter, ...]:
    """The enabled firewalls of the applied VNets (`bridges`: VNet id -> its bridge)."""
    if not enabled(conf):
        return ()
    return tuple(VNetFilter(bridges[vid], cast(Forward, fw.options.get("policy_forward", "ACCEPT")),
                            tuple(_chain(fw.rules, conf.groups, "forward")))
                 for vid, fw in sorted(configs.items())
                 if vid in bridges and int(fw.options.get("enable") or 0))


def guest_firewalls(conf: ClusterFirewallConfig, guests: Iterable[GuestRow],
                    configs: Mapping[int, GuestFirewallConfig],
                    container: Callable[[int], str]) -> tuple[GuestFilter, ...]:
    if not enabled(conf):
        return ()
    out = []
    for guest in guests:
        fw = configs.get(guest.vmid)
        if fw is None or not int(fw.options.get("enable") or 0):
            continue
        ip = _firewalled_ip(guest)
        if ip is None:
            continue
        out.append(GuestFilter(
            guest.vmid, ip,
            policy_in=cast(Policy, fw.options.get("policy_in", "DROP")),
            rules_in=tuple(_chain(fw.rules, conf.groups, "in")),
            policy_out=cast(Policy, fw.options.get("policy_out", "ACCEPT")),
            rules_out=tuple(_chain(fw.rules, conf.groups, "out")),
            container=container(guest.vmid), ipfilter=bool(int(fw.options.get("ipfilter") or 0))))
    return tuple(out)


def _firewalled_ip(guest: GuestRow) -> IPv4Address | None:
    """net0's static IPv4 address, when net0 has the firewall flag."""
    if not guest.config.get("net0"):
        return None
    parse = qemu_config.parse_net if guest.type == QEMU else lxc_config.parse_net
    try:
        flagged, ip = parse(str(guest.config["net0"])).get("firewall") == "1", guest.shape.ip
    except ValueError:
        return None
    return IPv4Interface(ip).ip if flagged and ip else None


def _chain(rules: Rules, groups: Mapping[str, Rules], direction: str) -> list[Rule]:
    out: list[Rule] = []
    for rule in rules:
        if not int(rule.get("enable") or 0) or rule.get("iface", "net0") != "net0":
            continue
        if rule["type"] == "group":
            out += [r for member in groups.get(rule["action"], []) if member["type"] == direction
                    for r in realised(member)]
        elif rule["type"] == direction:
            out += realised(rule)
    return out


def realised(rule: Mapping[str, Any]) -> list[Rule]:
    """The nftables rules one PVE rule (in, out or forward) stands for; none when disabled or
    when nothing of it can be realised."""
    if not int(rule.get("enable") or 0) or rule.get("ipversion") == 6:
        return []
    parts = firewall_schema.expand_macro(rule) if rule.get("macro") else [dict(rule)]
    out = []
    for part in parts:
        try:
            out.append(_rule(part))
        except ValueError:  # an IPv6 part of a macro, an ICMP type nft cannot name
            continue
    return out


def _rule(rule: Mapping[str, Any]) -> Rule:
    proto = str(rule.get("proto") or "") or None
    number = firewall_schema.protocol_number(proto) if proto else None
    if proto is not None and number is None:
        raise ValueError(f"no IPv4 protocol {proto}")
    icmp_type = rule.get("icmp-type") or (rule.get("dport") if proto == "icmp" else None)
    return Rule(
        action=cast(Action, rule["action"]),
        proto=proto if proto in _NFT_PROTOS else number,
        dport=() if proto == "icmp" else _ports(rule.get("dport")),
        sport=_ports(rule.get("sport")),
        icmp_type=None if icmp_type in (None, "any") else _icmp_type(str(icmp_type)),
        src=_addresses(rule.get("source")),
        dst=_addresses(rule.get("dest")),
        comment=str(rule.get("comment") or ""))


def _icmp_type(name: str) -> str | int:
    return int(name) if name.isdigit() else name


def _ports(text: Any) -> tuple[Port, ...]:
    if not text:
        return ()
    ports = firewall_schema.parse_ports(str(text))
    if any(isinstance(p, str) for p in ports):
        raise ValueError("ICMP type as a port")
    return tuple(p for p in ports if isinstance(p, tuple))


def _addresses(text: Any) -> tuple[Address, ...]:
    if not text:
        return ()
    out: list[Address] = []
    for first, last in firewall_schema.address_ranges(str(text)):
        if not (isinstance(first, IPv4Address) and isinstance(last, IPv4Address)):
            raise ValueError("IPv6 address")
        out.append((first, last))
    return tuple(out)
