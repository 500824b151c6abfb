"""/cluster/firewall: the index, the datacenter options, the macros and the cluster rules.

As pve-firewall's Cluster.pm and ClusterRules: Sys.Audit on / to read, Sys.Modify on / to change.
In the lab the cluster `forward` rules decide the traffic routed between VNets; `enable` turns
every rule of the lab's firewall on or off (partilha.lab.firewall.firewall_translate).
"""

from __future__ import annotations

from typing import Any

from partilha.lab import firewall
from partilha.lab.firewall import firewall_schema
from partilha.lab.firewall.firewall_macros import MACROS
from partilha.lab.firewall.firewall_options import (
    DELETE,
    DIGEST,
    POLICY,
    audit,
    change,
    modify,
    options_out,
    set_options,
)
from partilha.lab.firewall.rule_endpoints import RuleList, register
from partilha.lab.firewall.state import Rules
from partilha.lab.server.context import Ctx
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import BOOL, Param
from partilha.lab.server.router import Router

routes = Router()
OPTIONS = {
    "enable": Param("integer", minimum=0), "ebtables": BOOL, "policy_in": POLICY,
    "policy_out": POLICY, "policy_forward": Param(enum=("ACCEPT", "DROP")),
    "log_ratelimit": Param(format=firewall_schema.verify_log_ratelimit),
}


@routes.route("GET", "/cluster/firewall")
def index(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"name": name} for name in ("rules", "options", "groups", "macros", "ipset", "aliases")]


@routes.route("GET", "/cluster/firewall/options")
def get_options(ctx: Ctx, p: dict[str, Any]) -> Any:
    audit(ctx, p)
    return options_out(firewall.cluster(ctx.store).options)


@routes.route("PUT", "/cluster/firewall/options", {**OPTIONS, "delete": DELETE, "digest": DIGEST})
def put_options(ctx: Ctx, p: dict[str, Any]) -> Any:
    modify(ctx, p)
    with change(ctx):
        conf = firewall.cluster(ctx.store)
        set_options(conf.options, OPTIONS, p, split_list(p.get("delete", "")), p.get("digest"))
        firewall.save_cluster(ctx.store, conf)


@routes.route("GET", "/cluster/firewall/macros")
def get_macros(ctx: Ctx, p: dict[str, Any]) -> Any:
    return [{"macro": name, "descr": descr} for name, (descr, _rules) in MACROS.items()]


def _save_rules(ctx: Ctx, p: dict[str, Any], rules: Rules) -> None:
    conf = firewall.cluster(ctx.store)
    conf.rules = rules
    firewall.save_cluster(ctx.store, conf)


register(routes, "/cluster/firewall/rules", {}, RuleList(
    env="cluster", read=audit, write=modify,
    load=lambda ctx, p: firewall.cluster(ctx.store).rules, save=_save_rules))
