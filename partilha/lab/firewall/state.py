"""Firewall state: PVE's `cluster.fw` (options, rules, security groups, IP sets and aliases,
with their comments), one `<vmid>.fw` per guest (options, rules, IP sets) and one
`sdn/<vnet>.fw` per VNet with a firewall (options, rules), each one object of kind `firewall`
(ids `cluster`, `<vmid>`, `vnet/<vnet>`).

Rules are dicts of the keys a `.fw` file keeps (partilha.lab.firewall.firewall_schema.RULE_KEYS,
plus the `ipversion` PVE derives when it reads them); options are the `[OPTIONS]` keys that are
set. An IP set is its entries ({cidr, nomatch?, comment?}, newest first as PVE's `unshift`); an
alias is {name, cidr, ipversion, comment?} under its lower-cased name (PVE's `aliases` hash).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from partilha.lab.firewall.firewall_addresses import Book
from partilha.lab.server.store import Store

KIND = "firewall"
Rules = list[dict[str, Any]]
Entries = list[dict[str, Any]]  # an IP set's


@dataclass
class ClusterFirewallConfig:
    options: dict[str, Any] = field(default_factory=dict)
    rules: Rules = field(default_factory=list)
    groups: dict[str, Rules] = field(default_factory=dict)
    group_comments: dict[str, str] = field(default_factory=dict)
    ipsets: dict[str, Entries] = field(default_factory=dict)
    ipset_comments: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class GuestFirewallConfig:
    options: dict[str, Any] = field(default_factory=dict)
    rules: Rules = field(default_factory=list)
    ipsets: dict[str, Entries] = field(default_factory=dict)
    ipset_comments: dict[str, str] = field(default_factory=dict)


def cluster(store: Store) -> ClusterFirewallConfig:
    return ClusterFirewallConfig(**(store.get_object(KIND, "cluster") or {}))


def save_cluster(store: Store, conf: ClusterFirewallConfig) -> None:
    store.put_object(KIND, "cluster", asdict(conf))


def guest(store: Store, vmid: int) -> GuestFirewallConfig:
    """The guest's firewall config (empty when it never had one, as a missing `.fw` file)."""
    return GuestFirewallConfig(**(store.get_object(KIND, str(vmid)) or {}))


def save_guest(store: Store, vmid: int, conf: GuestFirewallConfig) -> None:
    store.put_object(KIND, str(vmid), asdict(conf))


def every_guest(store: Store) -> dict[int, GuestFirewallConfig]:
    return {int(oid): GuestFirewallConfig(**data) for oid, data in store.objects(KIND).items()
            if oid.isdigit()}


def vnet(store: Store, vnet_id: str) -> GuestFirewallConfig:
    """A VNet's firewall config (options and `forward` rules; empty when it never had one)."""
    return GuestFirewallConfig(**(store.get_object(KIND, f"vnet/{vnet_id}") or {}))


def save_vnet(store: Store, vnet_id: str, conf: GuestFirewallConfig) -> None:
    store.put_object(KIND, f"vnet/{vnet_id}", asdict(conf))


def every_vnet(store: Store) -> dict[str, GuestFirewallConfig]:
    return {oid.removeprefix("vnet/"): GuestFirewallConfig(**data)
            for oid, data in store.objects(KIND).items() if oid.startswith("vnet/")}


def remove_guest(store: Store, vmid: int) -> None:
    """Forget a destroyed guest's `.fw` (PVE's `remove_vmfw_conf`)."""
    store.delete_object(KIND, str(vmid))


def book(store: Store, vmid: int | None = None) -> Book:
    """The IP sets and aliases a cluster (or group, or VNet) rule may name, or guest `vmid`'s."""
    conf = cluster(store)
    return Book(conf.ipsets, conf.aliases, guest(store, vmid).ipsets if vmid is not None else {})
