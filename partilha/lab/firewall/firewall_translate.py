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
- A guest's `ipfilter` option, or an `ipfilter-net0` IP set of its own: it sends IPv4 and ARP
  only from that set's addresses and, for a container, net0's configured address (PVE's
  implicit `ipfilter-net<n>` sets).
- A rule's `source`/`dest` naming an IP set or an alias stands for what it resolves to
  (partilha.lab.firewall.firewall_addresses.Book); one naming nothing that exists, or an empty
  set, matches nothing and is left out, as pve-firewall skips a rule it cannot compile.

Not realised: disabled rules, IPv6 (the lab is IPv4), `log`, `iface` other than net0 (the lab's
guests have one NIC), ICMP types nft has no name for, and the guest options besides `enable`,
`ipfilter` and the policies (dhcp, macfilter, ndp, radv concern traffic the lab has no use for).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from ipaddress import IPv4Address, IPv4Interface
from typing import Any, Literal, cast

from partilha.lab.firewall import firewall_schema
from partilha.lab.firewall.firewall_addresses import Book
from partilha.lab.firewall.state import ClusterFirewallConfig, GuestFirewallConfig, Rules
from partilha.lab.guests import QEMU, GuestRow, lxc_config, qemu_config
from partilha.lab.machine import Action, Address, GuestFilter, Policy, Port, Rule, VNetFilter

Forward = Literal["ACCEPT", "DROP"]
IPFILTER_SET = "ipfilter-net0"  # the lab's guests have one NIC
_NFT_PROTOS = ("tcp", "udp", "icmp", "sctp", "dccp", "udplite")


def enabled(conf: ClusterFirewallConfig) -> bool:
    return bool(int(conf.options.get("enable") or 0))


def _book(conf: ClusterFirewallConfig, guest: GuestFirewallConfig | None = None) -> Book:
    return Book(conf.ipsets, conf.aliases, guest.ipsets if guest is not None else {})


def forward_rules(conf: ClusterFirewallConfig) -> tuple[Rule, ...]:
    return tuple(_chain(conf.rules, conf.groups, "forward", _book(conf))) if enabled(conf) else ()


def vnet_firewalls(conf: ClusterFirewallConfig, configs: Mapping[str, GuestFirewallConfig],
                   bridges: Mapping[str, str]) -> tuple[VNetFilter, ...]:
    """The enabled firewalls of the applied VNets (`bridges`: VNet id -> its bridge)."""
    if not enabled(conf):
        return ()
    return tuple(VNetFilter(bridges[vid], cast(Forward, firewall.options.get("policy_forward", "ACCEPT")),
                            tuple(_chain(firewall.rules, conf.groups, "forward", _book(conf))))
                 for vid, firewall in sorted(configs.items())
                 if vid in bridges and int(firewall.options.get("enable") or 0))


def guest_firewalls(conf: ClusterFirewallConfig, guests: Iterable[GuestRow],
                    configs: Mapping[int, GuestFirewallConfig],
                    container: Callable[[int], str]) -> tuple[GuestFilter, ...]:
    if not enabled(conf):
        return ()
    out = []
    for guest in guests:
        firewall = configs.get(guest.vmid)
        if firewall is None or not int(firewall.options.get("enable") or 0):
            continue
        ip = _firewalled_ip(guest)
        if ip is None:
            continue
        book = _book(conf, firewall)
        out.append(GuestFilter(
            guest.vmid, ip,
            policy_in=cast(Policy, firewall.options.get("policy_in", "DROP")),
            rules_in=tuple(_chain(firewall.rules, conf.groups, "in", book)),
            policy_out=cast(Policy, firewall.options.get("policy_out", "ACCEPT")),
            rules_out=tuple(_chain(firewall.rules, conf.groups, "out", book)),
            container=container(guest.vmid), ipfilter=_ipfilter(guest, firewall, ip, book)))
    return tuple(out)


def _ipfilter(guest: GuestRow, firewall: GuestFirewallConfig, ip: IPv4Address,
              book: Book) -> tuple[Address, ...] | None:
    """The addresses net0 may send from, when PVE filters them (`compute_ipfilter_ipset_name`)."""
    own = firewall.ipsets.get(IPFILTER_SET)
    if own is None and not int(firewall.options.get("ipfilter") or 0):
        return None
    allowed = book.ranges(f"+guest/{IPFILTER_SET}") if own is not None else []
    if guest.type != QEMU and int(firewall.options.get("ipfilter") or 0):
        allowed.append((ip, ip))  # a container's configured address is in its set implicitly
    return tuple((a, b) for a, b in allowed if isinstance(a, IPv4Address) and isinstance(b, IPv4Address))


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


def _chain(rules: Rules, groups: Mapping[str, Rules], direction: str, book: Book) -> list[Rule]:
    out: list[Rule] = []
    for rule in rules:
        if not int(rule.get("enable") or 0) or rule.get("iface", "net0") != "net0":
            continue
        if rule["type"] == "group":
            out += [r for member in groups.get(rule["action"], []) if member["type"] == direction
                    for r in realised(member, book)]
        elif rule["type"] == direction:
            out += realised(rule, book)
    return out


def realised(rule: Mapping[str, Any], book: Book) -> list[Rule]:
    """The nftables rules one PVE rule (in, out or forward) stands for; none when disabled or
    when nothing of it can be realised."""
    if not int(rule.get("enable") or 0) or rule.get("ipversion") == 6:
        return []
    parts = firewall_schema.expand_macro(rule) if rule.get("macro") else [dict(rule)]
    out = []
    for part in parts:
        try:
            out.append(_rule(part, book))
        except ValueError:  # an IPv6 part, an ICMP type nft cannot name, a set naming nothing
            continue
    return out


def _rule(rule: Mapping[str, Any], book: Book) -> Rule:
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
        src=_addresses(rule.get("source"), book),
        dst=_addresses(rule.get("dest"), book),
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


def _addresses(text: Any, book: Book) -> tuple[Address, ...]:
    if not text:
        return ()
    out: list[Address] = []
    ranges = book.ranges(str(text))
    if not ranges:
        raise ValueError(f"{text} holds no address")
    for first, last in ranges:
        if not (isinstance(first, IPv4Address) and isinstance(last, IPv4Address)):
            raise ValueError("IPv6 address")
        out.append((first, last))
    return tuple(out)
