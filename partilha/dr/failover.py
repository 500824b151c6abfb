"""What a site failover (and its failback) does beyond one guest's restore: the sites' nodes as
the cluster sees them, the recovery site's capacity, quorum (`pvecm expected` on a survivor), the
HA guests' group, and each guest proven (its baseline, and its data against the digest recorded at
backup time).

partilha supports one PVE cluster across the two sites (the reference inventories' design): when
the primary is lost the survivors are a minority and PVE refuses every write until an operator,
having fenced the lost nodes, lowers the expected votes on a survivor. The README says why."""

from __future__ import annotations

import time
from typing import Any

from partilha.dr import digest, restore
from partilha.dr.context import Run
from partilha.dr.node_shell import run_on_node
from partilha.dr.runbook import StepError
from partilha.errors import UserError
from partilha.inventory import guests
from partilha.inventory.placement import ha_group


def site_nodes(run: Run, site: str, role: str | None = "compute") -> list[str]:
    return [n.name for n in run.env.inventory.datacentre.nodes
            if n.site == site and (role is None or role in n.roles)]


def node_states(run: Run) -> dict[str, str]:
    return {str(n["node"]): str(n.get("status")) for n in run.pve.get("/nodes")}


def require_site_down(run: Run, site: str) -> None:
    """Every node of `site` is offline as the cluster sees it; one that answers is a refusal."""
    states = node_states(run)
    up = [n for n in site_nodes(run, site, None) if states.get(n) == "online"]
    if up:
        raise UserError(f"site {site} still answers: {'nodes' if len(up) > 1 else 'node'} {', '.join(up)} "
                        f"{'are' if len(up) > 1 else 'is'} online; a failover is for a "
                        "site that is lost (restore-municipality or restore-guest recover guests of a "
                        "site that runs)")


def require_site_up(run: Run, site: str) -> None:
    """Every node of `site` is online again; one that is not is a refusal."""
    states = node_states(run)
    down = [n for n in site_nodes(run, site, None) if states.get(n) != "online"]
    if down:
        raise UserError(f"site {site} is not back: node {', '.join(down)} is not online")


def two_sites(run: Run, meaning: str) -> tuple[str, str]:
    """`--from` and `--to`: two sites of the env (`meaning` says which is which)."""
    given = run.args["from"], run.args["to"]
    sites = [s.name for s in run.env.inventory.datacentre.sites]
    if not all(given):
        raise UserError(f"{run.runbook} needs --from SITE and --to SITE ({meaning})")
    for word, site in zip(("--from", "--to"), given, strict=True):
        if site not in sites:
            raise UserError(f"{word} {site}: no such site in env {run.env.name} ({', '.join(sites)})")
    if given[0] == given[1]:
        raise UserError(f"--from and --to are both {given[0]}")
    return given


def fit(run: Run, members: list[dict[str, Any]], site: str) -> None:
    """Each member gets a compute node of `site` with the memory for it (in priority order,
    the node with the most room first); what does not fit is one refusal naming it."""
    sizes = {g.name: g.memory_mib for g in guests(run.env.inventory)}
    room = {n.name: n.memory_gib * 1024 for n in run.env.inventory.datacentre.nodes
            if n.site == site and "compute" in n.roles}
    if not room:
        raise UserError(f"site {site} has no compute node")
    for e in run.pve.get("/cluster/resources", type="vm"):
        if e.get("node") in room and not any(int(e["vmid"]) == m["vmid"] for m in members):
            room[str(e["node"])] -= int(e.get("maxmem", 0)) // 2**20
    left = []
    for m in members:
        node = max(room, key=lambda n: room[n])
        if room[node] < sizes[m["guest"]]:
            left.append(f"{m['guest']} ({sizes[m['guest']]} MiB)")
            continue
        room[node] -= sizes[m["guest"]]
        m["node"] = node
    if left:
        raise UserError(f"site {site} has not the memory for {', '.join(left)} (free: "
                        + ", ".join(f"{n} {max(0, v)} MiB" for n, v in room.items())
                        + "); nothing was changed: choose fewer tiers (--tier)")


def quorum(run: Run, on: str) -> str:
    """The expected votes lowered to the online nodes' on a survivor, unless quorate already."""
    if _quorate(run):
        return "quorate already"
    online = sum(1 for s in node_states(run).values() if s == "online")
    run_on_node(run, on, ["pvecm", "expected", str(online)])
    return f"pvecm expected {online} on {on}"


def quorate(run: Run) -> list[str]:
    if not _quorate(run):
        raise StepError("the cluster is not quorate")
    return ["cluster quorate (writes accepted)"]


def _quorate(run: Run) -> bool:
    return any(e.get("type") == "cluster" and int(e.get("quorate", 0))
               for e in run.pve.get("/cluster/status"))


def _ha_now(run: Run) -> dict[str, dict[str, Any]]:
    return {str(e["sid"]): e for e in run.pve.get("/cluster/ha/resources")}


def ha_wanted(run: Run, members: list[dict[str, Any]], site: str | None) -> dict[str, str | None]:
    """The HA members' sids -> the HA group each belongs in while it runs at `site` (None: out of
    HA, as while it moves)."""
    group = ha_group(run.env.inventory, site) if site else None
    return {f"ct:{m['vmid']}": group for m in members if m.get("ha")}


def ha_place(run: Run, members: list[dict[str, Any]], site: str | None) -> str:
    """Each HA member put in the HA group it belongs in at `site`, or taken out of HA: the HA
    manager must not keep a guest in a group of nodes that cannot run it (a failover), nor restart
    one being moved (a failback)."""
    now, said = _ha_now(run), []
    for sid, group in ha_wanted(run, members, site).items():
        if group is None and sid in now:
            run.pve.call("DELETE", f"/cluster/ha/resources/{sid}")
            said.append(f"{sid} out of HA (was in {now[sid].get('group')})")
        elif group is not None and sid not in now:
            run.pve.call("POST", "/cluster/ha/resources", sid=sid, group=group, state="started")
            said.append(f"{sid} into HA group {group}")
        elif group is not None and now[sid].get("group") != group:
            run.pve.call("PUT", f"/cluster/ha/resources/{sid}", group=group)
            said.append(f"{sid} moved to HA group {group}")
    return "; ".join(said) or "as wanted already"


def ha_placed(run: Run, members: list[dict[str, Any]], site: str | None) -> list[str]:
    now, checks = _ha_now(run), []
    for sid, group in ha_wanted(run, members, site).items():
        has = now[sid].get("group") if sid in now else None
        if (sid in now) != (group is not None) or has != group:
            raise StepError(f"{sid}: HA group {has or 'none'}, not {group or 'out of HA'}")
        checks.append(f"{sid}: {'in HA group ' + group if group else 'not HA-managed'}")
    return checks


def proven(run: Run, member: dict[str, Any]) -> list[str]:
    """A restored member's baseline verified and its data digest as recorded at backup time (none
    recorded is said, a different one fails); the moment it is proven goes in the run's facts."""
    done = next((x for x in run.facts["restored"] if x["guest"] == member["guest"]), None)
    if done is None:
        raise StepError(f"{member['guest']}: not restored yet")
    checks = restore.verified(run, member, run.folder)
    # the hook's record beside the archive, else the one taken as the service stopped (a failback)
    verdict, line = digest.compare(run, member, done.get("data_digest") or member.get("data_digest"))
    if verdict == "mismatch":
        raise StepError(f"{member['guest']}: {line}")
    done.update(data=verdict, verified_at=time.time())
    return [*checks, f"{member['guest']}: {line}"]
