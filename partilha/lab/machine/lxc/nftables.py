"""The lab instance's firewall: ONE nftables table (`inet <name>`), and for PVE's `ipfilter` a
bridge table of the same name, replaced whole (both at once) on each apply.

What the table enforces, for traffic touching the instance's bridges (its VNets and zones):

- Nothing is forwarded between a lab bridge and any other interface, either way: no guest has
  a path off the machine, and nothing outside reaches a guest through the host's routing.
- Traffic routed between two different VNets of the lab is dropped unless a `Rule` of the allow
  list (PVE's cluster-level `forward` rules, in order: ACCEPT, DROP or REJECT) accepts it.
- Guests reach the host only at their own VNet's gateway, on the package cache's port and ICMP
  echo; everything else a guest sends to the host is dropped.
- A VNet's firewall (its `forward` rules in order, then `policy_forward`) applies to every packet
  forwarded into or out of its bridge, before the guests' chains.
- Per-guest rules (PVE's guest firewall: `policy_in`/`policy_out` and the `in`/`out` rules, in
  order) apply to every packet forwarded to / from the guest's address. A packet must pass the
  sender's `out` chain, the receiver's `in` chain and, between VNets, the allow list.
- The package cache's port is closed to every non-lab interface but `lo`.
- The node network (`nodes`, partilha.lab.cluster.node_hosts) is a segment of its own: its hosts
  reach each other, and the host as guests do (the cache and echo at their gateway); nothing is
  routed between it and any VNet, whatever the allow list says.
- The uplink (`uplink`, partilha.lab.sdn.outside): the link to the outside namespace, where a
  citizen sits. What it sends into a VNet passes the VNet's, the guest's and the allow list's
  checks as routed traffic between VNets does; it reaches nothing on the host itself.

Same-VNet traffic is bridged, not routed. The kernel's bridge netfilter (br_netfilter, built into
this machine's kernel) hands a bridge's IPv4 frames to the inet forward hook, with the bridge as
both input and output interface, when the bridge's own `nf_call_iptables` switch (or the global
`net.bridge.bridge-nf-call-iptables`) is on; partilha.lab.machine.lxc.network turns the per-bridge
switch on for lab bridges only. So the guest rules (matched on the guest's address) also cover
same-VNet traffic, with connection tracking, and the `iifname X oifname X accept` rules let
same-VNet traffic through otherwise. We never load br_netfilter nor change global sysctls: on a
kernel without it, same-VNet traffic is not filtered by guest rules (`bridged_traffic_filtered()`
says which case holds); a bridge-family table would be the only way there, and without bridge
conntrack (missing here too) it could not tell replies from new connections, so we do not pretend.

A guest with `ipfilter` (PVE's anti-spoofing) may send IPv4 and ARP from its allowed addresses
only (its own, and those of its `ipfilter-net0` IP set): the bridge table drops, on its NIC's
host end (its veth port), every frame that claims another source address, before any rule
matched on addresses sees it.

Host-originated traffic (the lab's API, pyinfra, tests SSHing from the host) is not filtered:
it is the management path. Nothing here touches any other table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Literal

from partilha.lab.machine.lxc.commands import run
from partilha.lab.machine.lxc.containers import host_veth

Action = Literal["ACCEPT", "DROP", "REJECT"]
Policy = Action
Port = int | tuple[int, int]  # one port, or a first-last range
Address = IPv4Network | tuple[IPv4Address, IPv4Address]  # a network, or a first-last range
_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_NAMED_PROTOS = ("tcp", "udp", "icmp", "sctp", "dccp", "udplite")
_PORT_PROTOS = ("tcp", "udp", "sctp", "dccp", "udplite")
# nft's names of ICMP types (the ones PVE's iptables names share with it)
ICMP_TYPES = frozenset({
    "echo-reply", "destination-unreachable", "source-quench", "redirect", "echo-request",
    "router-advertisement", "router-solicitation", "time-exceeded", "parameter-problem",
    "timestamp-request", "timestamp-reply", "address-mask-request", "address-mask-reply"})


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or adjacent ranges joined: nft refuses overlapping intervals in one set."""
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def _set_text(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _ports_text(ports: tuple[Port, ...]) -> str:
    ranges = [p if isinstance(p, tuple) else (p, p) for p in ports]
    for low, high in ranges:
        if not 0 <= low <= high <= 65535:
            raise ValueError(f"invalid port range {low}-{high}")
    return _set_text([str(a) if a == b else f"{a}-{b}" for a, b in _merged(ranges)])


def _addresses_text(addresses: tuple[Address, ...]) -> str:
    ranges = [(int(a.network_address), int(a.broadcast_address)) if isinstance(a, IPv4Network)
              else (int(a[0]), int(a[1])) for a in addresses]
    for low, high in ranges:
        if low > high:
            raise ValueError(f"invalid address range {IPv4Address(low)}-{IPv4Address(high)}")
    return _set_text([str(IPv4Address(a)) if a == b else f"{IPv4Address(a)}-{IPv4Address(b)}"
                      for a, b in _merged(ranges)])


@dataclass(frozen=True)
class Rule:
    """One firewall rule (a PVE rule after its macro is expanded): a match and a verdict.

    `proto` is a name nft knows or an IP protocol number; ports need a protocol with ports,
    `icmp_type` needs `icmp`. An ACCEPT lets the packet on to the next check (the guest chains
    return, the forward chain accepts); DROP drops; REJECT answers as PVE's `PVEFW-reject` does.
    """

    action: Action = "ACCEPT"
    proto: str | int | None = None
    dport: tuple[Port, ...] = ()
    sport: tuple[Port, ...] = ()
    icmp_type: str | int | None = None
    src: tuple[Address, ...] = ()
    dst: tuple[Address, ...] = ()
    comment: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.proto, str) and self.proto not in _NAMED_PROTOS:
            raise ValueError(f"protocol {self.proto!r}: give its number")
        if isinstance(self.proto, int) and not 0 <= self.proto <= 255:
            raise ValueError(f"invalid protocol number {self.proto}")
        if (self.dport or self.sport) and self.proto not in _PORT_PROTOS:
            raise ValueError("ports need a protocol with ports (tcp, udp, ...)")
        if self.icmp_type is not None:
            if self.proto != "icmp" or self.dport or self.sport:
                raise ValueError("an ICMP type needs proto icmp and no ports")
            if (self.icmp_type not in ICMP_TYPES if isinstance(self.icmp_type, str)
                    else not 0 <= self.icmp_type <= 255):
                raise ValueError(f"unknown ICMP type {self.icmp_type!r}")

    def match(self) -> str:
        parts: list[str] = []
        if self.src:
            parts.append(f"ip saddr {_addresses_text(self.src)}")
        if self.dst:
            parts.append(f"ip daddr {_addresses_text(self.dst)}")
        if self.sport:
            parts.append(f"{self.proto} sport {_ports_text(self.sport)}")
        if self.dport:
            parts.append(f"{self.proto} dport {_ports_text(self.dport)}")
        if self.icmp_type is not None:
            parts.append(f"icmp type {self.icmp_type}")
        if self.proto is not None and not (self.sport or self.dport or self.icmp_type is not None):
            parts.append(f"meta l4proto {self.proto}")
        return " ".join(parts)

    def render(self, accept: str) -> str:
        verdict = {"ACCEPT": accept, "DROP": "drop", "REJECT": "goto pve_reject"}[self.action]
        return " ".join(filter(None, (self.match(), verdict))) + _comment(self.comment)


@dataclass(frozen=True)
class GuestFilter:
    """A guest's firewall (PVE guest `firewall/options` policies + `firewall/rules`, groups
    expanded), enforced on what is forwarded to (`in`) and from (`out`) the guest's address."""

    vmid: int
    ip: IPv4Address
    policy_in: Policy = "DROP"
    rules_in: tuple[Rule, ...] = ()
    policy_out: Policy = "ACCEPT"
    rules_out: tuple[Rule, ...] = ()
    container: str = ""  # the guest's container (its NIC's host end is derived from it)
    ipfilter: tuple[Address, ...] | None = None  # PVE's ipfilter: the addresses it may send from


@dataclass(frozen=True)
class VNetFilter:
    """A VNet's firewall (PVE 8.3: its `forward` rules, in order, then `policy_forward`), on what
    is forwarded into or out of its bridge, bridged or routed."""

    bridge: str
    policy: Literal["ACCEPT", "DROP"] = "ACCEPT"
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class VNetNet:
    """A VNet bridge with its subnet gateway (the host's address on it)."""

    bridge: str
    gateway: IPv4Interface


@dataclass(frozen=True)
class LabFirewall:
    table: str  # the nftables table name, e.g. "partilha_pt1a2b"
    vnets: tuple[VNetNet, ...] = ()
    zone_bridges: tuple[str, ...] = ()
    cache_port: int | None = 3142
    allow: tuple[Rule, ...] = ()  # PVE cluster `forward` rules: routed traffic between VNets
    guests: tuple[GuestFilter, ...] = field(default=())
    nodes: VNetNet | None = None  # the node hosts' network, when the instance has one
    vnet_filters: tuple[VNetFilter, ...] = ()
    uplink: VNetNet | None = None  # the outside's link (its host end as `bridge`), when there is one

    def __post_init__(self) -> None:
        if not _TABLE.match(self.table):
            raise ValueError(f"invalid nftables table name {self.table!r}")

    @property
    def gateways(self) -> tuple[VNetNet, ...]:
        """The segments whose hosts may reach the host at their gateway."""
        return (*self.vnets, *((self.nodes,) if self.nodes else ()))

    @property
    def bridges(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(v.bridge for v in self.gateways), *self.zone_bridges]))


def _comment(text: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9 _.,:/=+-]", "", text)[:120]
    return f' comment "{clean}"' if clean else ""


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _guest_chain(vmid: int, direction: str, rules: tuple[Rule, ...], policy: Policy) -> list[str]:
    """A guest's rules for one direction in order, then its policy; an ACCEPT returns to
    `lab_forward`, where the other checks (the peer's chain, the VNet isolation) still apply."""
    tag = f'comment "guest {vmid} policy_{direction}"'
    last = {"ACCEPT": "return", "DROP": f"counter drop {tag}",
            "REJECT": f"counter goto pve_reject {tag}"}[policy]
    return [f"\tchain guest_{vmid}_{direction} {{", *(f"\t\t{r.render('return')}" for r in rules),
            f"\t\t{last}", "\t}"]


def render(firewall: LabFirewall) -> str:
    """The table as `nft -f` input (the table's definition only)."""
    out: list[str] = [f"table inet {firewall.table} {{"]
    out.append("\tset lab_ifs {\n\t\ttype ifname")
    ifs = (*firewall.bridges, *((firewall.uplink.bridge,) if firewall.uplink else ()))
    if ifs:
        out.append(f"\t\telements = {{ {_quoted(ifs)} }}")
    out.append("\t}")

    out += [
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        "\t\tiifname @lab_ifs jump lab_forward",
        "\t\toifname @lab_ifs jump lab_forward",
        "\t}",
        "\tchain lab_forward {",
        '\t\tiifname != @lab_ifs counter drop comment "into the lab from outside"',
        '\t\toifname != @lab_ifs counter drop comment "off the machine"',
        "\t\tct state invalid drop",
        "\t\tct state established,related accept",
        "\t\tmeta nfproto ipv6 drop",
    ]
    if firewall.nodes is not None:
        at = f'"{firewall.nodes.bridge}"'
        out += [f'\t\tiifname {at} oifname {at} accept comment "between nodes (bridged)"',
                f'\t\tiifname {at} counter drop comment "node network: not routed"',
                f'\t\toifname {at} counter drop comment "node network: not routed"']
    for i, filtered in enumerate(firewall.vnet_filters):
        out += [f'\t\t{way} "{filtered.bridge}" jump vnet_{i}' for way in ("iifname", "oifname")]
    out += [f"\t\tip saddr {g.ip} jump guest_{g.vmid}_out" for g in firewall.guests]
    out += [f"\t\tip daddr {g.ip} jump guest_{g.vmid}_in" for g in firewall.guests]
    out += [f'\t\tiifname "{b}" oifname "{b}" accept comment "same VNet (bridged)"' for b in firewall.bridges]
    out += [f"\t\t{rule.render('accept')}" for rule in firewall.allow]
    out += ['\t\tcounter drop comment "between VNets"', "\t}"]
    for i, filtered in enumerate(firewall.vnet_filters):
        tag = f'comment "vnet {filtered.bridge} policy_forward"'
        last = "return" if filtered.policy == "ACCEPT" else f"counter drop {tag}"
        out += [f"\tchain vnet_{i} {{", *(f"\t\t{r.render('return')}" for r in filtered.rules),
                f"\t\t{last}", "\t}"]
    for guest in firewall.guests:
        out += _guest_chain(guest.vmid, "in", guest.rules_in, guest.policy_in)
        out += _guest_chain(guest.vmid, "out", guest.rules_out, guest.policy_out)
    out += [
        "\tchain pve_reject {",  # PVE's PVEFW-reject: TCP reset, UDP port unreachable
        "\t\tmeta l4proto tcp reject with tcp reset",
        "\t\tmeta l4proto udp reject with icmpx type port-unreachable",
        "\t\tmeta l4proto icmp drop",
        "\t\treject with icmpx type admin-prohibited",
        "\t}",
    ]

    out += [
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        "\t\tiifname @lab_ifs jump lab_input",
    ]
    if firewall.cache_port is not None:
        out.append(
            f'\t\tiifname != "lo" tcp dport {firewall.cache_port} counter drop '
            'comment "package cache: lab only"'
        )
    out += [
        "\t}",
        "\tchain lab_input {",
        "\t\tct state invalid drop",
        "\t\tct state established,related accept",
    ]
    for vnet in firewall.gateways:
        at = f'iifname "{vnet.bridge}" ip daddr {vnet.gateway.ip}'
        out.append(f"\t\t{at} icmp type echo-request accept")
        if firewall.cache_port is not None:
            out.append(f"\t\t{at} tcp dport {firewall.cache_port} accept")
    out += ['\t\tcounter drop comment "guests reach the host only at the gateway cache"', "\t}", "}"]
    return "\n".join(out) + "\n"


def render_bridge(firewall: LabFirewall) -> str:
    """The bridge table: `ipfilter`, on each such guest's veth port."""
    out = [f"table bridge {firewall.table} {{", "\tchain prerouting {",
           "\t\ttype filter hook prerouting priority -300; policy accept;"]
    for guest in firewall.guests:
        if guest.ipfilter is not None and guest.container:
            at, tag = f'iifname "{host_veth(guest.container)}"', f'comment "guest {guest.vmid} ipfilter"'
            if not guest.ipfilter:  # an empty set: nothing may be sent
                out += [f"\t\t{at} ether type {{ ip, arp }} counter drop {tag}"]
                continue
            allowed = _addresses_text(guest.ipfilter)
            out += [f"\t\t{at} ether type ip ip saddr != {allowed} counter drop {tag}",
                    f"\t\t{at} ether type arp arp saddr ip != {allowed} counter drop {tag}"]
    return "\n".join([*out, "\t}", "}"]) + "\n"


FAMILIES = ("inet", "bridge")


def apply(firewall: LabFirewall) -> None:
    """Replace both tables atomically (one `nft -f` transaction: create-if-missing, delete, define)."""
    script = "".join(f"table {f} {firewall.table} {{}}\ndelete table {f} {firewall.table}\n"
                     for f in FAMILIES)
    run(["nft", "-f", "-"], input_text=script + render(firewall) + render_bridge(firewall), timeout=30)


def exists(table: str, family: str = "inet") -> bool:
    return run(["nft", "list", "table", family, table], check=False, timeout=30).returncode == 0


def remove(table: str) -> None:
    """Delete the instance's tables (and only them). Idempotent."""
    if not _TABLE.match(table):
        raise ValueError(f"invalid nftables table name {table!r}")
    for family in FAMILIES:
        if exists(table, family):
            run(["nft", "delete", "table", family, table], timeout=30)


def list_tables(prefix: str) -> list[str]:
    """Names of the inet or bridge tables starting with `prefix` (for cleanup of crashed runs)."""
    names: list[str] = []
    for family in FAMILIES:
        out = run(["nft", "list", "tables", family], timeout=30).stdout
        names += [line.split()[-1] for line in out.splitlines() if line.startswith(f"table {family} ")]
    return sorted({n for n in names if n.startswith(prefix)})


def bridged_traffic_filtered(bridge: str) -> bool:
    """True when `bridge`'s bridged IPv4 (same-VNet) traffic passes the inet hooks."""
    own = Path(f"/sys/class/net/{bridge}/bridge/nf_call_iptables")
    flag = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    on = (own.exists() and own.read_text().strip() == "1") or (
        flag.exists() and flag.read_text().strip() == "1"
    )
    return on and Path("/proc/sys/net/bridge").is_dir()
