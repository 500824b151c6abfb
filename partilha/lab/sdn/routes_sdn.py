"""/cluster/sdn: apply (PUT), rollback, the global lock, and the zones. Edits stay pending until
applied.

As in pve-network, changes run under the SDN config lock, and what fails there is reported as
`<what> failed: <reason>`; reads can show the edited config (default, with its `digest`), the
`running` one, or the `pending` view (`state` new/changed/deleted and a `pending` map).
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from partilha.lab import cluster, sdn
from partilha.lab.cluster import local_node, require_quorum
from partilha.lab.sdn import sdn_apply, sdn_schema
from partilha.lab.sdn.sdn_config import DELETE, DIGEST, LOCK_TOKEN, VIEW, sdn_config_lock, view, with_digest
from partilha.lab.sdn.sdn_schema import SdnConfigError
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified, param_error
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router
from partilha.lab.server.tasks import TaskLog

routes = Router()
ZONE_ID = Param(optional=False, format=sdn_schema.parse_zone_id)
ZONE_PROPS = {
    "bridge": Param(), "bridge-disable-mac-learning": BOOL, "mtu": Param("integer"),
    "nodes": Param(format="pve-node-list"), "ipam": Param(), "dns": Param(), "reversedns": Param(),
    "dnszone": Param(format="dns-name"), "dhcp": Param(enum=("dnsmasq",)),
}


def checked(options: dict[str, bool], params: dict[str, Any], create: bool) -> dict[str, Any]:
    try:
        return sdn_schema.check_config(options, params, create)
    except SdnConfigError as exc:
        raise PveError(str(exc)) from None


@routes.route("GET", "/cluster/sdn")
def index(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/sdn", ["SDN.Audit"])
    return [{"id": "vnets"}, {"id": "zones"}]


@routes.route("PUT", "/cluster/sdn", {**LOCK_TOKEN, "release-lock": BOOL})
def reload(ctx: Ctx, p: dict[str, Any]) -> Any:
    """Apply: commit the edits, then a `reloadnetworkall` task realises them on the host."""
    token = p.pop("lock-token", None)
    ctx.require("/sdn", ["SDN.Allocate"])
    with sdn_config_lock(ctx, "could not commit SDN config", token):
        sdn.commit(ctx.store)
        if token and p.get("release-lock", True):
            sdn.set_global_lock(ctx.store, None)
    store, instance = ctx.store, ctx.instance

    def work(log: TaskLog) -> None:
        nodes = cluster.nodes(store)
        if not cluster.quorate(store):
            raise PveError("cluster not ready - no quorum?")
        for node in nodes:
            if node.online:
                log(f"{node.name}: reloading network config")
        sdn_apply.realise(store, instance, log)

    return ctx.tasks.start(local_node(ctx).name, "reloadnetworkall", "", ctx.authid, work)


@routes.route("POST", "/cluster/sdn/rollback", {**LOCK_TOKEN, "release-lock": BOOL})
def rollback(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    ctx.require("/sdn", ["SDN.Allocate"])
    with sdn_config_lock(ctx, "could not rollback SDN configuration", token):
        sdn.rollback(ctx.store)
        if token and p.get("release-lock", True):
            sdn.set_global_lock(ctx.store, None)
    return None


def _uuid7() -> uuid.UUID:
    """RFC 9562's version 7 (what pve-network's UUID::generate_v7 makes): 48 bits of Unix time in
    milliseconds, then random bits (Python 3.11's uuid has no uuid7)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(secrets.token_bytes(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant
    return uuid.UUID(int=value)


@routes.route("POST", "/cluster/sdn/lock", {"allow-pending": BOOL})
def lock(ctx: Ctx, p: dict[str, Any]) -> Any:
    """PVE 8.3's global SDN lock: its token (a UUIDv7) is what writers show until it is released."""
    ctx.require("/sdn", ["SDN.Allocate"])
    with sdn_config_lock(ctx, "could not acquire lock for SDN config"):
        if not p.get("allow-pending") and sdn.has_pending_changes(ctx.store):
            raise PveError("configuration has pending changes")
        token = str(_uuid7())
        sdn.set_global_lock(ctx.store, token)
    return token


@routes.route("DELETE", "/cluster/sdn/lock", {**LOCK_TOKEN, "force": BOOL})
def release_lock(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require("/sdn", ["SDN.Allocate"])
    if p.get("force"):
        sdn.set_global_lock(ctx.store, None)
        return None
    with sdn_config_lock(ctx, "could not release lock", p.get("lock-token")):
        sdn.set_global_lock(ctx.store, None)
    return None


def _zone_out(zid: str, obj: dict[str, Any], digest: str | None) -> dict[str, Any]:
    return with_digest({**obj, "zone": zid}, digest)


@routes.route("GET", "/cluster/sdn/zones", {"type": Param(enum=("simple", "vlan")), **VIEW})
def list_zones(ctx: Ctx, p: dict[str, Any]) -> Any:
    objs, digest = view(ctx, "zones", p)
    return [_zone_out(zid, objs[zid], digest) for zid in sorted(objs)
            if ctx.allowed(f"/sdn/zones/{zid}", ["SDN.Audit", "SDN.Allocate"], any_=True)
            and p.get("type") in (None, objs[zid].get("type"))]


@routes.route("GET", "/cluster/sdn/zones/{zone}", {"zone": ZONE_ID, **VIEW})
def read_zone(ctx: Ctx, p: dict[str, Any]) -> Any:
    ctx.require(f"/sdn/zones/{p['zone']}", ["SDN.Allocate"])
    objs, digest = view(ctx, "zones", p)
    if p["zone"] not in objs:
        raise PveError(f"sdn '{p['zone']}' does not exist")
    return _zone_out(p["zone"], objs[p["zone"]], digest)


def _check_zone_refs(opts: dict[str, Any]) -> None:
    """The DNS servers and IPAM a zone names must exist (the lab has PVE's `pve` IPAM only)."""
    for key in ("dns", "reversedns"):
        if opts.get(key):
            raise param_error(**{key: f"{opts[key]} don't exist"})
    if opts.get("dnszone") and not opts.get("dns"):
        raise param_error(dnszone="missing dns server")
    if opts.get("ipam") and opts["ipam"] not in sdn_schema.IPAMS:
        raise param_error(ipam=f"{opts['ipam']} not existing")


@routes.route("POST", "/cluster/sdn/zones", {
    "zone": ZONE_ID, "type": Param(optional=False, enum=("simple", "vlan")), **ZONE_PROPS, **LOCK_TOKEN})
def create_zone(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    ctx.require("/sdn/zones", ["SDN.Allocate"])
    zid, ztype = p.pop("zone"), p.pop("type")
    opts = {"type": ztype, **checked(sdn_schema.ZONE_OPTIONS[ztype], p, create=True)}
    require_quorum(ctx)
    with sdn_config_lock(ctx, "create sdn zone object failed", token):
        if zid in sdn.objects(ctx.store, "zones"):
            raise PveError(f"sdn zone object ID '{zid}' already defined")
        _check_zone_refs(opts)
        sdn.put(ctx.store, "zones", zid, opts)
    return None


@routes.route("PUT", "/cluster/sdn/zones/{zone}", {
    "zone": ZONE_ID, "delete": DELETE, "digest": DIGEST, **ZONE_PROPS, **LOCK_TOKEN})
def update_zone(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    zid, digest = p.pop("zone"), p.pop("digest", None)
    delete = split_list(p.pop("delete", ""))
    ctx.require(f"/sdn/zones/{zid}", ["SDN.Allocate"])
    with sdn_config_lock(ctx, "update sdn zone object failed", token):
        zones = sdn.objects(ctx.store, "zones")
        assert_if_modified(sdn_schema.digest(sdn_schema.section_text("zones", zones)), digest)
        if zid not in zones:
            raise PveError(f"sdn '{zid}' does not exist")
        data = zones[zid]
        options = sdn_schema.ZONE_OPTIONS[data["type"]]
        opts = sdn_schema.check_config(options, p, create=False)
        old_ipam = data.get("ipam")
        sdn_schema.delete_from_config(data, options, opts, delete)
        data.update(opts)
        if data.get("ipam") != old_ipam and any(
                sdn_schema.subnet_fields(sid)["zone"] == zid for sid in sdn.objects(ctx.store, "subnets")):
            raise param_error(ipam="can't change ipam if a subnet is already defined in this zone")
        _check_zone_refs(opts)
        sdn.put(ctx.store, "zones", zid, data)
    return None


@routes.route("DELETE", "/cluster/sdn/zones/{zone}", {"zone": ZONE_ID, **LOCK_TOKEN})
def delete_zone(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    zid = p["zone"]
    ctx.require(f"/sdn/zones/{zid}", ["SDN.Allocate"])
    with sdn_config_lock(ctx, "delete sdn zone object failed", token):
        if zid not in sdn.objects(ctx.store, "zones"):
            raise PveError(f"sdn '{zid}' does not exist")
        for vid, vnet in sdn.objects(ctx.store, "vnets").items():
            if vnet.get("zone") == zid:
                raise PveError(f"zone {zid} is used by vnet {vid}")
        sdn.remove(ctx.store, "zones", zid)
    return None
