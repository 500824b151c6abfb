"""Storages in the state: PVE's storage.cfg, one object per storage id.

The lab realises `dir` storages only. A storage keeps the `path` its creator gave (what the API
reports, so a client sees no drift), but the lab never writes outside its instance: the files
live in that path only when it lies inside the instance's state directory, otherwise in
`<state dir>/storage/<id>` (`realised_dir`). Content goes where PVE's dir plugin puts it:
`dump/` (backups), `template/cache/` (container templates), `template/iso/`, `images/`,
`private/`, `snippets/`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from partilha.inventory import Inventory
from partilha.lab.instance import LabInstance
from partilha.lab.server.params import list_of
from partilha.lab.server.store import Store

STORAGE = "storage"
DIR_CONTENT = ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import")
# pve-storage-content-list
parse_content_list = list_of(re.compile("|".join(DIR_CONTENT)), "invalid content type '{}'")
LOCAL = {"type": "dir", "path": "/var/lib/vz", "content": "backup,images,iso,rootdir,vztmpl"}
SUBDIRS = {"backup": "dump", "vztmpl": "template/cache", "iso": "template/iso",
           "images": "images", "rootdir": "private", "snippets": "snippets"}


def seed(store: Store, inventory: Inventory) -> None:
    """`local` and the inventory's dir storages; kept as they are when already there."""
    wanted: dict[str, dict[str, Any]] = {"local": dict(LOCAL)}
    for st in inventory.storage:
        if st.type != "dir" or st.path is None:
            continue
        conf: dict[str, Any] = {"type": "dir", "path": st.path, "content": ",".join(st.content)}
        if st.shared:
            conf["shared"] = 1
        if st.nodes:
            conf["nodes"] = ",".join(st.nodes)
        wanted[st.id] = conf
    with store.tx():
        existing = store.objects(STORAGE)
        for sid, conf in wanted.items():
            if sid not in existing:
                store.put_object(STORAGE, sid, conf)


def every(store: Store) -> dict[str, dict[str, Any]]:
    return store.objects(STORAGE)


def get(store: Store, sid: str) -> dict[str, Any] | None:
    return store.get_object(STORAGE, sid)


def contents(conf: Mapping[str, Any]) -> list[str]:
    return [c for c in str(conf.get("content", "")).split(",") if c and c != "none"]


def config_text(storages: Mapping[str, Mapping[str, Any]]) -> str:
    """storage.cfg as PVE's section config writes it: `<type>: <id>` then indented options."""
    sections = []
    for sid, conf in storages.items():
        lines = [f"{conf['type']}: {sid}"]
        lines += [f"\t{k} {v}" for k, v in sorted(conf.items()) if k != "type"]
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def digest(store: Store) -> str:
    """SHA1 of storage.cfg: every storage's `digest`, compared by updates."""
    return hashlib.sha1(config_text(every(store)).encode()).hexdigest()  # noqa: S324 - PVE's digest


def available_on(conf: Mapping[str, Any], node: str) -> bool:
    """`storage_check_node`: no `nodes` list means every node."""
    nodes = str(conf.get("nodes") or "")
    return not nodes or node in nodes.split(",")


def realised_dir(instance: LabInstance, sid: str, conf: Mapping[str, Any]) -> Path:
    """Where the storage's files are on this machine (never outside the instance)."""
    given = Path(str(conf["path"]))
    state = instance.state_dir.resolve()
    if given.is_absolute() and given.resolve().is_relative_to(state):
        return given
    return state / "storage" / sid


def content_dir(instance: LabInstance, sid: str, conf: Mapping[str, Any], content: str) -> Path:
    return realised_dir(instance, sid, conf) / SUBDIRS[content]
