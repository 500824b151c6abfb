"""The inventory's storages: where guests' disks, templates and backups go.

A storage that PVE already defines with the same type and path (the lab defines the inventory's
directory storages when it starts, as a cluster's installer defines its first ones) is adopted
rather than defined again, and left defined when the stack is destroyed
(partilha.proxmox.resources.adopt).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi

from keyed_outputs import by_key
from partilha.inventory import models
from partilha.proxmox.resources.storage import Storage

# inventory fields that are type-specific options of PVE's storage plugins
_OPTIONS = ("server", "export", "datastore", "pool", "vgname", "thinpool")


class Storages(pulumi.ComponentResource):
    storages: pulumi.Output[dict[str, dict[str, Any]]]  # id -> type, site, content, shared

    def __init__(self, name: str, storages: list[models.Storage],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("partilha:platform:Storage", name, None, opts)
        made: dict[str, pulumi.Output[dict[str, Any]]] = {}
        for st in storages:
            options = {k: str(v) for k in _OPTIONS if (v := getattr(st, k)) is not None}
            storage = Storage(f"storage-{st.id}", storage=st.id, type=st.type, content=st.content,
                              path=st.path, shared=st.shared, nodes=st.nodes, options=options,
                              opts=pulumi.ResourceOptions(parent=self))
            made[st.id] = pulumi.Output.all(storage.type, storage.content, storage.shared).apply(
                partial(_describe, st.site))
        self.storages = by_key(made)
        self.register_outputs({"storages": self.storages})


def _describe(site: str, made: list[Any]) -> dict[str, Any]:
    return {"type": made[0], "content": made[1], "shared": made[2], "site": site}
