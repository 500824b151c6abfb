"""The probe's pairs and what each should show: from every guest to every other guest, and from
the management network (source `management`) to every guest, on every port some service
declares, SSH, and a few ports nothing declares.

A port is expected open when the target's service declares it and the source may reach it: it
shares the target's VNet, or a declared flow (partilha.inventory.flows) opens it from the
source's tenant (the DMZ's, for the front door), or it is open to anyone (the front door's
ports, the outside's flow). Everything else is expected filtered: guests drop what they do not open
(`policy_in` DROP) and routed traffic no forward rule accepts is dropped too. SSH between guests
is filtered: it is open from management only. From management only the declared flows are open
(SSH to every guest, the front door's ports); every other port is expected filtered. The outside's
rows are partilha.probe.outside's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from partilha.inventory import Inventory, PlacedGuest
from partilha.inventory.flows import DMZ, MANAGEMENT, OUTSIDE, SSH_PORT, management_prefixes, openings

Outcome = Literal["open", "refused", "filtered"]
UNDECLARED = (3306, 8080)  # ports no catalogue service declares: expected filtered everywhere


@dataclass(frozen=True)
class Pair:
    source: str  # guest names
    target: str
    port: int
    expected: Outcome


def ports(placed: list[PlacedGuest]) -> list[int]:
    """Every port probed on every guest."""
    return sorted({SSH_PORT, *UNDECLARED, *(p for g in placed for p in g.spec.ports)})


def pairs(inventory: Inventory, placed: list[PlacedGuest]) -> list[Pair]:
    opened = {(o.source, o.guest.name, o.port) for o in openings(inventory, placed)}
    probed = ports(placed)

    def expected(source: PlacedGuest, target: PlacedGuest, port: int) -> Outcome:
        origin = DMZ if source.vnet is not None and source.vnet.purpose == "dmz" else source.tenant
        reachable = source.vnet == target.vnet or (origin, target.name, port) in opened \
            or (OUTSIDE, target.name, port) in opened
        return "open" if port in target.spec.ports and reachable else "filtered"

    out = [Pair(s.name, t.name, port, expected(s, t, port))
           for s in placed for t in placed if s is not t for port in probed]
    if management_prefixes(inventory):
        out += [Pair(MANAGEMENT, t.name, port, "open" if (MANAGEMENT, t.name, port) in opened
                     or (OUTSIDE, t.name, port) in opened else "filtered")
                for t in placed for port in probed]
    return out
