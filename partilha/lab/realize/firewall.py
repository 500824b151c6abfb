"""The lab instance's firewall: ONE nftables table (`inet <name>`), replaced whole on each apply.

What the table enforces, for traffic touching the instance's bridges (its VNets and zones):

- Nothing is forwarded between a lab bridge and any other interface, either way: no guest has
  a path off the machine, and nothing outside reaches a guest through the host's routing.
- Traffic routed between two different VNets of the lab is dropped unless an `AllowRule`
  (PVE cluster-level rule: source any/CIDR, destination CIDR/IP, protocol, port) accepts it.
- Guests reach the host only at their own VNet's gateway, on the package cache's port and ICMP
  echo; everything else a guest sends to the host is dropped.
- Per-guest inbound rules (PVE's guest firewall: `policy_in` plus accept rules) apply to every
  packet forwarded to the guest. A packet must pass both the guest's rules and, between VNets,
  the allow list.
- The package cache's port is closed to every non-lab interface but `lo`.

Same-VNet traffic is bridged, not routed. The kernel's bridge netfilter (br_netfilter, built into
this machine's kernel) hands a bridge's IPv4 frames to the inet forward hook, with the bridge as
both input and output interface, when the bridge's own `nf_call_iptables` switch (or the global
`net.bridge.bridge-nf-call-iptables`) is on; partilha.lab.realize.network turns the per-bridge
switch on for lab bridges only. So the guest rules (matched on the guest's address) also cover
same-VNet traffic, with connection tracking, and the `iifname X oifname X accept` rules let
same-VNet traffic through otherwise. We never load br_netfilter nor change global sysctls: on a
kernel without it, same-VNet traffic is not filtered by guest rules (`bridged_traffic_filtered()`
says which case holds); a bridge-family table would be the only way there, and without bridge
conntrack (missing here too) it could not tell replies from new connections, so we do not pretend.

Host-originated traffic (the lab's API, pyinfra, tests SSHing from the host) is not filtered:
it is the management path. Nothing here touches any other table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Literal

from partilha.lab.realize._cmd import run

Proto = Literal["tcp", "udp", "icmp"]
Policy = Literal["ACCEPT", "DROP", "REJECT"]
_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_PROTO_MATCH = {"tcp": "meta l4proto tcp", "udp": "meta l4proto udp", "icmp": "meta l4proto icmp"}


def _port_text(port: int | tuple[int, int]) -> str:
    if isinstance(port, tuple):
        low, high = port
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"invalid port range {low}-{high}")
        return f"{low}-{high}"
    if not 1 <= port <= 65535:
        raise ValueError(f"invalid port {port}")
    return str(port)


def _match(
    src: IPv4Network | None,
    dst: IPv4Network | None,
    proto: Proto | None,
    dport: int | tuple[int, int] | None,
) -> str:
    parts: list[str] = []
    if src is not None:
        parts.append(f"ip saddr {src}")
    if dst is not None:
        parts.append(f"ip daddr {dst}")
    if dport is not None:
        if proto not in ("tcp", "udp"):
            raise ValueError("a destination port needs proto tcp or udp")
        parts.append(f"{proto} dport {_port_text(dport)}")
    elif proto is not None:
        parts.append(_PROTO_MATCH[proto])
    return " ".join(parts)


@dataclass(frozen=True)
class AllowRule:
    """Accept traffic routed between VNets: from `src` (None: any lab address) to `dst`."""

    dst: IPv4Network
    src: IPv4Network | None = None
    proto: Proto | None = None
    dport: int | tuple[int, int] | None = None
    comment: str = ""

    def render(self) -> str:
        return f"{_match(self.src, self.dst, self.proto, self.dport)} accept{_comment(self.comment)}"


@dataclass(frozen=True)
class GuestRule:
    """One accept rule of a guest's inbound firewall (PVE: `IN ACCEPT -p tcp -dport 22`)."""

    proto: Proto | None = None
    dport: int | tuple[int, int] | None = None
    src: IPv4Network | None = None
    comment: str = ""


@dataclass(frozen=True)
class GuestFirewall:
    """A guest's inbound firewall (PVE guest `firewall/options` policy_in + `firewall/rules`)."""

    vmid: int
    ip: IPv4Address
    policy_in: Policy = "DROP"
    rules: tuple[GuestRule, ...] = ()


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
    allow: tuple[AllowRule, ...] = ()
    guests: tuple[GuestFirewall, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _TABLE.match(self.table):
            raise ValueError(f"invalid nftables table name {self.table!r}")

    @property
    def bridges(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(v.bridge for v in self.vnets), *self.zone_bridges]))


def _comment(text: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9 _.,:/=+-]", "", text)[:120]
    return f' comment "{clean}"' if clean else ""


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def render(fw: LabFirewall) -> str:
    """The table as `nft -f` input (the table's definition only)."""
    out: list[str] = [f"table inet {fw.table} {{"]
    out.append("\tset lab_ifs {\n\t\ttype ifname")
    if fw.bridges:
        out.append(f"\t\telements = {{ {_quoted(fw.bridges)} }}")
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
    out += [f"\t\tip daddr {g.ip} jump guest_{g.vmid}" for g in fw.guests]
    out += [f'\t\tiifname "{b}" oifname "{b}" accept comment "same VNet (bridged)"' for b in fw.bridges]
    out += [f"\t\t{rule.render()}" for rule in fw.allow]
    out += ['\t\tcounter drop comment "between VNets"', "\t}"]

    for guest in fw.guests:
        out.append(f"\tchain guest_{guest.vmid} {{")
        out += [
            f"\t\t{_match(r.src, None, r.proto, r.dport)} return{_comment(r.comment)}" for r in guest.rules
        ]
        out.append(
            {
                "ACCEPT": "\t\treturn",
                "DROP": f'\t\tcounter drop comment "guest {guest.vmid} policy_in"',
                "REJECT": "\t\tcounter reject with icmpx type admin-prohibited"
                f' comment "guest {guest.vmid} policy_in"',
            }[guest.policy_in]
        )
        out.append("\t}")

    out += [
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        "\t\tiifname @lab_ifs jump lab_input",
    ]
    if fw.cache_port is not None:
        out.append(
            f'\t\tiifname != "lo" tcp dport {fw.cache_port} counter drop comment "package cache: lab only"'
        )
    out += [
        "\t}",
        "\tchain lab_input {",
        "\t\tct state invalid drop",
        "\t\tct state established,related accept",
    ]
    for vnet in fw.vnets:
        at = f'iifname "{vnet.bridge}" ip daddr {vnet.gateway.ip}'
        out.append(f"\t\t{at} icmp type echo-request accept")
        if fw.cache_port is not None:
            out.append(f"\t\t{at} tcp dport {fw.cache_port} accept")
    out += ['\t\tcounter drop comment "guests reach the host only at the gateway cache"', "\t}", "}"]
    return "\n".join(out) + "\n"


def apply(fw: LabFirewall) -> None:
    """Replace the table atomically (one `nft -f` transaction: create-if-missing, delete, define)."""
    script = f"table inet {fw.table} {{}}\ndelete table inet {fw.table}\n{render(fw)}"
    run(["nft", "-f", "-"], input_text=script, timeout=30)


def exists(table: str) -> bool:
    return run(["nft", "list", "table", "inet", table], check=False, timeout=30).returncode == 0


def remove(table: str) -> None:
    """Delete the instance's table (and only it). Idempotent."""
    if not _TABLE.match(table):
        raise ValueError(f"invalid nftables table name {table!r}")
    if exists(table):
        run(["nft", "delete", "table", "inet", table], timeout=30)


def list_tables(prefix: str) -> list[str]:
    """inet tables whose name starts with `prefix` (for cleanup of crashed runs)."""
    out = run(["nft", "list", "tables", "inet"], timeout=30).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.startswith("table inet ")]
    return [n for n in names if n.startswith(prefix)]


def bridged_traffic_filtered(bridge: str) -> bool:
    """True when `bridge`'s bridged IPv4 (same-VNet) traffic passes the inet hooks."""
    own = Path(f"/sys/class/net/{bridge}/bridge/nf_call_iptables")
    flag = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    on = (own.exists() and own.read_text().strip() == "1") or (
        flag.exists() and flag.read_text().strip() == "1"
    )
    return on and Path("/proc/sys/net/bridge").is_dir()
