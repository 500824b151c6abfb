"""IP sets (pve-firewall's IPSet.pm): the cluster's at /cluster/firewall/ipset and each guest's at
/nodes/{node}/{lxc,qemu}/{vmid}/firewall/ipset (where `ipfilter-net0` lives), with PVE's formats,
words and digests: list and create (or rename, or change the comment of) sets; list, add, read,
update and remove a set's entries; delete an empty set (or any with `force`).

Permissions as the rules of the same level (Sys.Audit / Sys.Modify on / for the cluster's,
VM.Audit / VM.Config.Network for a guest's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partilha.lab import firewall
from partilha.lab.firewall import firewall_addresses, firewall_schema
from partilha.lab.firewall.firewall_options import DIGEST, Check, audit, change, guest_access, modify
from partilha.lab.firewall.state import ClusterFirewallConfig, GuestFirewallConfig
from partilha.lab.guests import LXC, QEMU
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified, param_error
from partilha.lab.server.params import BOOL, NODE, VMID, Param
from partilha.lab.server.router import Router

routes = Router()
NAME = Param(optional=False, pattern=firewall_addresses.NAME, min_length=2, max_length=64)
CIDR = Param(optional=False, format=firewall_addresses.verify_ip_or_cidr_or_alias)
Config = ClusterFirewallConfig | GuestFirewallConfig


@dataclass(frozen=True)
class Level:
    """Where a level's IP sets live and who may see or change them."""

    read: Check
    write: Check
    load: Callable[[Ctx, dict[str, Any]], Config]
    save: Callable[[Ctx, dict[str, Any], Config], None]


def _set_list(conf: Config) -> list[dict[str, Any]]:
    """`$get_ipset_list` (without its digest): by name, with the comment."""
    return [{"name": name, **({"comment": conf.ipset_comments[name]}
                              if conf.ipset_comments.get(name) else {})}
            for name in sorted(conf.ipsets)]


def _entries(conf: Config, name: str) -> list[dict[str, Any]]:
    if name not in conf.ipsets:
        raise PveError(f"no such IPSet '{name}'")
    return conf.ipsets[name]


def _unchanged_entries(level: Level, ctx: Ctx, p: dict[str, Any]) -> tuple[Config, list[dict[str, Any]]]:
    """The config and the set's entries, unless the caller's `digest` says they changed."""
    conf = level.load(ctx, p)
    entries = _entries(conf, p["name"])
    assert_if_modified(firewall_schema.list_digest(entries), p.get("digest"))
    return conf, entries


def _entry_cidr(ctx: Ctx, p: dict[str, Any]) -> str:
    """The entry as PVE keeps it: an alias that must exist, or the address normalised."""
    cidr = str(p["cidr"])
    if firewall_addresses.ALIAS_REF.fullmatch(cidr):
        vmid = p.get("vmid")
        if firewall.book(ctx.store, int(vmid) if vmid else None).alias(cidr) is None:
            raise PveError(f"no such alias '{cidr}'")
        return cidr
    return firewall_addresses.entry_cidr(cidr)[0]


def register(base: str, path_params: dict[str, Param], level: Level) -> None:
    at_set, at_entry = {**path_params, "name": NAME}, {**path_params, "name": NAME, "cidr": CIDR}

    @routes.route("GET", base, path_params)
    def list_sets(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.read(ctx, p)
        return firewall_schema.with_digest(_set_list(level.load(ctx, p)))

    @routes.route("POST", base, {**at_set, "comment": Param(), "digest": DIGEST,
                                 "rename": Param(pattern=firewall_addresses.NAME, min_length=2,
                                                 max_length=64)})
    def create_set(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.write(ctx, p)
        name, rename, comment = p["name"], p.get("rename"), p.get("comment")
        with change(ctx):
            conf = level.load(ctx, p)
            if rename:
                assert_if_modified(firewall_schema.list_digest(_set_list(conf)), p.get("digest"))
                if rename not in conf.ipsets:
                    raise param_error(name=f"IPSet '{rename}' does not exist")
                if name in conf.ipsets and name != rename:
                    raise param_error(name=f"IPSet '{name}' does already exist")
                conf.ipsets[name] = conf.ipsets.pop(rename)
                if rename in conf.ipset_comments:
                    conf.ipset_comments[name] = conf.ipset_comments.pop(rename)
            elif name in conf.ipsets:
                raise param_error(name=f"IPSet '{name}' already exists")
            else:
                conf.ipsets[name] = []
            if comment is not None:
                conf.ipset_comments[name] = comment
            level.save(ctx, p, conf)

    @routes.route("GET", f"{base}/{{name}}", at_set)
    def get_set(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.read(ctx, p)
        return firewall_schema.with_digest(_entries(level.load(ctx, p), p["name"]))

    @routes.route("DELETE", f"{base}/{{name}}", {**at_set, "force": BOOL})
    def delete_set(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.write(ctx, p)
        with change(ctx):
            conf = level.load(ctx, p)
            if _entries(conf, p["name"]) and not p.get("force"):
                raise PveError(f"IPSet '{p['name']}' is not empty")
            del conf.ipsets[p["name"]]
            conf.ipset_comments.pop(p["name"], None)
            level.save(ctx, p, conf)

    @routes.route("POST", f"{base}/{{name}}", {**at_entry, "nomatch": BOOL, "comment": Param()})
    def create_entry(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.write(ctx, p)
        with change(ctx):
            conf = level.load(ctx, p)
            entries = _entries(conf, p["name"])
            cidr = _entry_cidr(ctx, p)
            if any(entry["cidr"] == cidr for entry in entries):
                raise param_error(cidr=f"address '{cidr}' already exists")
            if re.search(r"/0+$", cidr):
                raise param_error(cidr="a zero prefix is not allowed in ipset entries")
            entry: dict[str, Any] = {"cidr": cidr}
            if p.get("nomatch"):
                entry["nomatch"] = 1
            if p.get("comment"):
                entry["comment"] = p["comment"]
            conf.ipsets[p["name"]] = [entry, *entries]
            level.save(ctx, p, conf)

    @routes.route("GET", f"{base}/{{name}}/{{cidr:path}}", at_entry)
    def read_entry(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.read(ctx, p)
        for entry in firewall_schema.with_digest(_entries(level.load(ctx, p), p["name"])):
            if entry["cidr"] == p["cidr"]:
                return entry
        raise param_error(cidr="no such IP/Network")

    @routes.route("PUT", f"{base}/{{name}}/{{cidr:path}}", {
        **at_entry, "nomatch": BOOL, "comment": Param(), "digest": DIGEST})
    def update_entry(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.write(ctx, p)
        with change(ctx):
            conf, entries = _unchanged_entries(level, ctx, p)
            for entry in entries:
                if entry["cidr"] == p["cidr"]:
                    entry.pop("nomatch", None)
                    entry.pop("comment", None)
                    if p.get("nomatch"):
                        entry["nomatch"] = 1
                    if p.get("comment"):
                        entry["comment"] = p["comment"]
                    level.save(ctx, p, conf)
                    return
        raise param_error(cidr="no such IP/Network")

    @routes.route("DELETE", f"{base}/{{name}}/{{cidr:path}}", {**at_entry, "digest": DIGEST})
    def delete_entry(ctx: Ctx, p: dict[str, Any]) -> Any:
        level.write(ctx, p)
        with change(ctx):
            conf, entries = _unchanged_entries(level, ctx, p)
            conf.ipsets[p["name"]] = [e for e in entries if e["cidr"] != p["cidr"]]
            level.save(ctx, p, conf)


def _save_cluster(ctx: Ctx, p: dict[str, Any], conf: Config) -> None:
    assert isinstance(conf, ClusterFirewallConfig)
    firewall.save_cluster(ctx.store, conf)


register("/cluster/firewall/ipset", {}, Level(
    read=audit, write=modify, load=lambda ctx, p: firewall.cluster(ctx.store), save=_save_cluster))


def _guest_level(kind: str) -> Level:
    def save(ctx: Ctx, p: dict[str, Any], conf: Config) -> None:
        assert isinstance(conf, GuestFirewallConfig)
        firewall.save_guest(ctx.store, int(p["vmid"]), conf)

    return Level(read=guest_access(kind, "VM.Audit"), write=guest_access(kind, "VM.Config.Network"),
                 load=lambda ctx, p: firewall.guest(ctx.store, int(p["vmid"])), save=save)


for _kind in (LXC, QEMU):
    register(f"/nodes/{{node}}/{_kind}/{{vmid}}/firewall/ipset", {"node": NODE, "vmid": VMID},
             _guest_level(_kind))
