"""What a site failover does beyond one guest's restore: the sites' nodes as the cluster sees
them, the recovery site's capacity, and quorum (`pvecm expected` on a survivor).

partilha supports one PVE cluster across the two sites (the reference inventories' design): when
the primary is lost the survivors are a minority and PVE refuses every write until an operator,
having fenced the lost nodes, lowers the expected votes on a survivor. The README says why."""

from __future__ import annotations

from typing import Any

from partilha.dr.context import Run
from partilha.dr.node_shell import run_on_node
from partilha.dr.runbook import StepError
from partilha.errors import UserError
from partilha.inventory import guests


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
    for r in run.pve.get("/cluster/resources", type="vm"):
        if r.get("node") in room and not any(int(r["vmid"]) == m["vmid"] for m in members):
            room[str(r["node"])] -= int(r.get("maxmem", 0)) // 2**20
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
