"""Firewall state: PVE's `cluster.fw` (options, rules, security groups with their comments),
one `<vmid>.fw` per guest (options, rules) and one `sdn/<vnet>.fw` per VNet with a firewall
(options, rules), each one object of kind `firewall` (ids `cluster`, `<vmid>`, `vnet/<vnet>`).

Rules are dicts of the keys a `.fw` file keeps (partilha.lab.firewall.firewall_schema.RULE_KEYS, plus the
`ipversion` PVE derives when it reads them); options are the `[OPTIONS]` keys that are set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from partilha.lab.server.store import Store

KIND = "firewall"
Rules = list[dict[str, Any]]


@dataclass
class ClusterFirewallConfig:
    options: dict[str, Any] = field(default_factory=dict)
    rules: Rules = field(default_factory=list)
    groups: dict[str, Rules] = field(default_factory=dict)
    group_comments: dict[str, str] = field(default_factory=dict)


@dataclass
class GuestFirewallConfig:
    options: dict[str, Any] = field(default_factory=dict)
    rules: Rules = field(default_factory=list)


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
