"""PVE SDN zones and VNets as Linux bridges (iproute2).

- A zone of type `vlan` is a VLAN-aware bridge (`vlan_filtering 1`) with no address: the
  "physical" trunk every VNet of the zone is tagged onto.
- A VNet is its own bridge `<short prefix><vnet id>` carrying the subnet's gateway address (the
  host side). In a vlan zone it is joined to the zone bridge by a veth pair whose zone-side end
  is the VNet's tag as PVID/untagged, so frames leave the VNet bridge untagged and travel the
  zone bridge tagged. A `simple` zone's VNets stand alone.
- Kernels built without CONFIG_BRIDGE_VLAN_FILTERING (this lab machine's, for one) cannot make a
  VLAN-aware bridge: the zone bridge is then a plain bridge and VNets are NOT joined to it (a
  plain trunk would merge every VNet into one L2 segment). Each VNet stays its own segment, which
  on one host is exactly what VLAN separation gives; `ensure_zone`/`ensure_vnet` return whether
  the VLAN layer was realised, and `vlan_filtering_supported()` says which case holds.
- Routing between VNets happens on the host, so each VNet bridge gets IPv4 forwarding switched
  on for itself only (`net.ipv4.conf.<bridge>.forwarding`), never the global `ip_forward`: packets
  arriving on other interfaces are still not forwarded. IPv6 is disabled on lab bridges (per
  interface), so guests have no link-local path to the host. Whether forwarded traffic may pass
  is the firewall's business (partilha.lab.machine.lxc.nftables).

Every function is idempotent; nothing here touches an interface whose name does not come from
the caller's prefix.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Network
from pathlib import Path

from partilha.lab.machine.lxc.commands import MachineError, run

IFNAME_MAX = 15
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def bridge_name(prefix: str, ident: str) -> str:
    """`<prefix><ident>`, checked against Linux's 15-character interface name limit."""
    return _ifname(f"{prefix}{ident}")


def _ifname(name: str) -> str:
    if not _IFNAME.match(name):
        raise ValueError(
            f"interface name {name!r}: at most {IFNAME_MAX} characters of letters, digits, '_', '.', '-'"
        )
    return name


def trunk_names(vnet_bridge: str) -> tuple[str, str]:
    """The veth pair joining a VNet bridge to its zone bridge: (VNet end, zone end)."""
    digest = hashlib.sha256(vnet_bridge.encode()).hexdigest()[:10]
    return f"pt{digest}v", f"pt{digest}z"


def exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def _sysctl(path: str, value: str) -> None:
    Path(f"/proc/sys/{path}").write_text(value)


def _ensure_bridge(name: str, *, vlan_filtering: bool) -> None:
    if not _IFNAME.match(name):
        raise ValueError(f"invalid interface name {name!r}")
    if exists(name) and not Path(f"/sys/class/net/{name}/bridge").is_dir():
        raise MachineError(f"{name}: exists and is not a bridge")
    if not exists(name):
        run(["ip", "link", "add", "name", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
    if vlan_filtering_supported(name):
        flag = "1" if vlan_filtering else "0"
        run(["ip", "link", "set", "dev", name, "type", "bridge", "vlan_filtering", flag])
    # Hand this bridge's bridged IPv4 to the inet hooks, so the lab's firewall also sees
    # same-VNet traffic (a per-bridge switch of the built-in br_netfilter; no global sysctl).
    nf_call = Path(f"/sys/class/net/{name}/bridge/nf_call_iptables")
    if nf_call.exists():
        nf_call.write_text("1")
    ipv6 = Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6")
    if ipv6.exists():
        ipv6.write_text("1")
    run(["ip", "link", "set", "dev", name, "up"])


def vlan_filtering_supported(bridge: str) -> bool:
    """Whether the kernel can make `bridge` (an existing bridge) VLAN-aware."""
    return Path(f"/sys/class/net/{bridge}/bridge/vlan_filtering").exists()


def _vlan_aware(bridge: str) -> bool:
    flag = Path(f"/sys/class/net/{bridge}/bridge/vlan_filtering")
    return flag.exists() and flag.read_text().strip() == "1"


def ensure_zone(name: str, *, vlan_aware: bool = True) -> bool:
    """The zone bridge, no address; returns whether it is VLAN-aware (False if asked not to
    be, or if the kernel cannot)."""
    _ensure_bridge(name, vlan_filtering=vlan_aware)
    return _vlan_aware(name)


def ensure_vnet(
    name: str,
    *,
    gateway: IPv4Interface | None,
    zone: str | None = None,
    tag: int | None = None,
) -> bool:
    """The VNet bridge with the subnet gateway on it, tagged onto `zone` when `tag` is given.

    Returns whether the VNet is joined to its zone's trunk (False without zone and tag, or when
    the zone bridge is not VLAN-aware: see the module's notes).
    """
    if (zone is None) != (tag is None):
        raise ValueError(f"{name}: a zone bridge and a VLAN tag go together")
    if tag is not None and not 1 <= tag <= 4094:
        raise ValueError(f"{name}: VLAN tag {tag} outside 1..4094")
    _ensure_bridge(name, vlan_filtering=False)
    _ensure_address(name, gateway)
    _sysctl(f"net/ipv4/conf/{name}/forwarding", "1" if gateway is not None else "0")
    vnet_end, zone_end = trunk_names(name)
    if zone is not None and not exists(zone):
        raise MachineError(f"{name}: zone bridge {zone} does not exist")
    if zone is None or tag is None or not _vlan_aware(zone):
        if exists(vnet_end):
            run(["ip", "link", "del", "dev", vnet_end])
        return False
    if not exists(vnet_end):
        run(["ip", "link", "add", "name", vnet_end, "type", "veth", "peer", "name", zone_end])
    for end in (vnet_end, zone_end):
        ipv6 = Path(f"/proc/sys/net/ipv6/conf/{end}/disable_ipv6")
        if ipv6.exists():
            ipv6.write_text("1")
    run(["ip", "link", "set", "dev", vnet_end, "master", name, "up"])
    run(["ip", "link", "set", "dev", zone_end, "master", zone, "up"])
    current = _port_vlans(zone_end)
    for vid in current - {tag}:
        run(["bridge", "vlan", "del", "dev", zone_end, "vid", str(vid)])
    run(["bridge", "vlan", "add", "dev", zone_end, "vid", str(tag), "pvid", "untagged"])
    return True


def _ensure_address(name: str, gateway: IPv4Interface | None) -> None:
    out = run(["ip", "-j", "-4", "addr", "show", "dev", name]).stdout
    present = {
        IPv4Interface(f"{a['local']}/{a['prefixlen']}")
        for link in json.loads(out or "[]")
        for a in link.get("addr_info", [])
    }
    for address in present - ({gateway} if gateway else set()):
        run(["ip", "addr", "del", address.with_prefixlen, "dev", name])
    if gateway is not None and gateway not in present:
        run(["ip", "addr", "add", gateway.with_prefixlen, "dev", name])


def _port_vlans(port: str) -> set[int]:
    out = run(["bridge", "-j", "vlan", "show", "dev", port]).stdout
    vids: set[int] = set()
    for entry in json.loads(out or "[]"):
        for vlan in entry.get("vlans", []):
            vids.update(range(vlan["vlan"], vlan.get("vlanEnd", vlan["vlan"]) + 1))
    return vids


def forget_neighbour(bridge: str, address: IPv4Address) -> None:
    """Drop the host's ARP entry for `address` on `bridge`: a guest restored, cloned or recreated
    at an address comes with a new MAC, and a stale entry would blackhole the host's packets to it
    until the kernel's probes give up on the old one."""
    run(["ip", "neigh", "flush", "to", str(address), "dev", bridge], check=False)


def remove_vnet(name: str) -> None:
    vnet_end, _ = trunk_names(name)
    for link in (vnet_end, name):
        if exists(link):
            run(["ip", "link", "del", "dev", link])


def remove_zone(name: str) -> None:
    if exists(name):
        run(["ip", "link", "del", "dev", name])


def list_bridges(prefix: str) -> list[str]:
    """Bridges whose name starts with `prefix` (a lab instance's zones and VNets)."""
    if not prefix:
        raise ValueError("a prefix is required")
    return sorted(
        p.name
        for p in Path("/sys/class/net").iterdir()
        if p.name.startswith(prefix) and (p / "bridge").is_dir()
    )


def remove_all(prefix: str) -> list[str]:
    """Remove every bridge of `prefix` and its trunk veths; returns the bridges removed."""
    bridges = list_bridges(prefix)
    for bridge in bridges:
        remove_vnet(bridge)
    return bridges


def bridge_of(ifname: str) -> str | None:
    master = Path(f"/sys/class/net/{ifname}/master")
    return master.resolve().name if master.exists() else None


def routed_networks() -> list[IPv4Network | IPv6Network]:
    """Every network a route of the host (any table) covers."""
    used: list[IPv4Network | IPv6Network] = []
    for line in run(["ip", "-4", "route", "show", "table", "all"]).stdout.splitlines():
        words = [w for w in line.split() if w not in ("local", "broadcast", "unreachable")]
        try:
            used.append(ipaddress.ip_network(words[0], strict=False))
        except (ValueError, IndexError):
            continue
    return used


def interfaces_in(subnet: IPv4Network) -> set[str]:
    """The interfaces with an IPv4 address in `subnet`."""
    out = run(["ip", "-4", "-o", "addr", "show", "to", str(subnet)]).stdout
    return {line.split()[1] for line in out.splitlines()}


def stop_forwarding(bridge: str) -> None:
    """The host routes nothing that arrives on `bridge`."""
    Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").write_text("0")


# network namespaces: a host standing on one of the lab's networks, either a port of a VNet's
# bridge (the management probe point) or routed by the host itself (the outside, beyond the uplink)

NAMESPACE_NIC = "eth0"  # the namespace's end of its veth (names are per namespace)


def namespaces(prefix: str) -> list[str]:
    """The network namespaces whose name starts with `prefix`."""
    if not prefix:
        raise ValueError("a prefix is required")
    listed = run(["ip", "-j", "netns", "list"], check=False).stdout.strip()
    return sorted(n["name"] for n in json.loads(listed or "[]") if n["name"].startswith(prefix))


def namespace_link(name: str) -> str:
    """The host's end of namespace `name`'s veth."""
    return _ifname(f"{name}h")


def ensure_namespace(name: str, address: IPv4Interface, gateway: IPv4Interface,
                     bridge: str | None = None) -> None:
    """Namespace `name` with one NIC at `address`, its default route via `gateway`, IPv6 off. Its
    veth's host end (`namespace_link`) is a port of `bridge`, whose address `gateway` is; without
    a bridge the host end carries `gateway` itself and the host routes what arrives on it."""
    host_end = namespace_link(name)
    if name not in namespaces(name):
        run(["ip", "netns", "add", name])
    inside = ["ip", "-n", name]
    try:
        if not exists(host_end):
            run(["ip", "link", "add", "name", host_end, "type", "veth", "peer", "name", NAMESPACE_NIC,
                 "netns", name])
        _sysctl(f"net/ipv6/conf/{host_end}/disable_ipv6", "1")
        if bridge is None:
            _ensure_address(host_end, gateway)
            _sysctl(f"net/ipv4/conf/{host_end}/forwarding", "1")
        else:
            run(["ip", "link", "set", "dev", host_end, "master", bridge])
        run(["ip", "link", "set", "dev", host_end, "up"])
        run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"])
        run([*inside, "addr", "replace", address.with_prefixlen, "dev", NAMESPACE_NIC])
        run([*inside, "link", "set", "dev", "lo", "up"])
        run([*inside, "link", "set", "dev", NAMESPACE_NIC, "up"])
        run([*inside, "route", "replace", "default", "via", str(gateway.ip)])
    except MachineError:
        remove_namespace(name)
        raise


def remove_namespace(name: str) -> None:
    """The namespace and its veth (both ends) are gone. Idempotent."""
    if name in namespaces(name):
        run(["ip", "netns", "del", name])
    host_end = namespace_link(name)
    if exists(host_end):  # the kernel may be taking it away with the namespace's end already
        run(["ip", "link", "del", "dev", host_end], check=False)
