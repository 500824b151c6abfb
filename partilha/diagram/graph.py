"""The data centre as a Graphviz graph (DOT text), from the inventory alone: what it declares is
what is drawn.

- each site a box holding its nodes (CPUs, memory, roles);
- each VNet a box named by its id, alias, prefix and VLAN tag, holding its tenant's guests (name,
  address, node); the DMZ holds the front door, the internet sits outside everything;
- each cross-VNet opening an edge labelled with its ports: a tenant's VNet to the guest it
  reaches, the internet to the front door, the front door to what it publishes; management's
  SSH to every guest and the nodes' API are one note, not an edge per guest.
"""

from __future__ import annotations

from collections import defaultdict

from partilha.inventory import Inventory, PlacedGuest, guests
from partilha.inventory.flows import DMZ, MANAGEMENT, OUTSIDE, PVE_API_PORT, SSH_PORT, openings
from partilha.inventory.frontdoor import front_doors, virtual_hosts
from partilha.inventory.guests import tenant_vnets

INTERNET = "internet"
FONT = 'fontname="DejaVu Sans"'


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(inv: Inventory) -> str:
    placed = guests(inv)
    lines = [f"digraph {quoted(inv.datacentre.name)} {{",
             f"  graph [compound=true, rankdir=LR, {FONT}, fontsize=12, "
             f"label={quoted(inv.datacentre.display_name)}, labelloc=t];",
             f"  node [shape=box, style=rounded, {FONT}, fontsize=10];",
             f"  edge [{FONT}, fontsize=9];"]
    lines += _sites(inv)
    lines += _vnets(inv, placed)
    lines += _flows(inv, placed)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _sites(inv: Inventory) -> list[str]:
    out = []
    for site in inv.datacentre.sites:
        out += [f"  subgraph {quoted('cluster_site_' + site.name)} {{",
                f"    label={quoted(f'site {site.name} ({site.role}): {site.display_name or site.name}')};",
                "    style=dashed;"]
        for node in (n for n in inv.datacentre.nodes if n.site == site.name):
            label = "\n".join((node.name, f"{node.cpus} CPUs, {node.memory_gib} GiB", ", ".join(node.roles)))
            out.append(f"    {quoted('node:' + node.name)} [label={quoted(label)}, shape=box3d];")
        out.append("  }")
    return out


def _vnets(inv: Inventory, placed: list[PlacedGuest]) -> list[str]:
    owners = {v.id: slug for slug, v in tenant_vnets(inv).items()}
    tenants = {t.slug: t.name for t in (*inv.municipalities, inv.shared)}
    by_vnet: dict[str, list[PlacedGuest]] = defaultdict(list)
    for guest in placed:
        if guest.vnet is not None:
            by_vnet[guest.vnet.id].append(guest)
    sites = {vh.guest.name: vh.name for vh in virtual_hosts(inv, placed)}
    out = []
    for vnet in inv.networks.vnets:
        tag = f", VLAN {vnet.tag}" if vnet.tag is not None else ""
        owner = tenants.get(owners.get(vnet.id, ""), "")
        title = " · ".join(filter(None, (vnet.id, vnet.alias, owner)))
        label = "\n".join((title, f"{vnet.prefix} (gateway {vnet.gateway}{tag})"))
        out += [f"  subgraph {quoted('cluster_vnet_' + vnet.id)} {{",
                f"    label={quoted(label)};",
                f"    style=filled; fillcolor={_colour(vnet.purpose)};",
                f"    {quoted('vnet:' + vnet.id)} [shape=point, width=0.05, style=invis];"]
        for guest in by_vnet[vnet.id]:
            address = guest.address.ip if guest.address else "no address"
            label = "\n".join((guest.name, f"{address} on {guest.node}", *(
                [sites[guest.name]] if guest.name in sites else [])))
            out.append(f"    {quoted(guest.name)} [label={quoted(label)}, style=\"rounded,filled\", "
                       "fillcolor=white];")
        out.append("  }")
    return out


def _colour(purpose: str) -> str:
    return {"management": "lightgrey", "dmz": "mistyrose", "shared": "lightcyan"}.get(purpose, "honeydew")


def _flows(inv: Inventory, placed: list[PlacedGuest]) -> list[str]:
    vnets = tenant_vnets(inv)
    doors = front_doors(placed)
    ports: dict[tuple[str, str], set[int]] = defaultdict(set)
    for opening in openings(inv, placed):
        if opening.source != MANAGEMENT:
            ports[(opening.source, opening.guest.name)].add(opening.port)
    out = []
    if any(source == OUTSIDE for source, _ in ports):
        out.append(f"  {quoted(INTERNET)} [label=\"internet\\n(citizens)\", shape=ellipse];")
    for (source, target), listed in ports.items():
        label = quoted(", ".join(map(str, sorted(listed))))
        if source == OUTSIDE:
            out.append(f"  {quoted(INTERNET)} -> {quoted(target)} [label={label}, color=red, penwidth=2];")
        elif source == DMZ:
            out += [f"  {quoted(door.name)} -> {quoted(target)} [label={label}, color=red];"
                    for door in doors]
        elif source in vnets:
            out.append(f"  {quoted('vnet:' + vnets[source].id)} -> {quoted(target)} "
                       f"[ltail={quoted('cluster_vnet_' + vnets[source].id)}, label={label}];")
    management = [v for v in inv.networks.vnets if v.purpose == "management"]
    if management:
        note = f"management: SSH ({SSH_PORT}) to every guest, the PVE API ({PVE_API_PORT}) on the nodes"
        out += [f"  \"management-note\" [label={quoted(note)}, shape=note];",
                f"  {quoted('vnet:' + management[0].id)} -> \"management-note\" "
                f"[ltail={quoted('cluster_vnet_' + management[0].id)}, style=dashed, arrowhead=none];"]
    return out
