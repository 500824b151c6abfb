"""What a lab storage holds, as PVE's dir plugin lists it (`list_volumes`, `archive_info`).

- backups: the real files in `dump/` named as vzdump names them, with their `.notes` (first line)
  and `.protected` marker;
- container templates: the lab's one Debian 12 template, under a stable volid, on every storage
  with `vztmpl` content (any `<storage>:vztmpl/...` creates from it);
- guest disks: the `rootfs` volumes the guests' configs name (`<storage>:<vmid>/vm-...raw`).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partilha.lab import guests, storage
from partilha.lab.guests import lxc_config
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine
from partilha.lab.server.store import Store
from partilha.proxmox.template import TEMPLATE_FILE

# PVE::Storage::archive_info: vzdump-<type>-<vmid>-<YYYY_MM_DD-HH_MM_SS>.<format>[.<compressor>]
ARCHIVE = re.compile(r"vzdump-(lxc|openvz|qemu)-([1-9][0-9]{2,8})-(\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2})"
                     r"\.(tgz|tar|vma)(?:\.(gz|lzo|zst|bz2))?")
VOLID = re.compile(r"([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)", re.IGNORECASE)
LOG_EXT, NOTES_EXT, PROTECTED_EXT = ".log", ".notes", ".protected"


@dataclass(frozen=True)
class Backup:
    """One standard-named vzdump archive in a dump directory."""

    path: Path
    subtype: str  # lxc, qemu, openvz
    vmid: int
    ctime: int
    format: str  # "tar.zst", "vma", "tgz" ...

    @property
    def protected(self) -> bool:
        return self.path.with_name(self.path.name + PROTECTED_EXT).exists()

    @property
    def notes(self) -> str | None:
        notes = self.path.with_name(self.path.name + NOTES_EXT)
        return notes.read_text(errors="replace").split("\n", 1)[0] if notes.is_file() else None


def archive_info(path: Path) -> Backup | None:
    match = ARCHIVE.fullmatch(path.name)
    if match is None:
        return None
    subtype, vmid, stamp, fmt, comp = match.groups()
    ctime = int(dt.datetime.strptime(stamp, "%Y_%m_%d-%H_%M_%S").timestamp())
    return Backup(path, subtype, int(vmid), ctime, f"{fmt}.{comp}" if comp else fmt)


def backups(dump_dir: Path, vmid: int | None = None) -> list[Backup]:
    if not dump_dir.is_dir():
        return []
    found = (archive_info(p) for p in sorted(dump_dir.iterdir()) if p.is_file())
    return [b for b in found if b is not None and vmid in (None, b.vmid)]


def remove_backup(backup: Backup) -> None:
    """`archive_remove`: the archive, then its log and notes; a protected one stays."""
    if backup.protected:
        raise ValueError(f"cannot remove protected archive '{backup.path}'")
    backup.path.unlink(missing_ok=True)
    stem = backup.path.name[: -len(backup.format) - 1]
    for aux in (backup.path.with_name(stem + LOG_EXT),
                backup.path.with_name(backup.path.name + NOTES_EXT)):
        aux.unlink(missing_ok=True)


def parse_volid(volid: str) -> tuple[str, str]:
    """`parse_volume_id`: (storage, volume name), or ValueError in PVE's words."""
    match = VOLID.fullmatch(volid)
    if match is None:
        raise ValueError(f"unable to parse volume ID '{volid}'")
    return match.group(1), match.group(2)


@functools.cache
def _template_size(rootfs: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(rootfs):
        for name in files:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except OSError:
                continue
    return total


def _backup_entry(sid: str, backup: Backup) -> dict[str, Any]:
    entry: dict[str, Any] = {"volid": f"{sid}:backup/{backup.path.name}", "format": backup.format,
                             "content": "backup", "size": backup.path.stat().st_size,
                             "ctime": backup.ctime, "subtype": backup.subtype,
                             "vmid": backup.vmid}
    if (notes := backup.notes) is not None:
        entry["notes"] = notes
    if backup.protected:
        entry["protected"] = 1
    return entry


def volumes(store: Store, instance: LabInstance, sid: str, conf: Mapping[str, Any],
            content: str | None = None, vmid: int | None = None) -> list[dict[str, Any]]:
    """`volume_list`: the storage's volumes of one content type (or all it holds)."""
    wanted = [c for c in storage.contents(conf) if content in (None, c)]
    out: list[dict[str, Any]] = []
    if "backup" in wanted:
        dump = storage.content_dir(instance, sid, conf, "backup")
        out += [_backup_entry(sid, b) for b in backups(dump, vmid)]
    rootfs = machine.template_dir() / "rootfs"
    if "vztmpl" in wanted and vmid is None and rootfs.is_dir():
        out.append({"volid": f"{sid}:vztmpl/{TEMPLATE_FILE}", "format": "tzst",
                    "content": "vztmpl", "size": _template_size(rootfs)})
    for guest in guests.every(store):
        kind = "rootdir" if guest.type == guests.LXC else "images"
        if kind not in wanted or vmid not in (None, guest.vmid):
            continue
        disk = lxc_config.parse_rootfs(str(guest.config.get("rootfs", "none")))
        if disk["volume"].startswith(f"{sid}:"):
            out.append({"volid": disk["volume"], "format": "raw", "content": kind,
                        "size": lxc_config.parse_size(disk.get("size", "0")),
                        "vmid": guest.vmid})
    return out


def backup_volume(store: Store, instance: LabInstance, volid: str) -> tuple[str, Path, Backup | None]:
    """(storage, path, archive info) of a `<storage>:backup/<file>` volume; ValueError with
    PVE's words when the volume ID or its storage is not one."""
    sid, volname = parse_volid(volid)
    conf = storage.get(store, sid)
    if conf is None:
        raise ValueError(f"storage '{sid}' does not exist")
    kind, _, name = volname.partition("/")
    if kind != "backup" or not name or "/" in name:
        raise ValueError(f"unable to parse directory volume name '{volname}'")
    path = storage.content_dir(instance, sid, conf, "backup") / name
    return sid, path, archive_info(path)
