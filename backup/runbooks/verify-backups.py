"""Prove every backup restorable: each guest's newest backup at each site, restored as a throwaway.

For each guest with a backup tier (narrowed by --guest, --tenant, --tier, --site) and each site whose backup
storage holds a copy of it: the archive's sha256 against the one recorded at backup time (PBS:
its verification state), then a throwaway copy restored from it into the isolated drill VNet at a
drill address and a vmid of the drill range, booted, logged in to against the original's pinned
host keys, its baseline and its service's /health checked by testinfra and its data digest
compared with the one recorded at backup time, then removed with its pin. Production guests are
only read. Per guest: the archive's age, checksum, boot, service, data and seconds; the run exits
non-zero naming each guest whose backup is not recoverable, and why. The throwaways join no
pool (no municipality's token reaches them). A killed run leaves throwaways behind until `dr
resume` removes them (its first step and each guest's step do), or `dr clean` gives it up."""

from __future__ import annotations

from typing import Any

from partilha.dr import Param, Run, Step, StepError, drill, restore
from partilha.errors import UserError
from partilha.inventory import guests

PARAMS = (
    Param("--guest", help="only this guest"),
    Param("--tenant", help="only this tenant's guests (a municipality's slug, or the shared services')"),
    Param("--tier", help="only guests of this backup tier"),
    Param("--site", help="only the copies at this site"),
)


def prepare(run: Run) -> None:
    inv = run.env.inventory
    vnet, prefix, gateway = drill.drill_network(run)
    assert inv.backup.drill is not None  # drill_network said so
    wanted = {k: run.args[k] for k in ("guest", "tenant", "tier", "site") if run.args[k]}
    known = {"guest": {g.name for g in guests(inv) if g.spec.backup_tier},
             "tenant": {g.tenant for g in guests(inv)}, "tier": set(inv.backup.tiers),
             "site": set(inv.backup.storages)}
    for key, value in wanted.items():
        if value not in known[key]:
            raise UserError(f"--{key} {value}: none in env {run.env.name} ({', '.join(sorted(known[key]))})")
    chosen = [g for g in guests(inv) if g.spec.backup_tier
              and wanted.get("guest", g.name) == g.name
              and wanted.get("tenant", g.tenant) == g.tenant
              and wanted.get("tier", g.spec.backup_tier) == g.spec.backup_tier]
    taken = {int(x["vmid"]) for x in run.pve.get("/cluster/resources", type="vm")}
    vmids = (v for v in range(inv.backup.drill.first_vmid, inv.backup.drill.last_vmid + 1) if v not in taken)
    hosts = (h for h in prefix.hosts() if str(h) != gateway)
    copies = []
    for g in chosen:
        guest = restore.locate(run, g.name)
        for site, storage in sorted(inv.backup.storages.items()):
            if wanted.get("site", site) != site:
                continue
            archive = drill.newest(run, guest, storage)
            if archive is None and site != g.site:
                continue  # no copy is kept there
            address = next(hosts, None)
            vmid = next(vmids, None)
            if address is None or vmid is None:
                raise UserError(f"the drill range (backup.drill) or VNet {vnet} has no room for "
                                f"{len(chosen)} guests' copies")
            copies.append({**guest, "site": site, "backup_storage": storage, "archive": archive,
                           "drill_vmid": vmid, "drill_address": str(address), "drill_vnet": vnet,
                           "drill_interface": f"{address}/{prefix.prefixlen}", "drill_gateway": gateway})
    if not copies:
        raise UserError(f"no guest with a backup tier matches {wanted or 'the env'}")
    run.facts.update(copies=copies, backups=[], restored=[])
    run.lock([f"drill-{vnet}"])  # one drill at a time: they share the drill range


def _clean_all(run: Run) -> str:
    copies = run.facts["copies"]
    left = drill.leftovers(run, copies)
    for copy in copies:
        drill.remove(run, copy)
    return f"removed {len(left)} throwaway(s) left by an interrupted run" if left else "nothing left over"


def clean(run: Run) -> str:
    """`dr clean RUN-ID`: a stopped run given up; its throwaways and their pins removed."""
    return "; ".join([_clean_all(run), *_nothing_left(run)])


def _nothing_left(run: Run) -> list[str]:
    copies = run.facts["copies"]
    left = drill.leftovers(run, copies)
    pinned = [c["drill_address"] for c in copies
              if restore.pinned_lines(restore.known_hosts(run), c["drill_address"])]
    if left or pinned:
        raise StepError(f"still there: CT {left}, pins {pinned}")
    return [f"no throwaway in the drill range, no pin of a drill address ({len(copies)} copies)"]


def _copy(copy: dict[str, Any], number: int) -> Step:
    def action(run: Run) -> str:
        done = drill.verify_copy(run, copy)
        key = (copy["guest"], copy["site"])
        run.facts["backups"] = [b for b in run.facts["backups"] if (b["guest"], b["site"]) != key] + [done]
        if not done["recoverable"]:
            return f"NOT recoverable: {'; '.join(done['why'])}"
        return f"recoverable: checksum {done['checksum']}, boot, service, data {done['data']} " \
               f"({done['seconds']:.0f} s)"

    def verification(run: Run) -> list[str]:
        found = [b for b in run.facts["backups"] if (b["guest"], b["site"]) == (copy["guest"], copy["site"])]
        if not found or drill.leftovers(run, [copy]):
            raise StepError(f"{copy['guest']} at {copy['site']}: not verified yet, or its throwaway remains")
        return [f"{copy['guest']} at {copy['site']}: throwaway CT {copy['drill_vmid']} removed"]

    archive = copy["archive"]["volid"] if copy["archive"] else "no backup"
    return Step(f"RB-VB-02.{number}", f"Verify {copy['guest']}'s newest backup at {copy['site']}",
                action, verification,
                touches=lambda run: [archive, f"throwaway CT {copy['drill_vmid']} on {copy['node']}, "
                                              f"{copy['drill_address']} on {copy['drill_vnet']}"])


def _verdict(run: Run) -> list[str]:
    bad = [b for b in run.facts["backups"] if not b["recoverable"]]
    run.facts["unrecoverable"] = [f"{b['guest']} at {b['site']}: {'; '.join(b['why'])}" for b in bad]
    return [*_nothing_left(run),
            f"{len(run.facts['backups']) - len(bad)} of {len(run.facts['backups'])} backups recoverable"]


def steps(run: Run) -> list[Step]:
    copies = run.facts["copies"]
    return [
        Step("RB-VB-01", "Remove throwaways an interrupted run left", _clean_all, _nothing_left,
             touches=lambda run: [f"CT {c['drill_vmid']}" for c in copies]),
        *(_copy(c, n) for n, c in enumerate(copies, start=1)),
        Step("RB-VB-03", "Nothing of the drill remains; the verdict", lambda run: "checked", _verdict,
             touches=lambda run: ["the drill range, the pinned drill addresses"]),
    ]
