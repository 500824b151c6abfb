"""PVE's firewall (`/cluster/firewall`, guest and VNet firewalls) as nftables rules. `__all__` is what
the rest of the lab may use: the state (`state.py`), used as `firewall.<function>(store, ...)`, the
guest's `.fw` file format and the translation of the rules to nftables."""

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

# isort: split
# the modules below import other areas, which may import this one back: its state comes first
from partilha.lab.firewall import firewall_file, firewall_translate

__all__ = [
    "KIND",
    "ClusterFirewallConfig",
    "GuestFirewallConfig",
    "Rules",
    "book",
    "cluster",
    "every_guest",
    "every_vnet",
    "firewall_file",
    "firewall_translate",
    "guest",
    "remove_guest",
    "save_cluster",
    "save_guest",
    "save_vnet",
    "vnet",
]
