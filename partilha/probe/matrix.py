"""The probe's pairs and what each should show: from every guest to every other guest, on every
port some service declares, SSH, and a few ports nothing declares.

A port is expected open when the target's service declares it and the source may reach it: it
shares the target's VNet, or a declared flow (partilha.inventory.flows) opens it from the
source's tenant. Everything else is expected filtered: guests drop what they do not open
(`policy_in` DROP) and routed traffic no forward rule accepts is dropped too. SSH between guests
is filtered: it is open from management only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from partilha.inventory import Guest, Inventory
from partilha.inventory.flows import DMZ, OUTSIDE, SSH_PORT, openings

Outcome = Literal["open", "refused", "filtered"]
UNDECLARED = (3306, 8080)  # ports no catalogue service declares: expected filtered everywhere


@dataclass(frozen=True)
class Pair:
    source: str  # guest names
    target: str
    port: int
    expected: Outcome


def ports(placed: list[Guest]) -> list[int]:
    """Every port probed on every guest."""
    return sorted({SSH_PORT, *UNDECLARED, *(p for g in placed for p in g.spec.ports)})


def pairs(inventory: Inventory, placed: list[Guest]) -> list[Pair]:
    opened = {(o.source, o.guest.name, o.port) for o in openings(inventory, placed)}
    probed = ports(placed)

    def expected(source: Guest, target: Guest, port: int) -> Outcome:
        origin = DMZ if source.vnet is not None and source.vnet.purpose == "dmz" else source.tenant
        reachable = source.vnet == target.vnet or (origin, target.name, port) in opened \
            or (OUTSIDE, target.name, port) in opened
        return "open" if port in target.spec.ports and reachable else "filtered"

    return [Pair(s.name, t.name, port, expected(s, t, port))
            for s in placed for t in placed if s is not t for port in probed]
