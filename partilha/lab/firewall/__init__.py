"""PVE's firewall (`/cluster/firewall`, guest and VNet firewalls) as nftables rules. The package
re-exports its state (`state.py`), which callers use as `firewall.<function>(store, ...)`."""

from partilha.lab.firewall.state import (
    KIND,
    ClusterFirewallConfig,
    GuestFirewallConfig,
    Rules,
    book,
    cluster,
    every_guest,
    every_vnet,
    guest,
    remove_guest,
    save_cluster,
    save_guest,
    save_vnet,
    vnet,
)

__all__ = [
    "KIND",
    "ClusterFirewallConfig",
    "GuestFirewallConfig",
    "Rules",
    "book",
    "cluster",
    "every_guest",
    "every_vnet",
    "guest",
    "remove_guest",
    "save_cluster",
    "save_guest",
    "save_vnet",
    "vnet",
]
