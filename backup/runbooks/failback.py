"""Bring the guests a failover put at the recovery site back home, once the home site is back.

Refused, with nothing changed, while a node of the home site is not online, or when no guest is
recorded as running at the recovery site (`partilha:recoveredOn`). Then, per guest: stopped at the
recovery site and backed up there now (the service is down from here), its config given back to
its inventory node (in /etc/pve), restored there from that fresh backup onto the home site's
storage (which retires the copy at the recovery site), started and logged into against its pinned
host key; the record is cleared, the stacks converged to the inventory (HA guests back in their
home site's HA group: they are taken out of HA first, so the HA manager restarts none while it
moves), and each is proven: `partilha verify baseline`, and its data against the digest taken as
its service stopped for the fresh backup."""

from __future__ import annotations

from typing import Any

from partilha.dr import Param, Run, Step, StepError, digest, failover, placement, restore
from partilha.dr.times import when
from partilha.errors import UserError

PARAMS = (
    Param("--from", help="the recovery site the guests run at, e.g. dr"),
    Param("--to", help="their home site, back again, e.g. primary"),
)


def prepare(run: Run) -> None:
    away, home = failover.two_sites(run, "the recovery site, then their home")
    failover.require_site_up(run, home)
    inv, env = run.env.inventory, run.env
    site_of = {n.name: n.site for n in inv.datacentre.nodes}
    tenants = [inv.shared.slug, *(m.slug for m in inv.municipalities)]
    recorded = [placement.recorded(run, env.tenant_stack(t)) for t in tenants]
    there = {name: node for mine in recorded for name, node in mine.items() if site_of.get(node) == away}
    if not there:
        raise UserError(f"no guest is recorded as running at site {away} (partilha:recoveredOn): nothing to "
                        "bring back")
    live = {int(e["vmid"]): e for e in run.pve.get("/cluster/resources", type="vm")}
    online = restore.online_nodes(run)
    members = []
    for name in sorted(there, key=lambda n: restore.inventory_guest(env, n).number):
        g = restore.inventory_guest(env, name)
        m = restore.guest_facts(run, g, live.get(g.vmid or 0), online, g.node, home)
        m.update(away_on=there[name], backup_storage=inv.backup.storages[away], candidates=[])
        members.append(m)
    run.facts.update(members=members, restored=[], away=away,
                     targets={"tier": ", ".join(sorted({m["tier"] for m in members})),
                              "rto_s": min(m["rto_s"] for m in members),
                              "rpo_s": min(m["rpo_s"] for m in members)})
    run.lock([m["guest"] for m in members])


def _backed_up(run: Run, m: dict[str, Any]) -> str:
    """Stopped where it runs and backed up there now: the archive it comes home from (its data
    digest taken just before it stops: the hook cannot ask a stopped guest)."""
    if any(int(e["vmid"]) == m["vmid"] and e.get("status") == "running"
           for e in run.pve.get("/cluster/resources", type="vm")):
        m["data_digest"] = digest.taken(run, m)
    restore.stop(run, m)
    base = f"/nodes/{m['away_on']}"
    run.pve.run("POST", f"{base}/vzdump", vmid=m["vmid"], storage=m["backup_storage"], mode="stop",
                compress="zstd")
    made = max(run.pve.get(f"{base}/storage/{m['backup_storage']}/content", content="backup", vmid=m["vmid"]),
               key=lambda c: float(c["ctime"]))
    m["candidates"] = [{"volid": str(made["volid"]), "ctime": float(made["ctime"]),
                        "size": int(made["size"])}]
    return f"CT {m['vmid']} on {m['away_on']} stopped, {made['volid']}"


def _restore(m: dict[str, Any], n: int) -> Step:
    def action(run: Run) -> str:
        done = restore.restore_member(run, m)
        return f"on {m['node']} ({m['storage']}) from {done['archive']} made {when(done['backup_at'])}"

    return Step(f"RB-FB-03.{n}", f"Restore {m['guest']} at home on {m['node']}", action,
                lambda run: [f"CT {m['vmid']} {restore.member_config(run, m).get('hostname')} "
                             f"on {m['node']}"],
                destructive=True, touches=lambda run: [f"CT {m['vmid']} on {m['node']}, {m['address']}"])


def _start(m: dict[str, Any], n: int) -> Step:
    return Step(f"RB-FB-04.{n}", f"Start {m['guest']}; log in against its pinned key",
                lambda run: restore.started(run, m), lambda run: [restore.login(run, m)])


def steps(run: Run) -> list[Step]:
    members, away = run.facts["members"], run.facts["away"]
    # An up with the home node declared outright, before the record goes: the stack keeps an
    # existing guest's node by reusing its last declared one, which was the recovery site's.
    tenants = placement.tenants(run, members)
    ha = [m for m in members if m.get("ha")]
    home = run.args["to"]

    def retired(run: Run) -> list[str]:
        there = set(failover.site_nodes(run, away, None))
        left = [f"CT {e['vmid']} on {e['node']}" for e in run.pve.get("/cluster/resources", type="vm")
                if e["node"] in there and any(int(e["vmid"]) == m["vmid"] for m in members)]
        if left:
            raise StepError(f"still at {away}: {', '.join(left)}")
        return [f"no copy left at {away}"] + [c for m in members for c in failover.proven(run, m)]

    def backed_up(run: Run) -> list[str]:
        missing = [m["guest"] for m in members if not m["candidates"]]
        if missing:
            raise StepError(f"no fresh backup of {', '.join(missing)}")
        return [f"{m['guest']}: {m['candidates'][0]['volid']}" for m in members]

    return [
        *([Step("RB-FB-07", "HA: the guests out of HA while they move (their stacks put them back)",
                lambda run: failover.ha_place(run, ha, None), lambda run: failover.ha_placed(run, ha, None),
                destructive=True,
                touches=lambda run: [f"{sid}: out of HA" for sid in failover.ha_wanted(run, ha, None)])]
          if ha else []),
        Step("RB-FB-01", f"Stop the guests at {away} and back each up there now (their service stops)",
             lambda run: "; ".join(_backed_up(run, m) for m in members), backed_up, destructive=True,
             touches=lambda run: [f"CT {m['vmid']} on {m['away_on']} -> {m['backup_storage']}"
                                  for m in members]),
        Step("RB-FB-02", "Give their configs back to their home nodes (in /etc/pve)",
             lambda run: "; ".join(restore.move_config(run, m, m["away_on"]) for m in members),
             lambda run: [restore.owned_by(run, m) for m in members], destructive=True,
             touches=lambda run: [f"/etc/pve/nodes/{m['away_on']}/lxc/{m['vmid']}.conf -> {m['node']}"
                                  for m in members]),
        *(_restore(m, i) for i, m in enumerate(members, 1)),
        *(_start(m, i) for i, m in enumerate(members, 1)),
        Step("RB-FB-05", "Converge their stacks to their home nodes, then clear the record of where they ran",
             lambda run: "; ".join([placement.record(run, members), restore.converge(run, tenants),
                                    placement.clear(run, members)]),
             lambda run: restore.converged(run, tenants)
             + failover.ha_placed(run, ha, home),
             touches=lambda run: [run.env.tenant_stack(t).name for t in tenants]),
        Step("RB-FB-06", f"Verify every guest and that none is left at {away}", lambda run: "verified",
             retired, touches=lambda run: [m["guest"] for m in members]),
    ]
