"""/cluster/sdn/vnets/{vnet}/firewall: a VNet's firewall (PVE 8.3, pve-firewall's Vnet.pm), its
options (`enable`, `policy_forward`, `log_level_forward`) and its `forward` rules, which decide
what crosses the VNet's bridge (partilha.lab.firewall.firewall_translate).

SDN.Audit or SDN.Allocate on /sdn/zones/<zone>/<vnet> to read, SDN.Allocate to change; the VNet
must exist in the SDN config.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import firewall
from partilha.lab.firewall.firewall_options import (
    DELETE,
    DIGEST,
    LOG_LEVEL,
    Check,
    change,
    options_out,
    set_options,
)
from partilha.lab.firewall.rule_endpoints import RuleList, register
from partilha.lab.firewall.state import Rules
from partilha.lab.sdn import check_vnet_access, sdn_schema
from partilha.lab.server.context import Ctx
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router

routes = Router()
BASE = "/cluster/sdn/vnets/{vnet}/firewall"
VNET = {"vnet": Param(optional=False, format=sdn_schema.parse_vnet_id)}
OPTIONS = {"enable": BOOL, "policy_forward": Param(enum=("ACCEPT", "DROP")),
           "log_level_forward": LOG_LEVEL}


def allowed(*privs: str) -> Check:
    def check(ctx: Ctx, p: dict[str, Any]) -> None:
        check_vnet_access(ctx, p["vnet"], list(privs))
    return check


read, write = allowed("SDN.Audit", "SDN.Allocate"), allowed("SDN.Allocate")


@routes.route("GET", BASE, VNET)
def index(ctx: Ctx, p: dict[str, Any]) -> Any:
    read(ctx, p)
    return [{"name": "rules"}, {"name": "options"}]


@routes.route("GET", f"{BASE}/options", VNET)
def get_options(ctx: Ctx, p: dict[str, Any]) -> Any:
    read(ctx, p)
    return options_out(firewall.vnet(ctx.store, p["vnet"]).options)


@routes.route("PUT", f"{BASE}/options", {**VNET, **OPTIONS, "delete": DELETE, "digest": DIGEST})
def put_options(ctx: Ctx, p: dict[str, Any]) -> Any:
    write(ctx, p)
    with change(ctx):
        conf = firewall.vnet(ctx.store, p["vnet"])
        set_options(conf.options, OPTIONS, p, split_list(p.get("delete", "")), p.get("digest"))
        firewall.save_vnet(ctx.store, p["vnet"], conf)


def _save_rules(ctx: Ctx, p: dict[str, Any], rules: Rules) -> None:
    conf = firewall.vnet(ctx.store, p["vnet"])
    conf.rules = rules
    firewall.save_vnet(ctx.store, p["vnet"], conf)


register(routes, f"{BASE}/rules", VNET, RuleList(
    env="vnet", read=read, write=write,
    load=lambda ctx, p: firewall.vnet(ctx.store, p["vnet"]).rules, save=_save_rules))
