"""What `dr run verify-backups` does to one backup: its checksum; a throwaway copy restored from it
into the isolated drill VNet (inventory `backup.drill`: a VNet of purpose drill, which no flow
reaches or leaves, and a vmid range of its own) at a drill address; booted; logged in to against
the original's pinned host keys; its units left to start (systemd settled); its baseline
(testinfra), its service's health (PTL-SRV-01, over TLS) and its data digest (its
`partilha-data-digest`) against the one the vzdump hook recorded at backup time; then removed with
its pin. The result of each check, per guest and site."""

from __future__ import annotations

import time
from ipaddress import IPv4Network
from typing import Any

from proxmoxer.core import ResourceException

from partilha.dr import checksum, digest, restore
from partilha.dr.context import Run
from partilha.dr.runbook import StepError
from partilha.errors import UserError
from partilha.proxmox.client import TaskFailedError
from partilha.verify import verify_fleet

SETTLE_WAIT = 180  # seconds: a bound on the copy's units starting (a database's crash recovery)


def drill_network(run: Run) -> tuple[str, IPv4Network, str]:
    """(VNet, prefix, gateway) of the env's drill VNet; none declared is one clear line."""
    inv = run.env.inventory
    if inv.backup.drill is None:
        raise UserError(f"env {run.env.name}: no `backup.drill` in its inventory's backup.yaml (a VNet "
                        "of purpose drill and a vmid range for the throwaway copies)")
    vnet = next(v for v in inv.networks.vnets if v.id == inv.backup.drill.vnet)
    return vnet.id, vnet.prefix, str(vnet.gateway)


def newest(run: Run, guest: dict[str, Any], storage: str) -> dict[str, Any] | None:
    listed = run.pve.get(f"/nodes/{guest['node']}/storage/{storage}/content", content="backup",
                         vmid=guest["vmid"])
    if not listed:
        return None
    made = max(listed, key=lambda c: float(c["ctime"]))
    return {"volid": str(made["volid"]), "ctime": float(made["ctime"]), "size": int(made.get("size", 0))}


def leftovers(run: Run, copies: list[dict[str, Any]]) -> list[int]:
    """The drill vmids of `copies` that exist now."""
    mine = {int(c["drill_vmid"]) for c in copies}
    live = run.pve.get("/cluster/resources", type="vm")
    return sorted(int(x["vmid"]) for x in live if int(x["vmid"]) in mine)


def remove(run: Run, copy: dict[str, Any]) -> None:
    """The copy's throwaway and its pin, whatever of them exists (a restore a killed run left
    going is waited for: a locked guest cannot be destroyed)."""
    vmid = int(copy["drill_vmid"])
    if vmid in leftovers(run, [copy]):
        restore.unlocked(run, copy["node"], vmid)
    if vmid in leftovers(run, [copy]):
        restore.destroy(run, copy["node"], vmid)
    restore.unpin(restore.known_hosts(run), copy["drill_address"])


def _settled(run: Run, copy: dict[str, Any]) -> str:
    """SureBackup's "wait for the applications": until systemd has started every unit of the copy
    or given up on one (a service still starting is not a failed backup); its state then."""
    done = restore.in_guest(run, copy, f"timeout {SETTLE_WAIT} systemctl is-system-running --wait",
                            copy["drill_address"], SETTLE_WAIT + restore.SSH_TIMEOUT)
    return done.stdout.strip().splitlines()[-1:][0] if done.stdout.strip() else "unknown"


def _service(run: Run, copy: dict[str, Any]) -> tuple[bool, str]:
    """Its baseline and its service's health check, by testinfra against the pinned keys."""
    made = restore.fleet(run, copy, copy["drill_address"])
    folder = run.folder / f"verify-{copy['guest']}-{copy['site']}"
    made.save(folder.with_suffix(".json"))
    result = verify_fleet(folder.with_suffix(".json"), folder, what="all", hosts=[copy["guest"]])
    outcomes = result.outcomes
    refused = list(outcomes.unreachable.values())
    health = [o for o in outcomes.items if o.control == "PTL-SRV-01"]
    failed = [f"{o.control} ({o.message})" for o in outcomes.failures]
    if refused or not health:
        return False, "; ".join(refused) or "no health check ran (no service deployed?)"
    if failed:
        return False, "; ".join(failed)
    return True, f"{outcomes.count('passed')} controls passed (health PTL-SRV-01 included)"


def verify_copy(run: Run, copy: dict[str, Any]) -> dict[str, Any]:
    """Every check of one backup; the throwaway is removed whatever happens."""
    started = time.monotonic()
    archive = copy["archive"]
    result: dict[str, Any] = {
        "guest": copy["guest"], "tenant": copy["tenant"], "tier": copy["tier"], "site": copy["site"],
        "storage": copy["backup_storage"], "archive": archive and archive["volid"],
        "backup_at": archive and archive["ctime"], "age_s": archive and time.time() - archive["ctime"],
        "checksum": None, "boot": None, "service": None, "data": None, "why": [],
        "restore_s": None, "boot_s": None, "checks_s": None}
    if archive is None:
        result["why"].append(f"no backup on {copy['backup_storage']}")
        return _done(result, started)
    remove(run, copy)
    checked = checksum.check(run, copy["node"], copy["backup_storage"], archive["volid"])
    result["checksum"] = checked.verdict
    if checked.verdict != "ok":
        result["why"].append(checked.why)
        return _done(result, started)
    try:
        mark = time.monotonic()
        extra = restore.drill_copy(copy["drill_vnet"], copy["drill_interface"], copy["drill_gateway"])
        restore.restore(run, copy, int(copy["drill_vmid"]), [archive], extra, {archive["volid"]: checked})
        result["restore_s"] = time.monotonic() - mark
        mark = time.monotonic()
        restore.start(run, copy, int(copy["drill_vmid"]))
        restore.pin_as(restore.known_hosts(run), copy["address"], copy["drill_address"])
        restore.login(run, copy, copy["drill_address"])
        run.log(f"{copy['guest']} at {copy['site']}: booted, systemd {_settled(run, copy)}")
        result["boot"], result["boot_s"] = True, time.monotonic() - mark
        mark = time.monotonic()
        result["service"], said = _service(run, copy)
        if not result["service"]:
            result["why"].append(f"service: {said}")
        result["data"], said = digest.compare(run, copy, checked.data_digest, copy["drill_address"])
        if result["data"] == "mismatch":
            result["why"].append(said)
        result["checks_s"] = time.monotonic() - mark
    except (StepError, TaskFailedError, ResourceException) as exc:  # this backup's failure, not the run's
        result["boot"] = result["boot"] or False
        result["why"].append(str(exc).splitlines()[0])
    finally:
        remove(run, copy)
    return _done(result, started)


def _done(result: dict[str, Any], started: float) -> dict[str, Any]:
    result["seconds"] = time.monotonic() - started
    result["recoverable"] = not result["why"]
    return result
