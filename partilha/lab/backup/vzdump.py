"""vzdump on the lab: PVE::VZDump's `exec_backup` for the lab's containers, as a task's work.

Each guest is backed up under its `backup` lock to `<storage>/dump/vzdump-lxc-<vmid>-<time>.tar.zst`
(written as `.dat` and renamed when complete; its config and its firewall's `.fw` file first), with
the `.log` and `.notes` files PVE writes next to it, and the storage's retention applied
afterwards. The lab's storages cannot snapshot a container's root filesystem, so `snapshot` falls
back to `suspend` exactly as PVE does on such a storage; `suspend` freezes the guest (lxc-freeze)
while tar reads its root filesystem, so the archive is consistent; `stop` shuts the guest down
for the backup and starts it again.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partilha.lab import cluster, firewall, guests, storage
from partilha.lab.backup import prune
from partilha.lab.backup.hook_script import Hook, configured_script
from partilha.lab.firewall import firewall_file
from partilha.lab.guests import LXC, GuestRow, guest_apply, lxc_config
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine
from partilha.lab.server.lists import split_list
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskLog, TaskRunner
from partilha.lab.storage import storage_content

Log = Callable[[str], None]
# `stdexcludes`: paths inside the guest, not the host's temporary directories
STD_EXCLUDES = ("/tmp/?*", "/var/tmp/?*", "/var/run/?*.pid")  # noqa: S108
_node_locks: dict[str, threading.Lock] = {}
_node_locks_guard = threading.Lock()


class BackupError(RuntimeError):
    """One guest's backup failed; the message is what PVE logs after `failed - `."""


@dataclass(frozen=True)
class Job:
    """A vzdump call's options, resolved as `PVE::VZDump->new` resolves them."""

    storage: str
    mode: str
    compress: str
    zstd: int
    remove: bool
    keep: dict[str, int]
    notes_template: str
    protected: bool
    bwlimit: int
    excludes: tuple[str, ...]
    stopwait: int  # minutes
    lockwait: int  # minutes
    cmdline: str
    script: str  # the call's `script`; '' for the nodes' vzdump.conf's


def command_line(p: Mapping[str, Any]) -> str:
    """PVE::VZDump::Common `command_line`: `vzdump <vmids> --<option> <value> ...`."""
    cmd = "vzdump"
    if p.get("vmid"):
        cmd += " " + " ".join(split_list(str(p["vmid"])))
    for key in sorted(p):
        value = p[key]
        if key in ("vmid", "id", "job-id") or value is None or value == "":
            continue
        value = int(value) if isinstance(value, bool) else value
        cmd += f" --{key} {_shellquote(str(value))}"
    return cmd


def _shellquote(text: str) -> str:
    return text if text and all(c.isalnum() or c in "-_.,/:=+@%" for c in text) else \
        "'" + text.replace("'", "'\"'\"'") + "'"


def included_guests(store: Store, p: Mapping[str, Any]) -> dict[str, list[int]]:
    """PVE::VZDump `get_included_guests`: vmids per node ('' for unknown ones)."""
    everyone = {g.vmid: g for g in guests.every(store)}
    if p.get("pool"):
        vmids = [g.vmid for g in everyone.values() if g.pool == p["pool"]]
    elif p.get("vmid"):
        vmids = [int(v) for v in split_list(str(p["vmid"]))]
    elif p.get("all") or "exclude" in p:
        excluded = {int(v) for v in split_list(str(p.get("exclude", "")))}
        vmids = [v for v in everyone if v not in excluded]
    else:
        return {}
    per_node: dict[str, list[int]] = {}
    for vmid in sorted(set(vmids)):
        guest = everyone.get(vmid)
        node = guest.node if guest is not None else ""
        if guest is not None and p.get("node") and p["node"] != node:
            continue
        per_node.setdefault(node, []).append(vmid)
    return per_node


def resolve(store: Store, p: Mapping[str, Any]) -> Job:
    """The job's options: the call's, else the storage's retention, else vzdump's defaults;
    a storage that cannot take backups fails as `PVE::VZDump->new` does."""
    sid = str(p.get("storage") or "local")
    conf = storage.get(store, sid)
    if conf is None:
        raise BackupError(f"could not get storage information for '{sid}': storage '{sid}' does "
                          "not exist")
    if conf.get("disable"):
        raise BackupError(f"could not activate storage '{sid}': storage '{sid}' is disabled")
    if "backup" not in storage.contents(conf):
        raise BackupError(f"could not get storage information for '{sid}': can't use storage "
                          f"'{sid}' for backups - wrong content type")
    if "prune-backups" in p:
        keep = prune.parse(str(p["prune-backups"]))
    elif p.get("maxfiles"):
        keep = {"keep-last": int(p["maxfiles"])}
    else:
        keep = prune.parse(str(conf.get("prune-backups", "")))
    excludes = [path for path in str(p.get("exclude-path", "")).split("\0") if path]
    if p.get("stdexcludes", True):
        excludes += STD_EXCLUDES
    return Job(storage=sid, mode=str(p.get("mode", "snapshot")), compress=str(p.get("compress", "0")),
               zstd=int(p.get("zstd", 1)), remove=bool(p.get("remove", True)) and "keep-all" not in keep,
               keep=keep, notes_template=str(p.get("notes-template", "")),
               protected=bool(p.get("protected")), bwlimit=int(p.get("bwlimit", 0)),
               excludes=tuple(excludes), stopwait=int(p.get("stopwait", 10)),
               lockwait=int(p.get("lockwait", 180)), cmdline=command_line(p),
               script=str(p.get("script", "")))


@contextmanager
def _global_lock(node: str, minutes: int, log: Log) -> Iterator[None]:
    """One vzdump per node at a time (PVE's /var/run/vzdump.lock), waiting `lockwait`."""
    with _node_locks_guard:
        lock = _node_locks.setdefault(node, threading.Lock())
    if not lock.acquire(blocking=False):
        log("INFO: trying to get global lock - waiting...")
        if not lock.acquire(timeout=minutes * 60):
            raise BackupError("can't acquire lock '/var/run/vzdump.lock' - got timeout")
        log("INFO: got global lock")
    try:
        yield
    finally:
        lock.release()


def run(store: Store, instance: LabInstance, node: str, vmids: Sequence[int], job: Job,
        may_backup: Callable[[int], bool], log: Log) -> None:
    """`exec_backup`: every guest in turn; the task fails with `job errors` if one did."""
    with _global_lock(node, job.lockwait, log):
        log(f"INFO: starting new backup job: {job.cmdline}")
        conf = storage.get(store, job.storage) or {}
        try:
            script = job.script or configured_script(instance, node)
            hook = Hook(script, instance, job.storage,
                        storage.content_dir(instance, job.storage, conf, "backup"),
                        lambda line: log(f"INFO: {line}"))
            hook.job("job-start")
        except RuntimeError as exc:
            log(f"ERROR: {exc}")
            raise BackupError(str(exc)) from None
        errors = 0
        for vmid in vmids:
            if not may_backup(vmid):
                continue
            if not _backup_guest(store, instance, node, vmid, job, hook, log):
                errors += 1
        hook.job("job-end")
        log(f"INFO: Backup job finished {'with errors' if errors else 'successfully'}")
    if errors:
        raise BackupError("job errors")


class _GuestLog:
    """Lines go to the task log (`INFO: ...`) and, timestamped, to the backup's `.log` file."""

    def __init__(self, task_log: Log) -> None:
        self.task_log = task_log
        self.lines: list[str] = []

    def __call__(self, message: str, level: str = "INFO", to_file: bool = True) -> None:
        for line in message.splitlines() or [""]:
            self.task_log(f"{level}: {line}")
            if to_file:
                self.lines.append(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {level}: {line}")

    def text(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)


def _backup_guest(store: Store, instance: LabInstance, node: str, vmid: int, job: Job,
                  hook: Hook, task_log: Log) -> bool:
    """`exec_backup_task` for one guest; True when it succeeded."""
    log = _GuestLog(task_log)
    started = time.time()
    conf = storage.get(store, job.storage) or {}
    dump = storage.content_dir(instance, job.storage, conf, "backup")
    basename = f"vzdump-lxc-{vmid}-{dt.datetime.fromtimestamp(started):%Y_%m_%d-%H_%M_%S}"
    ext = ".tar" + (f".{machine.compressor(job.compress, job.zstd)[1]}"
                    if job.compress not in ("0", "") else "")
    target = dump / f"{basename}{ext}"
    partial = target.with_suffix(".dat")
    error: str | None = None
    mode, hostname = job.mode, f"CT{vmid}"
    try:
        guest = guests.get(store, vmid)
        if guest is None or guest.node != node:
            raise BackupError(f"unable to find VM '{vmid}'")
        if guest.type != LXC:
            raise BackupError("the lab backs up containers (lxc) only")
        dump.mkdir(parents=True, exist_ok=True)
        _check_limit(dump, vmid, job)
        log(f"Starting Backup of VM {vmid} (lxc)")
        log(f"Backup started at {dt.datetime.now():%Y-%m-%d %H:%M:%S}", to_file=False)
        hostname = str(guest.config.get("hostname", f"CT{vmid}"))
        mode = _archive_guest(store, instance, guest, job, target, partial, hook, log)
        _finish(job, target, guest, node, store, dump, log)
        hook.guest("backup-end", mode, vmid, hostname, {"TARGET": str(target)})
    except Exception as exc:  # one guest's failure does not stop the job
        error = str(exc).strip() or type(exc).__name__
        _abort(hook, mode, vmid, hostname, log)
    finally:
        partial.unlink(missing_ok=True)
    seconds = int(time.time() - started)
    if error is None:
        log(f"Finished Backup of VM {vmid} ({seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
            f"{seconds % 60:02d})")
        log(f"Backup finished at {dt.datetime.now():%Y-%m-%d %H:%M:%S}", to_file=False)
    else:
        log(f"Backup of VM {vmid} failed - {error}", level="ERROR")
        log(f"Failed at {dt.datetime.now():%Y-%m-%d %H:%M:%S}", to_file=False)
    if dump.is_dir() and log.lines:
        (dump / f"{basename}.log").write_text(log.text())
        try:
            hook.guest("log-end", mode, vmid, hostname, {"LOGFILE": str(dump / f"{basename}.log")})
        except RuntimeError as exc:
            task_log(f"ERROR: {exc}")
            return False
    return error is None


def _abort(hook: Hook, mode: str, vmid: int, hostname: str, log: _GuestLog) -> None:
    try:
        hook.guest("backup-abort", mode, vmid, hostname)
    except RuntimeError as exc:
        log(str(exc), level="ERROR")


def _check_limit(dump: Path, vmid: int, job: Job) -> None:
    """Without `remove`, a retention that is already full refuses the backup."""
    limit = sum(job.keep.values()) if "keep-all" not in job.keep else 0
    if limit and not job.remove and not job.protected \
            and sum(not b.protected for b in storage_content.backups(dump, vmid)) >= limit:
        raise BackupError(f"There is a max backup limit of {limit} enforced by the target "
                          "storage or the vzdump parameters. Either increase the limit or "
                          "delete old backups.")


def _lock(store: Store, vmid: int, lock: str | None) -> GuestRow:
    """`set_lock`/`remove_lock` under the guest's config lock."""
    with guest_apply.config_lock(vmid):
        guest = guests.get(store, vmid)
        if guest is None:
            raise BackupError(f"Configuration file 'nodes/*/lxc/{vmid}.conf' does not exist")
        if lock is not None and guest.lock:
            raise BackupError(f"CT is locked ({guest.lock})")
        guests.update(store, vmid, lock=lock)
        return guest


def _archive_guest(store: Store, instance: LabInstance, guest: GuestRow, job: Job,
                   target: Path, partial: Path, hook: Hook, log: _GuestLog) -> str:
    """The archive written; the mode it was made in."""
    vmid, name = guest.vmid, guest_apply.container_name(instance, guest.vmid)
    running = machine.is_running(name)
    log(f"status = {'running' if running else 'stopped'}")
    guest = _lock(store, vmid, "backup")
    restart = resume = False
    try:
        hostname = str(guest.config.get("hostname", f"CT{vmid}"))
        log(f"CT Name: {hostname}")
        log("including mount point rootfs ('/') in backup")
        mode = job.mode if running else "stop"
        if mode == "snapshot":
            log("mode failure - some volumes do not support snapshots")
            log("trying 'suspend' mode instead")
            mode = "suspend"
        log(f"backup mode: {mode}")
        if job.bwlimit:
            log(f"bandwidth limit: {job.bwlimit} KB/s")
        log("ionice priority: 7")
        hook.guest("backup-start", mode, vmid, hostname)
        stopped_at = time.monotonic()
        if mode in ("stop", "suspend") and running:
            hook.guest("pre-stop", mode, vmid, hostname)
        if mode == "stop" and running:
            log("stopping virtual guest")
            guest_apply.shutdown(instance, vmid, job.stopwait * 60, force=False)
            guests.update(store, vmid, status="stopped")
            restart = True
        elif mode == "suspend":
            log("suspending guest")
            machine.freeze(name)
            resume = True
        reader, root = machine.rootfs_reader(name)
        log(f"creating vzdump archive '{target}'")
        command, _ = machine.compressor(job.compress, job.zstd)
        totals = machine.write_archive(partial, reader, root, lxc_config.config_text(guest.config),
                                       firewall_file.render(firewall.guest(store, vmid)), job.excludes,
                                       command, job.bwlimit)
        if totals:
            log(totals)
        if resume:
            hook.guest("pre-restart", mode, vmid, hostname)
            log("resuming guest")
            machine.unfreeze(name)
            resume = False
            log(f"guest is online again after {_delay(stopped_at)} seconds")
            hook.guest("post-restart", mode, vmid, hostname)
        partial.rename(target)
        log(f"archive file size: {_format_size(target.stat().st_size)}")
    finally:
        if resume:
            log("resume vm")
            machine.unfreeze(name)
        _lock(store, vmid, None)
        if restart:
            log("restarting vm")
            guest_apply.start(store, instance, guests.get(store, vmid) or guest)
            guests.update(store, vmid, status="running")
            log(f"guest is online again after {_delay(stopped_at)} seconds")
    return mode


def _finish(job: Job, target: Path, guest: GuestRow, node: str, store: Store, dump: Path,
            log: _GuestLog) -> None:
    """Notes, protection, then retention (`prune_backups`)."""
    if job.notes_template:
        log("adding notes to backup")
        try:
            notes = _notes(job.notes_template, guest, node, cluster.name(store))
        except ValueError as exc:
            log(f"unable to add notes - {exc}", level="WARN")
        else:
            target.with_name(target.name + storage_content.NOTES_EXT).write_text(notes)
    if job.protected:
        log("marking backup as protected")
        target.with_name(target.name + storage_content.PROTECTED_EXT).touch()
    if not job.remove:
        return
    log(f"prune older backups with retention: {prune.to_text(job.keep)}")
    group = [b for b in storage_content.backups(dump, guest.vmid) if b.subtype == "lxc"]
    pruned = 0
    for backup, mark in zip(group, prune.marks([b.ctime for b in group], job.keep,
                                               [b.protected for b in group]), strict=True):
        if mark == "remove":
            log(f"removing backup '{job.storage}:backup/{backup.path.name}'")
            storage_content.remove_backup(backup)
            pruned += 1
    extra = " not covered by keep-retention policy" if pruned else ""
    log(f"pruned {pruned} backup(s){extra}")


def _notes(template: str, guest: GuestRow, node: str, cluster_name: str) -> str:
    """`$generate_notes`: `\\n` and `\\\\` escapes, then {{cluster}} {{guestname}} {{node}}
    {{vmid}}; any other {{variable}} is an error."""
    def unescape(match: re.Match[str]) -> str:
        char = match.group(1)
        if char not in ("\\", "n"):
            raise ValueError(f"unexpected escape character '{char}'")
        return "\\" if char == "\\" else "\n"

    text = re.sub(r"\\(.)", unescape, template)
    values = {"cluster": cluster_name, "guestname": str(guest.config.get("hostname", f"CT{guest.vmid}")),
              "node": node, "vmid": str(guest.vmid)}
    text = re.sub(r"\{\{(cluster|guestname|node|vmid)\}\}", lambda m: values[m.group(1)], text)
    unknown = re.search(r"\{\{(\S+)\}\}", text)
    if unknown:
        raise ValueError(f"unexpected variable name '{unknown.group(1)}'")
    return text


def _delay(since: float) -> str:
    seconds = time.monotonic() - since
    return "<1" if seconds < 1 else str(int(seconds))


def _format_size(size: int) -> str:
    """PVE::VZDump `format_size`."""
    kib, mib = size / 1024, size / 1024**2
    if kib < 1024:
        return f"{int(kib)}KB"
    if mib < 1024:
        return f"{int(mib)}MB"
    gib = mib / 1024
    return f"{gib:.2f}GB" if gib < 1024 else f"{gib / 1024:.2f}TB"


def start_backup(store: Store, instance: LabInstance, tasks: TaskRunner, node: str,
                 p: Mapping[str, Any], user: str, may_backup: Callable[[int], bool]) -> str:
    """The node's share of a backup (its guests, and the unknown vmids, which fail visibly):
    the UPID of its task, or `OK` when it has nothing to do, as PVE answers."""
    per_node = included_guests(store, p)
    local = per_node.get(node, []) + per_node.get("", [])
    if not local and not p.get("all"):
        return "OK"

    def work(log: TaskLog) -> None:
        run(store, instance, node, local, resolve(store, p), may_backup, log)

    return tasks.start(node, "vzdump", str(local[0]) if len(local) == 1 else "", user, work)
