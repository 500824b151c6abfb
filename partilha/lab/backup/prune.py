"""Backup retention as PVE words and applies it: the `prune-backups` property string and
`prune_mark_backup_group` (pve-storage PVE/Storage.pm), newest first, keep-last before the
calendar buckets, each bucket keeping the newest backup of each hour/day/week/month/year."""

from __future__ import annotations

import time
from collections.abc import Sequence

from partilha.lab.server import property_string

KEYS = ("keep-all", "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
        "keep-yearly")
# Each option's bucket of a backup time (local time; keep-last: the time itself).
_BUCKETS = (("keep-last", ""), ("keep-hourly", "%Y/%m/%d/%H"), ("keep-daily", "%Y/%m/%d"),
            ("keep-weekly", "%G/%V"), ("keep-monthly", "%Y/%m"), ("keep-yearly", "%Y"))


def _bucket(ctime: int, fmt: str) -> str:
    return time.strftime(fmt, time.localtime(ctime)) if fmt else str(ctime)


_SCHEMA = {"keep-all": property_string.boolean,
           **{key: property_string.integer(0) for key in KEYS[1:]}}


def parse(value: str) -> dict[str, int]:
    """The property string as PVE's format check reads it, then `validate_prune_backups`:
    no positive option at all means `{"keep-all": 1}`; ValueError with PVE's message."""
    opts = {k: int(v) for k, v in property_string.parse(value, _SCHEMA, booleans=("keep-all",)).items()}
    keep_all = opts.pop("keep-all", 0)
    if not any(v > 0 for v in opts.values()):
        return {"keep-all": 1}
    if keep_all:
        raise ValueError("keep-all cannot be set together with other options.\n")
    return opts


def to_text(opts: dict[str, int]) -> str:
    return ",".join(f"{k}={opts[k]}" for k in KEYS if k in opts)


def marks(ctimes: Sequence[int], keep: dict[str, int], protected: Sequence[bool] = ()) -> list[str]:
    """`keep`/`remove`/`protected` for each backup (given by ctime, any order)."""
    result = ["protected" if i < len(protected) and protected[i] else "" for i in range(len(ctimes))]
    if keep.get("keep-all") or not any(v > 0 for k, v in keep.items() if k != "keep-all"):
        return [m or "keep" for m in result]
    order = sorted(range(len(ctimes)), key=lambda i: -ctimes[i])
    for option, fmt in _BUCKETS:
        count = keep.get(option, 0)
        if not count:
            continue
        kept = {_bucket(ctimes[i], fmt) for i in order if result[i] == "keep"}
        newly: set[str] = set()
        for i in order:
            key = _bucket(ctimes[i], fmt)
            if result[i] or key in kept:
                continue
            if key not in newly:
                if len(newly) >= count:
                    break
                newly.add(key)
                result[i] = "keep"
            else:
                result[i] = "remove"
    return [m or "remove" for m in result]
