"""Builds the access-control model (users, groups, tokens, roles, ACL, pools) from the state."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from partilha.lab.access.model import AccessModel
from partilha.lab.access.users import TOKEN, USER
from partilha.lab.server.store import Store

GROUP, ROLE, POOL = "group", "role", "pool"


def load_access(store: Store) -> AccessModel:
    """A consistent snapshot for one request, as PVE reads user.cfg once per call."""
    vms: dict[str, list[int]] = defaultdict(list)
    for row in store.query("SELECT vmid, pool FROM guests WHERE pool IS NOT NULL"):
        vms[row["pool"]].append(row["vmid"])
    data: dict[str, list[dict[str, Any]]] = {
        "users": [{"userid": uid, **u} for uid, u in store.objects(USER).items()],
        "groups": [{"groupid": gid, **g} for gid, g in store.objects(GROUP).items()],
        "tokens": [{"tokenid": tid, **t} for tid, t in store.objects(TOKEN).items()],
        "roles": [{"roleid": rid, **r} for rid, r in store.objects(ROLE).items()],
        "acl": [dict(r) for r in store.query("SELECT * FROM acl")],
        "pools": [{"poolid": pid, "vms": vms[pid], "storage": p.get("storage", [])}
                  for pid, p in store.objects(POOL).items()],
    }
    return AccessModel.from_dict(data)
