"""The declared flows (partilha.inventory.flows) as a PVE administrator writes them down:

- IP sets: one per tenant VNet and one for the DMZ, named as the VNet and holding its prefix,
  and `management` holding the management network(s); aliases: one per guest a flow reaches,
  and the front door's (the source of its flows), named as the guest.
- The datacenter's rules: per flow and guest one `forward` rule from the source's set to the
  guest's alias on its ports (the front door's to each back end from its alias; the outside's to
  the front door with no source: anyone, the internet included), `forward` SSH from
  `+management` to every guest, and an `in` rule opening the nodes' API to `+management`.
- Each tenant VNet's, the DMZ's and each management VNet's firewall (`policy_forward` DROP): what
  stays within it, the flows into and out of it (the front door's from anyone: into the DMZ and
  out of every VNet), and management's SSH. (The API is the nodes' own traffic, `in`, which no
  VNet forwards.)

Routed traffic passes the datacenter's `forward` rules and the firewalls of the VNets it leaves
and enters; so a flow opens only where all of them say so, and a rule removed from any of them
closes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from partilha.inventory import Inventory, PlacedGuest
from partilha.inventory.flows import (
    DMZ,
    MANAGEMENT,
    OUTSIDE,
    PVE_API_PORT,
    SSH_PORT,
    Opening,
    management_prefixes,
    openings,
)
from partilha.inventory.frontdoor import front_doors
from partilha.inventory.guests import dmz_vnet, tenant_vnets

MANAGEMENT_SET = "management"
ALIAS_MAX = 64  # PVE's limit for an alias name
Rule = dict[str, Any]


@dataclass(frozen=True)
class IPSetSpec:
    comment: str
    cidrs: list[str]


@dataclass
class FlowRules:
    ipsets: dict[str, IPSetSpec] = field(default_factory=dict)
    aliases: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (address, comment)
    cluster: list[Rule] = field(default_factory=list)
    vnets: dict[str, list[Rule]] = field(default_factory=dict)  # VNet id -> its forward rules


def set_name(vnet: str) -> str:
    """The VNet's id, which PVE takes as an IP set name unless it is one letter."""
    return vnet if len(vnet) >= 2 else f"vnet-{vnet}"


def alias_name(guest: PlacedGuest) -> str:
    """The guest's name, which PVE takes as an alias when it starts with a letter and fits."""
    name = guest.name if guest.name[:1].isalpha() else f"g-{guest.name}"
    return name[:ALIAS_MAX]


def _accept(rtype: str, comment: str, *, source: str | None, dest: str | None = None,
            dport: str | None = None) -> Rule:
    rule: Rule = {"type": rtype, "action": "ACCEPT"}
    if source:  # none: from anywhere
        rule["source"] = source
    if dest:
        rule["dest"] = dest
    if dport:
        rule |= {"proto": "tcp", "dport": dport}
    return rule | {"comment": comment}


def _alias(out: FlowRules, guest: PlacedGuest) -> str:
    alias = alias_name(guest)
    out.aliases[alias] = (str(guest.address.ip), guest.name)  # type: ignore[union-attr]
    return alias


def flow_rules(inventory: Inventory, placed: list[PlacedGuest]) -> FlowRules:
    out = FlowRules()
    vnets = tenant_vnets(inventory)
    for slug, vnet in vnets.items():
        out.ipsets[set_name(vnet.id)] = IPSetSpec(f"VNet {vnet.id} of {slug}", [str(vnet.prefix)])
    dmz = dmz_vnet(inventory)
    if dmz is not None:
        out.ipsets[set_name(dmz.id)] = IPSetSpec(f"VNet {dmz.id}, the DMZ", [str(dmz.prefix)])
    mgmt = [str(p) for p in management_prefixes(inventory)]
    if mgmt:
        out.ipsets[MANAGEMENT_SET] = IPSetSpec("the management network", mgmt)
    by_pair: dict[tuple[str, str], tuple[Opening, list[int]]] = {}
    for opening in openings(inventory, placed):
        if opening.source != MANAGEMENT and opening.guest.address is not None:
            key = (opening.source, opening.guest.name)
            by_pair.setdefault(key, (opening, []))[1].append(opening.port)
    for vnet in [*vnets.values(), *([dmz] if dmz is not None else [])]:
        own = f"+{set_name(vnet.id)}"
        out.vnets[vnet.id] = [_accept("forward", f"within {vnet.id}", source=own, dest=own)]
    for vnet in inventory.networks.vnets:
        if vnet.purpose == "management" and mgmt:
            own = f"+{MANAGEMENT_SET}"
            out.vnets[vnet.id] = [_accept("forward", "within management", source=own, dest=own)]
    door = next(iter(front_doors(placed)), None)
    for (source, _), (opening, ports) in by_pair.items():
        guest = opening.guest
        dport = ",".join(map(str, sorted(set(ports))))
        comment = f"flow {source} -> {guest.name}"
        if source == OUTSIDE:  # anyone: out of every VNet, into the front door's
            rule = _accept("forward", comment, source=None, dest=_alias(out, guest), dport=dport)
            out.cluster.append(rule)
            for rules in out.vnets.values():
                rules.append(rule)
            continue
        if source == DMZ and door is not None:
            rule = _accept("forward", comment, source=_alias(out, door), dest=_alias(out, guest), dport=dport)
            leaves = door.vnet.id if door.vnet is not None else None
        else:
            leaves = vnets[source].id
            rule = _accept("forward", comment, source=f"+{set_name(leaves)}", dest=_alias(out, guest),
                           dport=dport)
        out.cluster.append(rule)
        if leaves is not None:
            out.vnets[leaves].append(rule)
        if guest.vnet is not None and guest.vnet.id != leaves:
            out.vnets[guest.vnet.id].append(rule)
    if mgmt:
        ssh = _accept("forward", "management: SSH to every guest", source=f"+{MANAGEMENT_SET}",
                      dport=str(SSH_PORT))
        api = _accept("in", "management: the PVE API", source=f"+{MANAGEMENT_SET}", dport=str(PVE_API_PORT))
        out.cluster += [ssh, api]
        for rules in out.vnets.values():
            rules.append(ssh)
    return out
