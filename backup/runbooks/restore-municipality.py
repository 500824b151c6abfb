"""Restore every guest of a municipality from its newest sound backups, back-ends first.

Each guest with a backup tier is replaced in place by its newest archive that restores (a broken one
is skipped and said so), on its node; a guest of a node that is down comes back on another online
compute node of its site, its config first moved there (in /etc/pve, as PVE's HA recovery does,
once the operator confirms the dead node is powered off), and recorded in its stack's config as
where it now runs (`partilha:recoveredOn`). Back-ends (services not exposed to the
internet: the document store, e-invoicing, ...) come back before the front-ends that use them (the
portal). Each is started and logged into against its pinned host key, then `partilha verify
baseline` proves them all."""

from __future__ import annotations

import difflib
from typing import Any

from partilha.dr import Param, Run, Step, placement, restore
from partilha.dr.times import moment, when
from partilha.errors import UserError
from partilha.inventory import guests

PARAMS = (Param("slug", help="the municipality's slug, e.g. constancia"),
          Param("--at", help="the newest backups made at or before this time (ISO 8601)"))


def prepare(run: Run) -> None:
    inv = run.env.inventory
    slugs = [m.slug for m in inv.municipalities]
    slug = run.args["slug"]
    if slug not in slugs:
        close = difflib.get_close_matches(slug, slugs, n=2)
        raise UserError(f"no municipality {slug!r} in env {run.env.name}"
                        + (f"; did you mean {', '.join(close)}?" if close else f" ({', '.join(slugs)})"))
    mine = [g for g in guests(inv) if g.tenant == slug and g.spec.backup_tier]
    mine.sort(key=lambda g: (g.spec.exposure == "internet", g.number))  # back-ends first
    at = moment(run.args["at"], "--at") if run.args["at"] else None
    found = []
    for g in mine:
        guest = restore.locate(run, g.name, adopt=True)
        guest["candidates"] = restore.archives(run, guest, at, None)
        guest["number"] = g.number
        found.append(guest)
    run.facts.update(members=found, restored=[], targets={
        "tier": ", ".join(sorted({g["tier"] for g in found})),
        "rto_s": min(g["rto_s"] for g in found), "rpo_s": min(g["rpo_s"] for g in found)})
    run.lock([g["guest"] for g in found])


def _restore(guest: dict[str, Any]) -> Step:
    def action(run: Run) -> str:
        done = restore.restore_member(run, guest)
        return f"from {done['archive']} made {when(done['backup_at'])}"

    def verification(run: Run) -> list[str]:
        conf = restore.member_config(run, guest)
        return [f"CT {guest['vmid']} {conf.get('hostname')} restored on {guest['node']}"]

    where = f"CT {guest['vmid']} on {guest['node']}, {guest['address']}"
    return Step(f"RB-RM-02.{guest['number']}", f"Restore {guest['guest']}", action, verification,
                destructive=True, touches=lambda run: [where, *restore.describe(guest["candidates"])])


def _start(guest: dict[str, Any]) -> Step:
    return Step(f"RB-RM-03.{guest['number']}", f"Start {guest['guest']}; log in against its pinned key",
                lambda run: restore.started(run, guest), lambda run: [restore.login(run, guest)],
                touches=lambda run: [f"CT {guest['vmid']} on {guest['node']}, {guest['address']}"])


def steps(run: Run) -> list[Step]:
    members = run.facts["members"]
    running = [g for g in members if g["running"]]
    orphans = [g for g in members if g.get("offline_owner")]
    dead = sorted({g["offline_owner"] for g in orphans})

    def stop(run: Run) -> str:
        return "; ".join(restore.stop(run, g) for g in members)

    def verify(run: Run) -> list[str]:
        return [check for g in members for check in restore.verified(run, g, run.folder)]

    return [
        Step("RB-RM-01", "Stop the municipality's guests that still run", stop,
             lambda run: [f"{len(members)} guests not running"], destructive=bool(running),
             touches=lambda run: [f"CT {g['vmid']} on {g['was_on']}" for g in running] or ["none runs"]),
        *([Step("RB-RM-06", f"Give the guests of offline node {', '.join(dead)} to live nodes (confirm "
                f"{', '.join(dead)} is powered off: fenced)",
                lambda run: "; ".join(restore.give_to_live_node(run, g) for g in orphans),
                lambda run: [restore.owned_by(run, g) for g in orphans],
                destructive=True,
                touches=lambda run: [f"/etc/pve/nodes/{g['offline_owner']}/lxc/{g['vmid']}.conf -> "
                                     f"{g['node']}" for g in orphans])] if orphans else []),
        *(_restore(g) for g in members),
        *(_start(g) for g in members),
        Step("RB-RM-04", "Put back what its stack declares (refresh, up: firewall, tags, pool)",
             lambda run: "; ".join(([placement.record(run, orphans)] if orphans else [])
                                   + [restore.converge(run, [run.args["slug"]])]),
             lambda run: restore.converged(run, [run.args["slug"]]),
             touches=lambda run: [f"stack {run.env.tenant_stack(run.args['slug']).name}"]),
        Step("RB-RM-05", "Verify every guest (partilha verify baseline)", lambda run: "verified", verify,
             touches=lambda run: [g["guest"] for g in members]),
    ]
