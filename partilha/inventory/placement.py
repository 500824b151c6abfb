"""Where guests run, and which of them hold data: what keeps a guest in place and its data alive.

The inventory's placement (partilha.inventory.guests) is where a guest goes when it is *made*:
its pinned node, else the primary site's least-loaded compute node in inventory order. That
layout shifts whenever a guest upstream is added, removed or resized, so the stacks use it only
for new guests: a guest that exists keeps the node it is on (Pulumi keeps its recorded `node`,
which `refresh` reads back from PVE) until

- the inventory pins it to another node (`services: {<name>: {node: pve3}}`), or
- the operator asks for a rebalance: `partilha preview --rebalance` shows which guests would
  move, `partilha up --rebalance` moves them (with plain Pulumi, `PARTILHA_REBALANCE=1 pulumi
  preview|up`), every unpinned guest to its inventory placement.

Why the recorded node, not a read of PVE or of the other stacks' outputs: it is what the engine
diffs against anyway, under `partilha up` and plain `pulumi up` alike, with no extra call; a
municipality's token sees only its own pool, and the other stacks' outputs do not exist on a first
`up` and are being rewritten while the municipalities run side by side. `refresh` reads each
guest's node back from PVE, so a guest moved by hand or by HA stays where it went.

A node change is a migration, never a destroy and re-create (partilha.proxmox.resources.guest).

An HA guest is in its site's HA group (one per site with two compute nodes or more, each
restricted to its site: a guest is never recovered where its disk is not). One a recovery brought
up at a site that cannot run HA (one compute node, or guest storage its nodes do not share) is out
of HA while there (`ha_group`); it comes back into its group when it comes home.

A guest whose service holds personal or internal data is declared with Pulumi's `protect`: no
`up` can delete or replace it (dropping it from the inventory, or a change PVE can only make by
re-creating it, is refused, naming the guest) until the operator unprotects it in the state:

    pulumi state unprotect --stack <env>-<tenant> '<the guest's URN from the error>'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from partilha.inventory.models import Inventory, Service

REBALANCE = "PARTILHA_REBALANCE"
DATA_CLASSES = frozenset({"personal", "internal"})


def holds_data(service: Service) -> bool:
    """Whether losing the guest loses data (its service's data class says so)."""
    return service.data_class in DATA_CLASSES


def rebalancing(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the operator asked this run to move unpinned guests to their inventory placement."""
    return (os.environ if environ is None else environ).get(REBALANCE, "") not in ("", "0", "false")


def ha_group_name(site: str) -> str:
    return f"partilha-{site}"


def ha_sites(inv: Inventory) -> dict[str, list[str]]:
    """The sites with an HA group (two compute nodes or more) -> those nodes."""
    nodes: dict[str, list[str]] = {}
    for n in inv.datacentre.nodes:
        if "compute" in n.roles:
            nodes.setdefault(n.site, []).append(n.name)
    return {site: names for site, names in nodes.items() if len(names) >= 2}


def ha_group(inv: Inventory, site: str) -> str | None:
    """The HA group of an HA guest running at `site`: the site's, when it has one and its guest
    storage is shared (HA restarts a guest on another node of the group, which must see its
    disk); None: out of HA while it runs there."""
    storage = next((s.guest_storage for s in inv.datacentre.sites if s.name == site), None)
    shared = any(s.id == storage and s.shared for s in inv.storage)
    return ha_group_name(site) if site in ha_sites(inv) and shared else None
