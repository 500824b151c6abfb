"""Where a recovery brought a guest up when that is not its inventory node (its node was down, or
its site lost): recorded in its stack's config, `partilha:recoveredOn` (guest -> node), which the
stack then declares as the guest's node and storage (that node's site's), so `up` neither moves,
replaces nor duplicates the recovered guest. An HA guest is recorded in the shared stack's config
too, which declares every tenant's HA membership: in the HA group of the site it runs at, or in
none (partilha.inventory.placement.ha_group)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from partilha.automation.envs import StackSpec
from partilha.dr.context import Run

RECOVERED_ON = "partilha:recoveredOn"


def record(run: Run, members: list[dict[str, Any]]) -> str:
    """Each member's node (`node`) recorded in its tenant's stack config."""
    return "recorded " + _change(run, members, keep=True)


def clear(run: Run, members: list[dict[str, Any]]) -> str:
    """The members' records removed: their stacks declare their inventory nodes again."""
    return "cleared " + _change(run, members, keep=False)


def _change(run: Run, members: list[dict[str, Any]], keep: bool) -> str:
    stacks: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        stacks.setdefault(m["tenant"], []).append(m)
    for m in members:
        if m.get("ha") and m["tenant"] != run.env.inventory.shared.slug:
            stacks.setdefault(run.env.inventory.shared.slug, []).append(m)
    said = []
    for tenant, mine in sorted(stacks.items()):
        spec = run.env.tenant_stack(tenant)
        now = {k: v for k, v in recorded(run, spec).items() if k not in {m["guest"] for m in mine}}
        if keep:
            now |= {m["guest"]: m["node"] for m in mine}
        run.env.set_config_value(spec, RECOVERED_ON, json.dumps(now, sort_keys=True) if now else None)
        said.append(f"{spec.name}: " + ", ".join(f"{m['guest']} ({m['node']})" for m in mine))
    return "; ".join(said)


def recorded(run: Run, spec: StackSpec) -> dict[str, str]:
    path = run.env.config_file(spec)
    config = ((yaml.safe_load(path.read_text()) or {}).get("config") or {}) if path.is_file() else {}
    return dict(json.loads(config.get(RECOVERED_ON) or "{}"))


def tenants(run: Run, members: list[dict[str, Any]]) -> list[str]:
    """The stacks that declare something of `members`, in the order to converge them: their
    tenants', then the shared stack's when it declares the HA membership of one of them."""
    shared = run.env.inventory.shared.slug
    mine = sorted({m["tenant"] for m in members} - {shared})
    return mine + ([shared] if any(m["tenant"] == shared or m.get("ha") for m in members) else [])
