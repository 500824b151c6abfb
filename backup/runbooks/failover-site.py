"""Bring the chosen tiers' guests up at the recovery site from its own copies when a site is lost.

Refused, with nothing changed, while any node of the lost site answers, without the operator's
word that its nodes are powered off (--fenced: never assumed), or when the recovery site has not
the memory for every chosen guest (each one that does not fit is named). Then: quorum (the
survivors are a minority of the one cluster: `pvecm expected` on a survivor), the guests' configs
moved from the dead nodes to the recovery site's nodes (as PVE's HA recovery does), each guest
restored from the newest sound copy on the recovery site's backup storage onto its storage, in
priority order (the strictest tier first, back-ends before front-ends), started and logged into
against its pinned host key; where each one now runs is written in its stack's config
(`partilha:recoveredOn`), the stacks are converged (firewall, tags, pool as declared; no replace,
no duplicate), and each is proven: `partilha verify baseline`, and its data against the digest
recorded at backup time. HA guests go into the recovery site's HA group before their configs move,
or out of HA where it cannot run HA (one compute node, or storage its nodes do not share); the
shared stack, which declares HA membership, then declares the same."""

from __future__ import annotations

from typing import Any

from partilha.dr import Param, Run, Step, StepError, failover, placement, restore
from partilha.dr.times import when
from partilha.errors import UserError
from partilha.inventory import guests

PARAMS = (
    Param("--from", help="the lost site, e.g. primary"),
    Param("--to", help="the recovery site, e.g. dr"),
    Param("--tier", help="the tiers to bring up, comma-separated (default: every offsite tier)"),
    Param("--fenced", help="the operator has made sure every node of the lost site is powered off",
          flag=True),
)


def prepare(run: Run) -> None:
    lost, to = failover.two_sites(run, "the lost one, then the recovery site")
    inv = run.env.inventory
    tiers = [t.strip() for t in (run.args["tier"] or "").split(",") if t.strip()] or \
        [name for name, t in inv.backup.tiers.items() if t.offsite]
    unknown = [t for t in tiers if t not in inv.backup.tiers]
    if unknown:
        raise UserError(f"--tier {unknown[0]}: no such tier ({', '.join(inv.backup.tiers)})")
    failover.require_site_down(run, lost)
    if not run.args["fenced"] and not run.planning:
        raise UserError(f"the nodes of site {lost} must be powered off (fenced) before their guests run "
                        "elsewhere, or both copies would write the same data: make sure, then run again "
                        "with --fenced; nothing was changed")
    live = {int(e["vmid"]): e for e in run.pve.get("/cluster/resources", type="vm")}
    chosen = [g for g in guests(inv) if g.site == lost and g.spec.backup_tier in tiers and g.vmid in live]
    if not chosen:
        raise UserError(f"no guest of site {lost} in tier {', '.join(tiers)} exists")
    chosen.sort(key=lambda g: (inv.backup.tiers[str(g.spec.backup_tier)].rto_hours,
                               g.spec.exposure == "internet", g.number))
    online = restore.online_nodes(run)
    members = [restore.guest_facts(run, g, live.get(g.vmid or 0), online, "", to) for g in chosen]
    failover.fit(run, members, to)
    for m in members:
        m["candidates"] = restore.archives(run, m, None, None)
    run.facts.update(members=members, restored=[], lost=lost, to=to, survivor=failover.site_nodes(run, to)[0],
                     targets={"tier": ", ".join(tiers), "rto_s": min(m["rto_s"] for m in members),
                              "rpo_s": min(m["rpo_s"] for m in members)})
    run.lock([m["guest"] for m in members])


def _restore(m: dict[str, Any], n: int) -> Step:
    def action(run: Run) -> str:
        done = restore.restore_member(run, m)
        return f"on {m['node']} ({m['storage']}) from {done['archive']} made {when(done['backup_at'])}"

    def verification(run: Run) -> list[str]:
        conf = restore.member_config(run, m)
        if not str(conf.get("rootfs", "")).startswith(f"{m['storage']}:"):
            raise StepError(f"CT {m['vmid']}: its disk is {conf.get('rootfs')}, not on {m['storage']}")
        return [f"CT {m['vmid']} {conf.get('hostname')} on {m['node']}, disk on {m['storage']}"]

    return Step(f"RB-FO-04.{n}", f"Restore {m['guest']} ({m['tier']}) at the recovery site", action,
                verification, destructive=True,
                touches=lambda run: [f"CT {m['vmid']} on {m['node']}, {m['address']}",
                                     *restore.describe(m["candidates"])])


def _start(m: dict[str, Any], n: int) -> Step:
    return Step(f"RB-FO-05.{n}", f"Start {m['guest']}; log in against its pinned key",
                lambda run: restore.started(run, m), lambda run: [restore.login(run, m)],
                touches=lambda run: [f"CT {m['vmid']} on {m['node']}, {m['address']}"])


def steps(run: Run) -> list[Step]:
    members, lost, to = run.facts["members"], run.facts["lost"], run.facts["to"]
    survivor = run.facts["survivor"]
    orphans = [m for m in members if m.get("offline_owner")]
    tenants = placement.tenants(run, members)
    ha = [m for m in members if m.get("ha")]

    def fenced(run: Run) -> str:
        failover.require_site_down(run, lost)
        return f"every node of {lost} offline; powered off, as the operator confirmed (--fenced)"

    def converge(run: Run) -> str:
        return "; ".join([placement.record(run, members), restore.converge(run, tenants)])

    return [
        Step("RB-FO-01", f"Confirm site {lost} is lost and fenced (its nodes powered off)", fenced,
             lambda run: [f"{n}: {s}" for n, s in sorted(failover.node_states(run).items())],
             destructive=True,
             touches=lambda run: failover.site_nodes(run, lost, None)),
        Step("RB-FO-02", f"Quorum: lower the expected votes on {survivor} (pvecm expected)",
             lambda run: failover.quorum(run, survivor), failover.quorate, destructive=True,
             touches=lambda run: [f"{survivor}: pvecm expected <online nodes>"]),
        *([Step("RB-FO-08", f"HA: the guests in {to}'s HA group, or out of HA where {to} cannot run it",
                lambda run: failover.ha_place(run, ha, to), lambda run: failover.ha_placed(run, ha, to),
                destructive=True,
                touches=lambda run: [f"{sid}: {group or 'out of HA'}"
                                     for sid, group in failover.ha_wanted(run, ha, to).items()])]
          if ha else []),
        *([Step("RB-FO-03", f"Give the lost site's guests to {to}'s nodes (their configs moved in /etc/pve)",
                lambda run: "; ".join(restore.give_to_live_node(run, m) for m in orphans),
                lambda run: [restore.owned_by(run, m) for m in orphans], destructive=True,
                touches=lambda run: [f"/etc/pve/nodes/{m['offline_owner']}/lxc/{m['vmid']}.conf -> "
                                     f"{m['node']}" for m in orphans])] if orphans else []),
        *(_restore(m, i) for i, m in enumerate(members, 1)),
        *(_start(m, i) for i, m in enumerate(members, 1)),
        Step("RB-FO-06", "Record where they run (stack config) and converge their stacks", converge,
             lambda run: restore.converged(run, tenants),
             touches=lambda run: [run.env.tenant_stack(t).name for t in tenants]),
        Step("RB-FO-07", "Verify every guest (partilha verify baseline, its data digest)",
             lambda run: "verified",
             lambda run: [c for m in members for c in failover.proven(run, m)],
             touches=lambda run: [m["guest"] for m in members]),
    ]
