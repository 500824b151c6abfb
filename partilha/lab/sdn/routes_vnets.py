"""/cluster/sdn/vnets and their subnets (PVE subnet ids are `<zone>-<address>-<mask>`).

Permissions as pve-network: SDN.Allocate on /sdn/zones/<zone> to create a VNet, and SDN.Audit or
SDN.Allocate (to read) / SDN.Allocate (to change) on /sdn/zones/<zone>/<vnet> for the rest.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import sdn
from partilha.lab.cluster import require_quorum
from partilha.lab.sdn import sdn_schema
from partilha.lab.sdn.sdn_config import (
    DELETE,
    DIGEST,
    LOCK_TOKEN,
    VIEW,
    check_vnet_access,
    sdn_config_lock,
    view,
    with_digest,
)
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified, param_error
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router

routes = Router()
VNET_ID = Param(optional=False, format=sdn_schema.parse_vnet_id)
SUBNET_ID = Param(optional=False, format=sdn_schema.parse_subnet_id)
READ = ["SDN.Audit", "SDN.Allocate"]
VNET_PROPS = {
    "tag": Param("integer", minimum=1, maximum=16777215),
    "alias": Param(pattern=r"[\(\)-_.\w\d\s]{0,256}", max_length=256),
    "vlanaware": BOOL, "isolate-ports": BOOL, "type": Param(enum=("vnet",)),
}
SUBNET_PROPS = {"gateway": Param(format="ip"), "snat": BOOL, "dnszoneprefix": Param(format="dns-name"),
                "dhcp-dns-server": Param(format="ip")}


def _vnet_out(vid: str, obj: dict[str, Any], digest: str | None) -> dict[str, Any]:
    return with_digest({**obj, "vnet": vid}, digest)


@routes.route("GET", "/cluster/sdn/vnets", VIEW)
def list_vnets(ctx: Ctx, p: dict[str, Any]) -> Any:
    objs, digest = view(ctx, "vnets", p)
    out = []
    for vid in sorted(objs):
        zone = objs[vid].get("zone") or objs[vid].get("pending", {}).get("zone")
        if ctx.allowed(f"/sdn/zones/{zone}/{vid}", READ, any_=True):
            out.append(_vnet_out(vid, objs[vid], digest))
    return out


@routes.route("GET", "/cluster/sdn/vnets/{vnet}", {"vnet": VNET_ID, **VIEW})
def read_vnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    check_vnet_access(ctx, p["vnet"], READ)
    objs, digest = view(ctx, "vnets", p)
    if p["vnet"] not in objs:
        raise PveError(f"sdn vnet '{p['vnet']}' does not exist")
    return _vnet_out(p["vnet"], objs[p["vnet"]], digest)


def _zone_hooks(ctx: Ctx, vnets: dict[str, dict[str, Any]], vid: str) -> None:
    """The zone plugin's `vnet_update_hook` and the VNet plugin's `on_update_hook`."""
    vnet = vnets[vid]
    zone = sdn.objects(ctx.store, "zones").get(str(vnet.get("zone")))
    if zone is None:
        raise PveError("unknown section type ''")
    tag = vnet.get("tag")
    if zone["type"] == "simple" and tag is not None:
        raise param_error(tag="vlan tag is not allowed on simple zone")
    if zone["type"] == "vlan":
        if tag is None:
            raise param_error(tag="missing vlan tag")
        if tag > 4096:
            raise param_error(tag="vlan tag max value is 4096")
        for oid, other in vnets.items():
            if oid != vid and other.get("zone") == vnet["zone"] and other.get("tag") == tag:
                raise param_error(tag=f"tag {tag} already exist in vnet {oid}")
    if vnet.get("vlanaware") and _subnets_of(ctx, vid):
        raise param_error(vlanaware="vlanaware vnet is not compatible with subnets")


def _subnets_of(ctx: Ctx, vid: str) -> list[str]:
    return [sid for sid, s in sdn.objects(ctx.store, "subnets").items() if s.get("vnet") == vid]


@routes.route("POST", "/cluster/sdn/vnets", {"vnet": VNET_ID, "zone": Param(optional=False),
                                             **VNET_PROPS, **LOCK_TOKEN})
def create_vnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    ctx.require(f"/sdn/zones/{p['zone']}", ["SDN.Allocate"])
    vid = p.pop("vnet")
    p.pop("type", None)
    require_quorum(ctx)
    with sdn_config_lock(ctx, "create sdn vnet object failed", token):
        vnets = sdn.objects(ctx.store, "vnets")
        opts = sdn_schema.check_config(sdn_schema.VNET_OPTIONS, p, create=True)
        if vid in vnets:
            raise PveError(f"sdn vnet object ID '{vid}' already defined")
        vnets[vid] = {"type": "vnet", **opts}
        _zone_hooks(ctx, vnets, vid)
        sdn.put(ctx.store, "vnets", vid, vnets[vid])
    return None


@routes.route("PUT", "/cluster/sdn/vnets/{vnet}", {
    "vnet": VNET_ID, "zone": Param(), "delete": DELETE, "digest": DIGEST, **VNET_PROPS, **LOCK_TOKEN})
def update_vnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    vid, digest = p.pop("vnet"), p.pop("digest", None)
    delete = split_list(p.pop("delete", ""))
    p.pop("type", None)
    check_vnet_access(ctx, vid, ["SDN.Allocate"])
    with sdn_config_lock(ctx, "update sdn vnet object failed", token):
        vnets = sdn.objects(ctx.store, "vnets")
        assert_if_modified(sdn_schema.digest(sdn_schema.section_text("vnets", vnets)), digest)
        opts = sdn_schema.check_config(sdn_schema.VNET_OPTIONS, p, create=False)
        data = vnets.setdefault(vid, {"type": "vnet"})
        old_zone = data.get("zone")
        sdn_schema.delete_from_config(data, sdn_schema.VNET_OPTIONS, opts, delete)
        data.update(opts)
        if not data.get("zone"):
            raise param_error(zone="cannot delete zone")
        if _subnets_of(ctx, vid) and old_zone != data["zone"]:
            raise param_error(zone="can't change zone if subnets exist")
        _zone_hooks(ctx, vnets, vid)
        sdn.put(ctx.store, "vnets", vid, data)
    return None


@routes.route("DELETE", "/cluster/sdn/vnets/{vnet}", {"vnet": VNET_ID, **LOCK_TOKEN})
def delete_vnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    vid = p["vnet"]
    check_vnet_access(ctx, vid, ["SDN.Allocate"])
    with sdn_config_lock(ctx, "delete sdn vnet object failed", token):
        if vid not in sdn.objects(ctx.store, "vnets"):
            raise PveError(f"sdn vnet '{vid}' does not exist")
        if _subnets_of(ctx, vid):
            raise param_error(vnet="Can't delete vnet if subnets exists")
        sdn.remove(ctx.store, "vnets", vid)
    return None


def _subnet_out(sid: str, obj: dict[str, Any], digest: str | None) -> dict[str, Any]:
    fields = sdn_schema.subnet_fields(sid)
    return with_digest({**obj, **fields, "subnet": sid, "dhcp-range": []}, digest)


@routes.route("GET", "/cluster/sdn/vnets/{vnet}/subnets", {"vnet": VNET_ID, **VIEW})
def list_subnets(ctx: Ctx, p: dict[str, Any]) -> Any:
    check_vnet_access(ctx, p["vnet"], READ)
    objs, digest = view(ctx, "subnets", p)
    return [_subnet_out(sid, objs[sid], digest) for sid in sorted(objs)
            if objs[sid].get("vnet") == p["vnet"]]


@routes.route("GET", "/cluster/sdn/vnets/{vnet}/subnets/{subnet}", {
    "vnet": VNET_ID, "subnet": SUBNET_ID, **VIEW})
def read_subnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    check_vnet_access(ctx, p["vnet"], READ)
    objs, digest = view(ctx, "subnets", p)
    if p["subnet"] not in objs:
        raise PveError(f"sdn subnet '{p['subnet']}' does not exist")
    out = _subnet_out(p["subnet"], objs[p["subnet"]], digest)
    if out.get("vnet") != p["vnet"]:
        raise param_error(vnet="wrong vnet")
    return out


def _subnet_hook(ctx: Ctx, sid: str, subnet: dict[str, Any]) -> None:
    """SubnetPlugin `on_update_hook`: the VNet exists, is not VLAN-aware, holds the gateway."""
    vnet = sdn.objects(ctx.store, "vnets").get(str(subnet.get("vnet")))
    if vnet is None:
        raise param_error(vnet=f"{subnet.get('vnet')} don't exist")
    if vnet.get("vlanaware"):
        raise param_error(vnet="you can't add a subnet on a vlanaware vnet")
    fields = sdn_schema.subnet_fields(sid)
    gateway = subnet.get("gateway")
    pointopoint = fields["mask"] == "32" and "." in str(gateway)
    if gateway and not sdn_schema.in_subnet(gateway, fields["cidr"]) and not pointopoint:
        raise param_error(gateway=f"{gateway} is not in subnet {fields['cidr']}")


@routes.route("POST", "/cluster/sdn/vnets/{vnet}/subnets", {
    "vnet": VNET_ID, "subnet": SUBNET_ID, "type": Param(optional=False, enum=("subnet",)),
    **SUBNET_PROPS, **LOCK_TOKEN})
def create_subnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    check_vnet_access(ctx, p["vnet"], ["SDN.Allocate"])
    cidr = p.pop("subnet")
    p.pop("type")
    require_quorum(ctx)
    with sdn_config_lock(ctx, "create sdn subnet object failed", token):
        zone = sdn.objects(ctx.store, "vnets").get(p["vnet"], {}).get("zone", "")
        sid = sdn_schema.subnet_id(str(zone), cidr)
        opts = sdn_schema.check_config(sdn_schema.SUBNET_OPTIONS, p, create=True)
        if sid in sdn.objects(ctx.store, "subnets"):
            raise PveError(f"sdn subnet object ID '{sid}' already defined")
        _subnet_hook(ctx, sid, opts)
        sdn.put(ctx.store, "subnets", sid, {"type": "subnet", **opts})
    return None


@routes.route("PUT", "/cluster/sdn/vnets/{vnet}/subnets/{subnet}", {
    "vnet": VNET_ID, "subnet": SUBNET_ID, "delete": DELETE, "digest": DIGEST, **SUBNET_PROPS,
    **LOCK_TOKEN})
def update_subnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    sid, digest = p.pop("subnet"), p.pop("digest", None)
    delete = split_list(p.pop("delete", ""))
    check_vnet_access(ctx, p["vnet"], ["SDN.Allocate"])
    with sdn_config_lock(ctx, "update sdn subnet object failed", token):
        subnets = sdn.objects(ctx.store, "subnets")
        if sid not in subnets:
            raise PveError(f"sdn subnet '{sid}' does not exist")
        assert_if_modified(sdn_schema.digest(sdn_schema.section_text("subnets", subnets)), digest)
        opts = sdn_schema.check_config(sdn_schema.SUBNET_OPTIONS, p, create=False)
        data = subnets[sid]
        sdn_schema.delete_from_config(data, sdn_schema.SUBNET_OPTIONS, opts, delete)
        data.update(opts)
        _subnet_hook(ctx, sid, data)
        sdn.put(ctx.store, "subnets", sid, data)
    return None


@routes.route("DELETE", "/cluster/sdn/vnets/{vnet}/subnets/{subnet}", {
    "vnet": VNET_ID, "subnet": SUBNET_ID, **LOCK_TOKEN})
def delete_subnet(ctx: Ctx, p: dict[str, Any]) -> Any:
    token = p.pop("lock-token", None)
    check_vnet_access(ctx, p["vnet"], ["SDN.Allocate"])
    with sdn_config_lock(ctx, "delete sdn subnet object failed", token):
        if p["subnet"] not in sdn.objects(ctx.store, "subnets"):
            raise PveError(f"sdn subnet '{p['subnet']}' does not exist")
        sdn.remove(ctx.store, "subnets", p["subnet"])
    return None
