"""vzdump's options (pve-guest-common PVE/VZDump/Common.pm `$confdesc`), shared by
`POST /nodes/{node}/vzdump` and the backup jobs of `/cluster/backup`, and PVE::VZDump's
`verify_vzdump_parameters`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partilha.lab.backup import prune
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import param_error
from partilha.lab.server.params import BOOL, Param

VZDUMP_OPTIONS: dict[str, Param] = {
    "vmid": Param(format="pve-vmid-list"),
    "node": Param(format="pve-node"),
    "all": BOOL,
    "stdexcludes": Param("boolean"),
    "compress": Param(enum=("0", "1", "gzip", "lzo", "zstd")),
    "pigz": Param("integer"),
    "zstd": Param("integer"),
    "quiet": BOOL,
    "mode": Param(enum=("snapshot", "suspend", "stop")),
    "exclude": Param(format="pve-vmid-list"),
    "exclude-path": Param(),
    "mailto": Param(),
    "mailnotification": Param(enum=("always", "failure")),
    "notification-mode": Param(enum=("auto", "legacy-sendmail", "notification-system")),
    "tmpdir": Param(),
    "dumpdir": Param(),
    "script": Param(),
    "storage": Param(format="pve-storage-id"),
    "stop": BOOL,
    "bwlimit": Param("integer", minimum=0),
    "ionice": Param("integer", minimum=0, maximum=8),
    "lockwait": Param("integer", minimum=0),
    "stopwait": Param("integer", minimum=0),
    "maxfiles": Param("integer", minimum=1),
    "prune-backups": Param(format=prune.parse),
    "remove": Param("boolean"),
    "pool": Param(),
    "notes-template": Param(max_length=1024),
    "protected": BOOL,
}
# Options `root@pam` alone may give (the API's `vzdump`; tokens of root count as others).
ROOT_ONLY = ("maxfiles", "prune-backups", "tmpdir", "dumpdir", "script", "bwlimit", "ionice")
# What vzdump.conf's defaults are when a call leaves an option out.
DEFAULTS: dict[str, Any] = {"mode": "snapshot", "compress": "0", "zstd": 1, "remove": True,
                            "stdexcludes": True, "stopwait": 10, "lockwait": 180}


def require_root_for(ctx: Ctx, p: Mapping[str, Any], keys: tuple[str, ...] = ROOT_ONLY) -> None:
    for key in keys:
        if key in p and ctx.authid != "root@pam":
            raise param_error(**{key: "Only root may set this option."})


def verify(p: Mapping[str, Any], check_missing: bool) -> None:
    """`verify_vzdump_parameters`."""
    conflicts = [(k, "vmid") for k in ("all", "exclude", "pool") if p.get(k) and p.get("vmid")]
    if "prune-backups" in p and "maxfiles" in p:
        conflicts.append(("prune-backups", "maxfiles"))
    if conflicts:
        key, other = conflicts[0]
        raise param_error(**{key: f"option conflicts with option '{other}'"})
    if "\n" in str(p.get("notes-template", "")):
        raise param_error(**{"notes-template": "contains a line feed"})
    if p.get("notes-template") and "storage" not in p:
        raise param_error(storage="missing property - 'notes-template' requires this property")
    if check_missing and not (p.get("all") or p.get("stop") or p.get("pool") or p.get("vmid")
                              or "exclude" in p):
        raise param_error(vmid="property is missing")
