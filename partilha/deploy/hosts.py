"""The hosts partilha deploys to and verifies: the inventory's nodes and the stacks' guests.

`build_hosts` is pure: the inventory, the `guests` outputs of the tenant stacks (guest name ->
{"vmid", "node", "address", "vnet", "tenant", "service", "role", "kind", "data_class",
"ports"}) and the nodes' addresses in, one `Host` per reachable machine out. Everything the
deploys and the infra tests need to know about a host is on it, so both read the same model.

SSH is allowed only from the management network. In a lab env (the env's one lab flag, never its
name) the automation host reaches a machine from the gateway of that machine's own network (the
lab's host is every gateway), so there the gateway is an SSH source too, and the lab's node
network is the nodes' management network (cluster SSH, corosync and the API between nodes):
`ssh_sources` says so per host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address, ip_interface
from typing import Any, Literal

from partilha.errors import UserError
from partilha.inventory.frontdoor import BACKEND_PORT, site_name
from partilha.inventory.models import Inventory, VNet

Kind = Literal["node", "guest"]
Proto = Literal["tcp", "udp"]
# The guests' admin: key-only, passwordless sudo, so root's SSH login can be closed on guests.
ADMIN_USER = "partilha"
GUEST_FIELDS = ("node", "address", "vnet", "tenant", "service", "role", "ports")


@dataclass(frozen=True)
class Inbound:
    """Inbound traffic a host's firewall accepts besides SSH: a port range, from anywhere
    (`sources` empty) or from the listed networks only."""

    proto: Proto
    first: int
    last: int
    sources: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"proto": self.proto, "first": self.first, "last": self.last, "sources": list(self.sources)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inbound:
        return cls(data["proto"], int(data["first"]), int(data["last"]), tuple(data["sources"]))


@dataclass(frozen=True)
class Backend:
    """A virtual host of the front door (the name citizens use) and the guest serving it."""

    site: str
    guest: str
    address: str
    port: int

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "guest": self.guest, "address": self.address, "port": self.port}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Backend:
        return cls(str(data["site"]), str(data["guest"]), str(data["address"]), int(data["port"]))


# What a PVE node must accept from the management network besides SSH: the API and GUI (8006),
# the SPICE proxy (3128), VNC consoles (5900-5999) and corosync (5405-5412/udp).
NODE_PORTS: tuple[tuple[Proto, int, int], ...] = (
    ("tcp", 8006, 8006), ("tcp", 3128, 3128), ("tcp", 5900, 5999), ("udp", 5405, 5412))


@dataclass(frozen=True)
class Host:
    name: str  # the pyinfra/testinfra host name: the node name or the guest name
    address: str
    kind: Kind
    env: str
    site: str
    groups: tuple[str, ...]
    ssh_sources: tuple[str, ...]  # networks/addresses SSH is accepted from
    inbound: tuple[Inbound, ...] = ()
    lab: bool = False  # of a lab env: the lab's allowances and the lab's time source
    admin_user: str | None = None  # guests: the admin that replaces root's SSH login
    tenant: str | None = None
    service: str | None = None
    role: str | None = None  # deploys/services/<role>.py
    node: str | None = None  # the node a guest runs on
    vnet: str | None = None
    data_class: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # other stack outputs, as given
    backends: tuple[Backend, ...] = ()  # the front door's: what it publishes
    certificate: str | None = None  # the front door's: its PEM bundle on the operator's machine

    @property
    def root_login(self) -> str:
        """sshd's PermitRootLogin: nodes keep root's key login (cluster SSH and PVE's tools
        need it); guests with an admin user close it."""
        return "no" if self.admin_user else "prohibit-password"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "kind": self.kind, "env": self.env,
                "site": self.site, "groups": list(self.groups), "ssh_sources": list(self.ssh_sources),
                "inbound": [i.to_json() for i in self.inbound], "lab": self.lab,
                "admin_user": self.admin_user,
                "tenant": self.tenant, "service": self.service, "role": self.role, "node": self.node,
                "vnet": self.vnet, "data_class": self.data_class, "extra": dict(self.extra),
                "backends": [b.to_json() for b in self.backends], "certificate": self.certificate}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Host:
        return cls(
            name=data["name"], address=data["address"], kind=data["kind"], env=data["env"],
            site=data["site"], groups=tuple(data["groups"]), ssh_sources=tuple(data["ssh_sources"]),
            inbound=tuple(Inbound.from_json(i) for i in data["inbound"]), lab=bool(data.get("lab")),
            admin_user=data.get("admin_user"), tenant=data.get("tenant"), service=data.get("service"),
            role=data.get("role"), node=data.get("node"), vnet=data.get("vnet"),
            data_class=data.get("data_class"), extra=dict(data.get("extra") or {}),
            backends=tuple(Backend.from_json(b) for b in data.get("backends") or ()),
            certificate=data.get("certificate"))


def group_name(*words: str) -> str:
    """A pyinfra group name (a Python identifier) from slugs: `tenant_ferreira_do_zezere`."""
    return re.sub(r"\W", "_", "_".join(words))


def build_hosts(inventory: Inventory, guest_outputs: Mapping[str, Mapping[str, Any]],
                node_addresses: Mapping[str, str], env: str, *, lab: bool) -> list[Host]:
    """Nodes (those with an address) then guests, in inventory and output order.

    `node_addresses`: node name -> address; in a lab env with its prefix length ("10.216.3.11/24"),
    since the lab's host is the first address of the node network and SSH comes from there."""
    mgmt = _management(inventory)
    hosts = [_node(inventory, name, address, mgmt, env, lab) for name, address in node_addresses.items()]
    published = backends(inventory, guest_outputs)
    hosts += [_guest(inventory, name, out, mgmt, env, lab, published)
              for name, out in guest_outputs.items()]
    seen: dict[str, str] = {}
    for host in hosts:
        for key in (host.name, host.address):
            if key in seen:
                raise UserError(f"hosts {seen[key]} and {host.name} share the name or address {key}")
            seen[key] = host.name
    return hosts


def backends(inventory: Inventory, guest_outputs: Mapping[str, Mapping[str, Any]]) -> tuple[Backend, ...]:
    """What the front door publishes: every internet-facing guest outside the DMZ, by site name
    (partilha.inventory.frontdoor); nothing without a front door domain."""
    if inventory.frontdoor is None:
        return ()
    out = []
    for name, guest in guest_outputs.items():
        service_key = str(guest.get("service"))
        service = inventory.services.get(service_key)
        if service is None or service.exposure != "internet" or service.network == "dmz":
            continue
        tenant = str(guest.get("tenant"))
        site = site_name(inventory.frontdoor.domain, tenant, service_key, tenant == inventory.shared.slug)
        out.append(Backend(site, name, str(guest.get("address", "")).split("/")[0], BACKEND_PORT))
    return tuple(out)


def _management(inventory: Inventory) -> VNet:
    for vnet in inventory.networks.vnets:
        if vnet.purpose == "management":
            return vnet
    raise UserError("networks.yaml: no VNet with purpose management, the only network SSH is "
                    "allowed from")


def _sources(mgmt: VNet, *lab_sources: IPv4Address | IPv4Network) -> tuple[str, ...]:
    """The management prefix, and the lab's gateways or node network the prefix does not hold."""
    sources = [str(mgmt.prefix)]
    for lab_source in lab_sources:
        inside = lab_source.subnet_of(mgmt.prefix) if isinstance(lab_source, IPv4Network) \
            else lab_source in mgmt.prefix
        if not inside:
            sources.append(str(lab_source))
    return tuple(sources)


def _lab_gateways(inventory: Inventory, vnet: VNet) -> list[IPv4Address]:
    """Where the lab's host comes from to a guest: its VNet's gateway, and the drill VNet's, where
    `dr run verify-backups` restores copies of it (on a real cluster both are management's)."""
    drill = [v.gateway for v in inventory.networks.vnets if v.purpose == "drill"]
    return list(dict.fromkeys([vnet.gateway, *drill]))


def _node(inventory: Inventory, name: str, address: str, mgmt: VNet, env: str, lab: bool) -> Host:
    node = next((n for n in inventory.datacentre.nodes if n.name == name), None)
    if node is None:
        known = ", ".join(n.name for n in inventory.datacentre.nodes)
        raise UserError(f"node addresses: {name!r} is not a node of the inventory ({known})")
    try:
        iface = ip_interface(address)
    except ValueError:
        raise UserError(f"node {name}: {address!r} is not an IPv4 address") from None
    if not isinstance(iface, IPv4Interface):
        raise UserError(f"node {name}: {address!r} is not an IPv4 address")
    network = None
    if lab:
        if iface.network.prefixlen >= 31:
            raise UserError(f"node {name}: the lab needs the address with its prefix length "
                            f"(got {address!r}) to know the network SSH comes from")
        # The lab's node network holds the lab's host (its first address, where SSH comes from)
        # and the other nodes (cluster SSH, corosync, the API): it is the nodes' management network.
        network = iface.network
    sources = _sources(mgmt, *([network] if network else []))
    inbound = tuple(Inbound(proto, first, last, sources) for proto, first, last in NODE_PORTS)
    return Host(name=name, address=str(iface.ip), kind="node", env=env, site=node.site,
                groups=("nodes", group_name("site", node.site)), ssh_sources=sources, inbound=inbound,
                lab=lab)


def _guest(inventory: Inventory, name: str, out: Mapping[str, Any], mgmt: VNet, env: str,
           lab: bool, published: tuple[Backend, ...]) -> Host:
    where = f"stack output guests[{name!r}]"
    if not isinstance(out, Mapping):
        raise UserError(f"{where}: not a mapping")
    missing = [f for f in GUEST_FIELDS if out.get(f) in (None, "")]
    if missing:
        raise UserError(f"{where}: missing {', '.join(missing)}")
    vnet = next((v for v in inventory.networks.vnets if v.id == out["vnet"]), None)
    if vnet is None:
        raise UserError(f"{where}.vnet: {out['vnet']!r} is no VNet of the inventory")
    try:
        address = ip_address(str(out["address"]).split("/")[0])
    except ValueError:
        raise UserError(f"{where}.address: {out['address']!r} is not an IP address") from None
    if address not in vnet.prefix:
        raise UserError(f"{where}.address: {address} is outside VNet {vnet.id} ({vnet.prefix})")
    ports = out["ports"]
    if not isinstance(ports, list) or not all(isinstance(p, int) and 1 <= p <= 65535 for p in ports):
        raise UserError(f"{where}.ports: {ports!r} is not a list of port numbers")
    nodes = {n.name: n for n in inventory.datacentre.nodes}
    if out["node"] not in nodes:
        raise UserError(f"{where}.node: {out['node']!r} is not a node of the inventory")
    tenant, role = str(out["tenant"]), str(out["role"])
    extra = {k: v for k, v in out.items() if k not in (*GUEST_FIELDS, "data_class")}
    return Host(
        name=name, address=str(address), kind="guest", env=env, site=nodes[out["node"]].site,
        groups=("guests", group_name("role", role), group_name("tenant", tenant)),
        ssh_sources=_sources(mgmt, *(_lab_gateways(inventory, vnet) if lab else ())),
        inbound=tuple(Inbound("tcp", p, p) for p in sorted(set(ports))), lab=lab,
        admin_user=ADMIN_USER, tenant=tenant, service=str(out["service"]), role=role,
        node=str(out["node"]), vnet=vnet.id, data_class=out.get("data_class"), extra=extra,
        backends=published if vnet.purpose == "dmz" else ())

