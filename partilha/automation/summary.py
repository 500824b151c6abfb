"""What exists after `partilha up`: every guest of the tenant stacks it ran (their `guests`
outputs), its service, where it runs and its address, in a table that fits an 80-column terminal,
captioned with the command that logs into a guest (`partilha ssh GUEST`: the right user, the
operator's key and the pinned host keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.table import Table

from partilha.automation.envs import Env

DEFAULT_ENV = "lab"  # what --env defaults to


@dataclass(frozen=True)
class GuestRow:
    name: str
    tenant: str
    service: str
    node: str
    vmid: int
    address: str


def guest_rows(outputs: Iterable[Mapping[str, Any]]) -> list[GuestRow]:
    """The guests of tenant stacks' outputs (stacks without a `guests` mapping add none)."""
    rows = []
    for out in outputs:
        guests = out.get("guests")
        if not isinstance(guests, Mapping):
            continue
        for name, g in guests.items():
            rows.append(GuestRow(name, str(g.get("tenant", "")), str(g.get("service", "")),
                                 str(g.get("node", "")), int(g.get("vmid", 0)), str(g.get("address", ""))))
    return sorted(rows, key=lambda r: (r.vmid, r.name))


def table(env: Env, rows: list[GuestRow]) -> Table:
    """Guest, service, node, address (the guest's name starts with its tenant's)."""
    flag = "" if env.name == DEFAULT_ENV else f" --env {env.name}"
    out = Table("guest", "service", "node", "address", box=box.SIMPLE_HEAD, show_edge=False,
                padding=(0, 1, 0, 0),
                title=f"env {env.name}: {len(rows)} guests", title_justify="left",
                caption=f"SSH: partilha ssh{flag} GUEST [-- COMMAND]", caption_justify="left")
    for r in rows:
        out.add_row(r.name, r.service, r.node, r.address)
    return out
