"""Restore one guest from its newest sound backup, in place or beside the original (a drill).

In place: the guest (stopped if it still runs) is replaced by the newest archive that restores (at
or before --at, or the --archive given); an archive whose restore fails is skipped and said so, and
the report's RPO is that of the archive really restored. It comes back with its vmid, node (a guest
already gone whose node is down goes to another of its site's), pool, tags and its own SSH host
keys, which must match the pin (nothing is learnt); its stack is then refreshed and applied, so the
firewall, tags and pool are as the stack declares. Beside (--beside): a copy on a free vmid and a
drill address on net0, in no pool, its host keys pinned for that address, verified, then removed
with its pin."""

from __future__ import annotations

from partilha.dr import Param, Run, Step, StepError, restore
from partilha.dr.times import moment, when

PARAMS = (
    Param("guest", help="the guest's name, e.g. abrantes-dms"),
    Param("--at", help="the newest backup made at or before this time (ISO 8601)"),
    Param("--archive", help="this archive (its volid) and no other"),
    Param("--beside", help="restore a drill copy beside the original, then remove it", flag=True),
)


def prepare(run: Run) -> None:
    guest = restore.locate(run, run.args["guest"])
    at = moment(run.args["at"], "--at") if run.args["at"] else None
    guest["candidates"] = restore.archives(run, guest, at, run.args["archive"])
    if run.args["beside"]:
        guest["drill_vmid"] = int(run.pve.get("/cluster/nextid"))
        guest["drill_interface"] = restore.drill_address(run, guest)
    run.facts.update(target=guest, restored=[],
                     targets={"tier": guest["tier"], "rto_s": guest["rto_s"], "rpo_s": guest["rpo_s"]})
    run.lock([guest["guest"]])


def _vmid(run: Run) -> int:
    g = run.facts["target"]
    return int(g["drill_vmid"] if run.args["beside"] else g["vmid"])


def _address(run: Run) -> str:
    g = run.facts["target"]
    return str(g["drill_interface"]).split("/")[0] if run.args["beside"] else str(g["address"])


def _restore(run: Run) -> str:
    g = run.facts["target"]
    extra = restore.drill_copy(g["vnet"], g["drill_interface"], g["gateway"]) if run.args["beside"] else {}
    done = restore.restore(run, g, _vmid(run), g["candidates"], extra)
    run.facts["restored"] = [done]
    skipped = f" ({len(done['skipped'])} newer skipped)" if done["skipped"] else ""
    return f"CT {_vmid(run)} on {g['node']} from {done['archive']} made {when(done['backup_at'])}{skipped}"


def _restored(run: Run) -> list[str]:
    g = run.facts["target"]
    if not run.facts["restored"]:
        raise StepError("no archive was restored yet")
    conf = restore.config(run, g["node"], _vmid(run))
    if conf.get("lock"):
        raise StepError(f"CT {_vmid(run)} is still locked ({conf['lock']})")
    return [f"CT {_vmid(run)} config: hostname {conf.get('hostname')}, net0 {conf.get('net0')}"]


def _start(run: Run) -> str:
    restore.start(run, run.facts["target"], _vmid(run))
    if run.args["beside"]:
        added = restore.pin_as(restore.known_hosts(run), run.facts["target"]["address"], _address(run))
        return f"started; the original's host keys pinned for {_address(run)} ({added} added)"
    return "started"


def _login(run: Run) -> list[str]:
    return [restore.login(run, run.facts["target"], _address(run) if run.args["beside"] else None)]


def _verify(run: Run) -> list[str]:
    return restore.verified(run, run.facts["target"], run.folder,
                            _address(run) if run.args["beside"] else None)


def _clean(run: Run) -> str:
    g = run.facts["target"]
    restore.destroy(run, g["node"], g["drill_vmid"])
    restore.unpin(restore.known_hosts(run), _address(run))
    return f"CT {g['drill_vmid']} destroyed, {_address(run)} unpinned"


def _cleaned(run: Run) -> list[str]:
    g = run.facts["target"]
    left = [x for x in run.pve.get("/cluster/resources", type="vm") if int(x["vmid"]) == g["drill_vmid"]]
    if left or restore.pinned_lines(restore.known_hosts(run), _address(run)):
        raise StepError(f"CT {g['drill_vmid']} or the pin of {_address(run)} is still there")
    return [f"no CT {g['drill_vmid']}, no pin for {_address(run)}"]


def steps(run: Run) -> list[Step]:
    g = run.facts["target"]
    where = f"CT {_vmid(run)} on {g['node']}, {_address(run)} on {g['vnet']}"
    chosen = restore.describe(g["candidates"])
    if run.args["beside"]:
        return [
            Step("RB-RG-01", "Restore a drill copy beside the original", _restore, _restored,
                 touches=lambda run: [where, *chosen]),
            Step("RB-RG-02", "Start it; pin the original's host keys for the drill address",
                 _start, _login, touches=lambda run: [where, str(restore.known_hosts(run))]),
            Step("RB-RG-03", "Verify the drill copy (partilha verify baseline)",
                 lambda run: "verified", _verify, touches=lambda run: [where]),
            Step("RB-RG-04", "Remove the drill copy and its pin", _clean, _cleaned,
                 touches=lambda run: [where, str(restore.known_hosts(run))]),
        ]
    return [
        Step("RB-RG-01", "Stop the damaged guest, if it still runs", lambda run: restore.stop(run, g),
             lambda run: [f"CT {g['vmid']} not running"], destructive=g["running"],
             touches=lambda run: [f"CT {g['vmid']} on {g['was_on'] or '(gone)'}"]),
        Step("RB-RG-02", "Restore the guest in place from the newest sound backup", _restore, _restored,
             destructive=True, touches=lambda run: [where, *chosen]),
        Step("RB-RG-03", "Start it and log in against its pinned host key", _start, _login,
             touches=lambda run: [where, str(restore.known_hosts(run))]),
        Step("RB-RG-04", "Put back what its stack declares (refresh, up: firewall, tags, pool)",
             lambda run: restore.converge(run, [g["tenant"]]), lambda run: restore.converged(run, [g["tenant"]]),
             touches=lambda run: [f"stack {run.env.tenant_stack(g['tenant']).name}"]),
        Step("RB-RG-05", "Verify the guest (partilha verify baseline)", lambda run: "verified", _verify,
             touches=lambda run: [where]),
    ]
