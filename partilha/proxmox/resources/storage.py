"""A storage definition (`/storage`, PVE's storage.cfg): where guests' disks, templates and
backups go. What the type-specific options say (`server`, `datastore`, `vgname`, ...) passes
through as `options`; those PVE fixes at creation are replaced, the others updated in place.
Secrets (a PBS password, an encryption key) are refused: they would be kept in Pulumi state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import DiffResult, Resource

from partilha.errors import UserError
from partilha.proxmox.client import Pve
from partilha.proxmox.resources.adopt import AdoptingProvider
from partilha.proxmox.resources.base import Props, unless_gone
from partilha.proxmox.resources.normalised import NormalisedProvider

# Options the storage plugins declare `fixed`: changing one means another storage.
FIXED = frozenset({"server", "export", "share", "datastore", "pool", "vgname", "thinpool", "base"})
SECRET = frozenset({"password", "encryption-key", "master-pubkey", "keyring"})


def _prune(value: str | None) -> str | None:
    """`keep-daily=7,keep-last=3`: PVE's prune-backups, its keys in one order."""
    return ",".join(sorted(value.split(","))) if value else None


def _items(conf: Mapping[str, Any], key: str) -> list[str]:
    return sorted(item for item in str(conf.get(key) or "").split(",") if item and item != "none")


def _common(props: Props) -> dict[str, Any]:
    """The common options that may be left unset (PVE's names), those that are set."""
    values = {"shared": int(props["shared"]), "nodes": ",".join(props.get("nodes") or []),
              "prune-backups": props.get("prune_backups")}
    return {k: v for k, v in values.items() if v}


class StorageProvider(AdoptingProvider, NormalisedProvider):  # the lab, an installer, may have defined it
    replace_on = frozenset({"storage", "type", "path"})
    id_input = "storage"

    def normalise(self, props: Props) -> Props:
        """Lists PVE keeps as sets, sorted; no nodes is every node; prune-backups' keys sorted."""
        return {"content": sorted(set(props["content"])), "nodes": sorted(set(props.get("nodes") or [])),
                "prune_backups": _prune(props.get("prune_backups")),
                "options": {k: str(v) for k, v in (props.get("options") or {}).items()}}

    def diff(self, id_: str, olds: Props, news: Props) -> DiffResult:
        result = super().diff(id_, olds, news)
        old, new = olds.get("options") or {}, news.get("options") or {}
        if any(old.get(k) != new.get(k) for k in FIXED):
            result.replaces = sorted({*(result.replaces or []), "options"})
            result.delete_before_replace = True
        return result

    def create_live(self, pve: Pve, inputs: Props) -> tuple[str, Props]:
        path = {"path": inputs["path"]} if inputs.get("path") else {}
        pve.call("POST", "/storage", storage=inputs["storage"], type=inputs["type"], **path,
                 content=",".join(inputs["content"]) or "none", **_common(inputs),
                 **(inputs.get("options") or {}))
        return inputs["storage"], {}

    def read_live(self, pve: Pve, id_: str, props: Props) -> Props | None:
        conf = unless_gone(lambda: pve.get(f"/storage/{id_}"))
        if conf is None:
            return None
        declared = props.get("options") or {}
        return {"storage": id_, "type": conf["type"], "path": conf.get("path"),
                "content": _items(conf, "content"), "shared": bool(int(conf.get("shared", 0))),
                "nodes": _items(conf, "nodes"), "prune_backups": _prune(conf.get("prune-backups")),
                "options": {k: str(conf[k]) for k in declared if k in conf}}

    def update_live(self, pve: Pve, id_: str, olds: Props, news: Props) -> Props:
        options, common = news.get("options") or {}, _common(news)
        unset = [k for k in _common(olds) if k not in common]
        unset += [k for k in olds.get("options") or {} if k not in options]
        pve.call("PUT", f"/storage/{id_}", content=",".join(news["content"]) or "none", **common,
                 **options, **({"delete": ",".join(unset)} if unset else {}))
        return {}

    def delete_live(self, pve: Pve, id_: str, props: Props) -> None:
        pve.call("DELETE", f"/storage/{id_}")  # the definition only: PVE leaves the files


class Storage(Resource, module="proxmox", name="Storage"):
    storage: pulumi.Output[str]
    type: pulumi.Output[str]
    content: pulumi.Output[list[str]]
    path: pulumi.Output[str | None]
    shared: pulumi.Output[bool]
    nodes: pulumi.Output[list[str]]  # none: every node
    prune_backups: pulumi.Output[str | None]
    options: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, *, storage: pulumi.Input[str], type: pulumi.Input[str],
                 content: pulumi.Input[Sequence[pulumi.Input[str]]], path: pulumi.Input[str] | None = None,
                 shared: pulumi.Input[bool] = False,
                 nodes: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
                 prune_backups: pulumi.Input[str] | None = None,
                 options: Mapping[str, str] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        secret = sorted(SECRET & set(options or {}))
        if secret:
            raise UserError(f"storage {name}: {secret[0]!r} is a secret and would be kept in Pulumi "
                            f"state; set it on Proxmox VE directly (pvesm set)")
        super().__init__(StorageProvider(), name, {
            "storage": storage, "type": type, "content": content, "path": path, "shared": shared,
            "nodes": nodes, "prune_backups": prune_backups, "options": options or {}}, opts)
