"""What the restore runbooks do to a guest, through PVE's API: find where it is and its archives,
restore the newest sound one (a restore that fails on an archive skips it, says why, and tries the
one before), pin and unpin a drill copy's host keys, log in with the pinned key and verify it."""

from __future__ import annotations

import dataclasses
import difflib
import os
import subprocess
import time
from collections.abc import Mapping
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

from proxmoxer.core import ResourceException

from partilha.automation import operation
from partilha.automation.envs import Env, StackSpec
from partilha.automation.operation import StackResult
from partilha.automation.steps import ResourceStep, StackSteps
from partilha.deploy import stack_outputs
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.deploy.login import login_argv
from partilha.dr import checksum
from partilha.dr.context import Run
from partilha.dr.node_shell import run_on_node
from partilha.dr.runbook import StepError
from partilha.dr.times import when
from partilha.errors import UserError
from partilha.inventory import PlacedGuest, guests
from partilha.proxmox.client import Pve, TaskFailedError
from partilha.verify import verify_fleet

SSH_TIMEOUT = 60
LOCK_WAIT = 600  # seconds: a bound on a restore still running


def online_nodes(run: Run) -> list[str]:
    return sorted(str(n["node"]) for n in run.pve.get("/nodes") if n.get("status") == "online")


def inventory_guest(env: Env, name: str) -> PlacedGuest:
    """The env's guest of that name; an unknown one is one line with the closest names."""
    known = {g.name: g for g in guests(env.inventory)}
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        raise UserError(f"no guest {name!r} in env {env.name}"
                        + (f"; did you mean {', '.join(close)}?" if close else ""))
    return known[name]


def backup_now(env: Env, pve: Pve, name: str) -> dict[str, Any]:
    """A vzdump of the guest now, to its site's backup storage; the archive made."""
    g = inventory_guest(env, name)
    live = next((r for r in pve.get("/cluster/resources", type="vm") if int(r["vmid"]) == g.vmid), None)
    if live is None:
        raise UserError(f"guest {name}: CT {g.vmid} does not exist, nothing to back up")
    storage = env.inventory.backup.storages[g.site]
    pve.run("POST", f"/nodes/{live['node']}/vzdump", vmid=g.vmid, storage=storage, mode="snapshot",
            compress="zstd")
    made = max(pve.get(f"/nodes/{live['node']}/storage/{storage}/content", content="backup", vmid=g.vmid),
               key=lambda c: float(c["ctime"]))
    return {"volid": str(made["volid"]), "ctime": float(made["ctime"]), "node": str(live["node"])}


def locate(run: Run, name: str, adopt: bool = False) -> dict[str, Any]:
    """The guest's facts: who it is (inventory), where it is now (the cluster), where it goes back
    (its node; for a guest already gone whose node is offline, another online compute node of its
    site), its tier's targets. A guest whose config is on an offline node cannot be restored
    through the API: refused, unless `adopt` (the runbook moves its config to that other node
    first: `offline_owner` names the dead node)."""
    g = inventory_guest(run.env, name)
    inv = run.env.inventory
    live = next((r for r in run.pve.get("/cluster/resources", type="vm") if int(r["vmid"]) == g.vmid), None)
    online = online_nodes(run)
    node = str(live["node"]) if live else g.node
    if live and node not in online and not adopt:
        raise UserError(f"guest {name}: CT {g.vmid} is on node {node}, which is offline; PVE restores a "
                        f"vmid only on the node holding its config: bring {node} back, or move "
                        f"/etc/pve/nodes/{node}/lxc/{g.vmid}.conf to a surviving node (as HA recovery "
                        "does), then run this again")
    if node not in online:
        site_nodes = [n.name for n in inv.datacentre.nodes if n.site == g.site and "compute" in n.roles]
        spare = [n for n in site_nodes if n in online]
        if not spare:
            raise UserError(f"guest {name}: node {node} is offline and no other compute node of site "
                            f"{g.site} is online")
        run.log(f"{name}: node {node} is offline; restoring on {spare[0]}")
        node = spare[0]
    return guest_facts(run, g, live, online, node, g.site)


def guest_facts(run: Run, g: PlacedGuest, live: dict[str, Any] | None, online: list[str], node: str,
                site_name: str) -> dict[str, Any]:
    """What the runbooks keep of a guest restored on `node` of site `site_name` (its storage, and
    its backups on that site's backup storage)."""
    inv = run.env.inventory
    if not g.spec.backup_tier or g.vnet is None or g.address is None:
        raise UserError(f"guest {g.name}: no backup tier in the inventory, nothing to restore from")
    tier = inv.backup.tiers[g.spec.backup_tier]
    site = next(s for s in inv.datacentre.sites if s.name == site_name)
    return {"guest": g.name, "vmid": g.vmid, "tenant": g.tenant, "node": node,
            "was_on": str(live["node"]) if live else None, "exists": live is not None,
            "offline_owner": str(live["node"]) if live and str(live["node"]) not in online else None,
            "running": bool(live and live.get("status") == "running"),
            "storage": site.guest_storage, "backup_storage": inv.backup.storages[site_name],
            "address": str(g.address.ip), "interface": str(g.address), "vnet": g.vnet.id,
            "gateway": str(g.vnet.gateway), "pool": g.tenant, "tier": g.spec.backup_tier, "ha": g.spec.ha,
            "rto_s": tier.rto_hours * 3600, "rpo_s": tier.rpo_hours * 3600}


def archives(run: Run, guest: dict[str, Any], at: float | None, volid: str | None) -> list[dict[str, Any]]:
    """The guest's backups on its site's backup storage, newest first (made at or before `at`;
    only `volid` when given); none is one clear error."""
    storage = guest["backup_storage"]
    listed = run.pve.get(f"/nodes/{guest['node']}/storage/{storage}/content", content="backup",
                         vmid=guest["vmid"])
    found: list[dict[str, Any]] = [{"volid": str(c["volid"]), "ctime": float(c["ctime"]),
                                    "size": int(c.get("size", 0))} for c in listed]
    found.sort(key=lambda c: float(c["ctime"]), reverse=True)
    if volid is not None:
        found = [c for c in found if c["volid"] == volid]
        if not found:
            raise UserError(f"guest {guest['guest']}: no archive {volid} on {storage}")
    if at is not None:
        found = [c for c in found if c["ctime"] <= at]
    if not found:
        after = f" made at or before {when(at)}" if at is not None else ""
        raise UserError(f"guest {guest['guest']}: no backup{after} on storage {storage}; nothing to "
                        "restore from")
    return found


def give_to_live_node(run: Run, guest: dict[str, Any]) -> str:
    """Move the config of a guest owned by an offline node to the node it is restored on (`mv`
    in /etc/pve on that node, as operators and PVE's HA recovery do); done already is fine."""
    now = next((r for r in run.pve.get("/cluster/resources", type="vm") if int(r["vmid"]) == guest["vmid"]),
               None)
    if now is not None and now["node"] == guest["node"]:
        return f"CT {guest['vmid']} is {guest['node']}'s already"
    dead = guest["offline_owner"]
    if dead in online_nodes(run):
        raise StepError(f"node {dead} is online again: restore {guest['guest']} there instead "
                        "(start this run again)")
    return move_config(run, guest, dead)


def move_config(run: Run, guest: dict[str, Any], source: str) -> str:
    """`mv` of the (stopped) guest's config from `source`'s directory of /etc/pve to that of the
    node it is restored on, run there."""
    run_on_node(run, guest["node"], ["mv", f"/etc/pve/nodes/{source}/lxc/{guest['vmid']}.conf",
                                     f"/etc/pve/nodes/{guest['node']}/lxc/"])
    return f"CT {guest['vmid']}: config moved from {source} to {guest['node']}"


def owned_by(run: Run, guest: dict[str, Any]) -> str:
    """The guest's config is on the node it is restored on (the cluster says so)."""
    now = next((r for r in run.pve.get("/cluster/resources", type="vm") if int(r["vmid"]) == guest["vmid"]),
               None)
    if now is None or now["node"] != guest["node"]:
        raise StepError(f"CT {guest['vmid']} is on {now['node'] if now else 'no node'}, not {guest['node']}")
    return f"CT {guest['vmid']} is {guest['node']}'s"


def describe(candidates: list[dict[str, Any]]) -> list[str]:
    first, *rest = candidates
    lines = [f"archive {first['volid']} ({when(first['ctime'])}, {first['size'] / 2**20:.0f} MiB)"]
    if rest:
        lines.append(f"if it fails its check: {rest[0]['volid']} ({when(rest[0]['ctime'])}), "
                     f"{len(rest)} older in all")
    return lines


def drill_address(run: Run, guest: dict[str, Any]) -> str:
    """A free address of the guest's VNet for a drill copy: the highest host no guest of the
    inventory uses."""
    iface = IPv4Interface(guest["interface"])
    used = {str(g.address.ip) for g in guests(run.env.inventory) if g.address} | {guest["gateway"]}
    for host in reversed(list(iface.network.hosts())):
        if str(host) not in used:
            return f"{host}/{iface.network.prefixlen}"
    raise UserError(f"VNet {guest['vnet']}: no free address for a drill copy")


def drill_copy(vnet: str, interface: str, gateway: str) -> dict[str, Any]:
    """The restore parameters of a drill copy beside the original: on `vnet` at `interface`, MAC
    addresses of its own, and in no pool (a pool member its stack does not declare is drift, and
    the pool's ACL would give the municipality's token rights on it)."""
    return {"net0": f"name=eth0,bridge={vnet},ip={interface},gw={gateway},firewall=1", "unique": 1,
            "pool": None}


def restore(run: Run, guest: dict[str, Any], vmid: int, candidates: list[dict[str, Any]],
            extra: dict[str, Any], checked_already: Mapping[str, checksum.Checked] | None = None,
            ) -> dict[str, Any]:
    """Restore `vmid` from the newest candidate whose checksum holds and that restores; what was
    restored and skipped. `checked_already`: archives (by volid) the caller has just checked, not
    read again."""
    skipped: list[dict[str, str]] = []
    base = f"/nodes/{guest['node']}/lxc"
    for archive in candidates:
        checked = (checked_already or {}).get(archive["volid"]) or \
            checksum.check(run, guest["node"], guest["backup_storage"], archive["volid"])
        if checked.verdict == "mismatch":
            run.log(f"{archive['volid']} failed its check ({checked.why}); the one before")
            skipped.append({"archive": archive["volid"], "why": checked.why})
            continue
        if checked.verdict == "missing":
            run.log(f"{archive['volid']}: {checked.why}; restoring it unverified")
        exists = any(int(r["vmid"]) == vmid for r in run.pve.get("/cluster/resources", type="vm"))
        if exists:
            unlocked(run, guest["node"], vmid)
        params = {"vmid": vmid, "ostemplate": archive["volid"], "restore": 1,
                  "storage": guest["storage"], "pool": guest["pool"], **extra}
        if exists:
            params.update(force=1)
        if exists or params["pool"] is None:
            params.pop("pool")  # an existing guest keeps its pool; a drill copy joins none
        try:
            run.log(f"restoring CT {vmid} on {guest['node']} from {archive['volid']}")
            run.pve.run("POST", base, **params)
        except ResourceException as exc:  # refused before any archive was read
            raise StepError(f"restoring CT {vmid} on {guest['node']}: {exc}") from None
        except TaskFailedError as exc:
            why = str(exc).splitlines()[-1].strip()
            run.log(f"{archive['volid']} failed its check (the restore failed: {why}); the one before")
            skipped.append({"archive": archive["volid"], "why": why})
            continue
        return {"guest": guest["guest"], "vmid": vmid, "archive": archive["volid"],
                "backup_at": archive["ctime"], "skipped": skipped, "checksum": checked.verdict,
                "data_digest": checked.data_digest}
    tried = "; ".join(f"{s['archive']}: {s['why']}" for s in skipped)
    raise StepError(f"guest {guest['guest']}: no archive restored ({tried})")


def restore_member(run: Run, guest: dict[str, Any]) -> dict[str, Any]:
    """A member of a many-guest runbook restored in place; the run's `restored` facts hold it, with
    its tier's targets."""
    done = restore(run, guest, guest["vmid"], guest["candidates"], {})
    done.update(tier=guest["tier"], rto_target_s=guest["rto_s"], rpo_target_s=guest["rpo_s"])
    run.facts["restored"] = [x for x in run.facts["restored"] if x["guest"] != guest["guest"]] + [done]
    return done


def member_config(run: Run, guest: dict[str, Any]) -> dict[str, Any]:
    """The restored member's config, once the run's facts hold it and no lock is left on it."""
    if not any(x["guest"] == guest["guest"] for x in run.facts["restored"]):
        raise StepError(f"{guest['guest']}: not restored yet")
    conf = config(run, guest["node"], guest["vmid"])
    if conf.get("lock"):
        raise StepError(f"CT {guest['vmid']} is still locked ({conf['lock']})")
    return conf


def unlocked(run: Run, node: str, vmid: int) -> None:
    """Back once the guest's config holds no lock (a restore a killed run left going finishes
    first), or it is gone; bounded."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            held = config(run, node, vmid).get("lock")
        except ResourceException:
            return  # gone
        if not held:
            return
        if time.monotonic() > deadline:
            raise StepError(f"CT {vmid} stays locked ({held})")
        time.sleep(1)


def start(run: Run, guest: dict[str, Any], vmid: int) -> None:
    status = run.pve.get(f"/nodes/{guest['node']}/lxc/{vmid}/status/current")
    if status.get("status") != "running":
        run.pve.run("POST", f"/nodes/{guest['node']}/lxc/{vmid}/status/start")


def started(run: Run, guest: dict[str, Any]) -> str:
    """A restored guest started where it was restored (in place: its own vmid)."""
    start(run, guest, guest["vmid"])
    return "started"


def stop(run: Run, guest: dict[str, Any]) -> str:
    entry = next((r for r in run.pve.get("/cluster/resources", type="vm")
                  if int(r["vmid"]) == guest["vmid"]), None)
    if entry is None:
        return f"CT {guest['vmid']} is gone: nothing to stop"
    if entry.get("status") == "running":
        run.pve.run("POST", f"/nodes/{entry['node']}/lxc/{guest['vmid']}/status/stop")
        return f"stopped CT {guest['vmid']} on {entry['node']}"
    return f"CT {guest['vmid']} was not running"


def destroy(run: Run, node: str, vmid: int) -> None:
    base = f"/nodes/{node}/lxc/{vmid}"
    try:
        if run.pve.get(f"{base}/status/current").get("status") == "running":
            run.pve.run("POST", f"{base}/status/stop")
    except ResourceException:
        return  # already gone
    run.pve.run("DELETE", base, purge=1)


def config(run: Run, node: str, vmid: int) -> dict[str, Any]:
    return dict(run.pve.get(f"/nodes/{node}/lxc/{vmid}/config"))


class _Lines:
    """A Pulumi run's changed resources, as lines of the run's log."""

    def __init__(self, run: Run, op: str) -> None:
        self.run, self.op = run, op

    def started(self, stack: StackSpec) -> None:
        return None

    def event(self, stack: StackSpec, steps: StackSteps, finished: ResourceStep | None) -> None:
        if finished is not None and finished.op != "same":
            self.run.log(f"{self.op} {stack.name}: {finished.op} {finished.type} {finished.name} "
                         + ", ".join(finished.changes))

    def finished(self, result: StackResult) -> None:
        return None


def converge(run: Run, tenants: list[str]) -> str:
    """The tenants' stacks read back from PVE (`refresh`), then `up`, side by side as `partilha up`
    runs them: what the restore brought back differently from what a stack declares (the firewall,
    tags, pool) is put back."""
    stacks = [run.env.tenant_stack(t) for t in tenants]
    said = []
    for op in ("refresh", "up"):
        results = operation.run(run.env, op, stacks, _Lines(run, op))
        if failed := [r for r in results if r.error]:
            raise StepError("; ".join(f"{op} {r.stack.name}: {r.error}" for r in failed))
        said += [f"{op} {r.stack.name}: {sum(r.changes.values())} changed" for r in results]
    return "; ".join(said)


def converged(run: Run, tenants: list[str]) -> list[str]:
    """A preview of each tenant's stack changes nothing."""
    results = operation.run(run.env, "preview", [run.env.tenant_stack(t) for t in tenants],
                            _Lines(run, "preview"))
    if failed := [f"preview {r.stack.name}: {r.error or r.changes}" for r in results if r.error or r.changes]:
        raise StepError("; ".join(failed))
    return [f"preview {r.stack.name}: no change (firewall, tags, pool as the stack declares)"
            for r in results]


def known_hosts(run: Run) -> Path:
    return run.env.known_hosts(os.environ)


def pinned_lines(path: Path, address: str) -> list[str]:
    """The known_hosts lines pinning `address` (plain entries, as partilha writes them)."""
    if not path.is_file():
        return []
    return [line for line in path.read_text().splitlines()
            if line.split(" ", 1)[0].split(",").count(address)]


def pin_as(path: Path, original: str, drill: str) -> int:
    """The original's pinned host keys pinned for the drill address too (the archive holds the
    original's keys, so the copy has them); how many were added."""
    keys = [line.split(" ", 1)[1] for line in pinned_lines(path, original)]
    if not keys:
        raise StepError(f"{path}: no host key pinned for {original}, so none to trust for the drill copy")
    have = {line.split(" ", 1)[1] for line in pinned_lines(path, drill)}
    new = [f"{drill} {key}" for key in keys if key not in have]
    if new:
        with path.open("a") as out:
            out.write("".join(f"{line}\n" for line in new))
    return len(new)


def unpin(path: Path, address: str) -> None:
    subprocess.run(["ssh-keygen", "-R", address, "-f", str(path)], capture_output=True, check=False)
    Path(f"{path}.old").unlink(missing_ok=True)


def fleet(run: Run, guest: dict[str, Any], address: str | None = None) -> Fleet:
    """A fleet of the guest alone, as its tenant stack made it (reached at `address` for a drill
    copy, which may be on another VNet: what it is, its controls included, stays the original's)."""
    env = run.env
    out = dict(stack_outputs.stack_guests(env, env.tenant_stack(guest["tenant"]).name)[guest["guest"]])
    out.update(node=guest["node"])
    (host,) = build_hosts(env.inventory, {guest["guest"]: out}, {}, env.name, lab=env.lab)
    host = dataclasses.replace(host, address=address) if address else host
    return Fleet(env.name, (host,), known_hosts(run), env.workspace.ssh_key(env.lab))


def in_guest(run: Run, guest: dict[str, Any], command: str, address: str | None = None,
             seconds: float = SSH_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`command` run in the guest (at `address` for a drill copy) over SSH, its host key pinned."""
    argv = login_argv(fleet(run, guest, address), guest["guest"], [command])
    return subprocess.run(argv, capture_output=True, text=True, timeout=seconds, check=False,
                          stdin=subprocess.DEVNULL)


def login(run: Run, guest: dict[str, Any], address: str | None = None) -> str:
    """Log in with the operator's key against the pinned host key (nothing learnt)."""
    argv = login_argv(fleet(run, guest, address), guest["guest"], ["true"])
    deadline = time.monotonic() + SSH_TIMEOUT
    while True:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=SSH_TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
        if done.returncode == 0:
            return f"ssh {argv[-2]}: logged in, host key as pinned"
        if time.monotonic() > deadline or "Host key verification failed" in done.stderr:
            raise StepError(f"ssh {argv[-2]}: {done.stderr.strip() or 'refused'}")
        time.sleep(1)


def verified(run: Run, guest: dict[str, Any], folder: Path, address: str | None = None) -> list[str]:
    """`partilha verify baseline` of the guest (at `address` for a drill copy)."""
    made = fleet(run, guest, address)
    path = folder / f"fleet-{guest['guest']}.json"
    made.save(path)
    result = verify_fleet(path, folder / f"verify-{guest['guest']}", what="baseline", hosts=[guest["guest"]])
    failed = [f"{o.control} ({o.message})" for o in result.outcomes.failures]
    failed += [f"refused: {why}" for why in result.outcomes.unreachable.values()]
    if failed or not result.outcomes.items:
        raise StepError(f"verify baseline of {guest['guest']}: " + ("; ".join(failed) or "no control ran"))
    return [f"verify baseline {guest['guest']}: {result.outcomes.count('passed')} controls passed, "
            f"{result.outcomes.count('na')} n/a"]

