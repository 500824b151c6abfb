"""/cluster/firewall/groups: security groups (pve-firewall's Groups.pm and GroupRules).

Listing is open to every user; creating, renaming (which also renames every `group` rule that
names the group, in the cluster's and every guest's rules), deleting (only an empty group) and
changing rules need Sys.Modify on /, reading rules Sys.Audit on /.
"""

from __future__ import annotations

from typing import Any

from partilha.lab import firewall
from partilha.lab.firewall import firewall_schema
from partilha.lab.firewall.firewall_options import DIGEST, audit, change, modify
from partilha.lab.firewall.rule_endpoints import RuleList, register
from partilha.lab.firewall.state import ClusterFirewallConfig, Rules
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified, param_error
from partilha.lab.server.params import Param
from partilha.lab.server.router import Router

routes = Router()
GROUP_NAME = Param(pattern=firewall_schema.GROUP_NAME, min_length=2, max_length=18)
GROUP = {"group": Param(optional=False, pattern=firewall_schema.GROUP_NAME, min_length=2,
                        max_length=18)}


def _group_list(conf: ClusterFirewallConfig) -> list[dict[str, Any]]:
    """`$get_security_group_list` (without its digest): by name, with the comment."""
    return [{"group": name, **({"comment": conf.group_comments[name]}
                               if conf.group_comments.get(name) else {})}
            for name in sorted(conf.groups)]


@routes.route("GET", "/cluster/firewall/groups")
def list_groups(ctx: Ctx, p: dict[str, Any]) -> Any:
    return firewall_schema.with_digest(_group_list(firewall.cluster(ctx.store)))


def _renamed(rules: Rules, old: str, new: str) -> None:
    for rule in rules:
        if rule.get("type") == "group" and rule.get("action") == old:
            rule["action"] = new


def _rename(ctx: Ctx, conf: ClusterFirewallConfig, old: str, new: str) -> None:
    """Move the group and every reference to it (PVE's `$rename_fw_rules` over all configs)."""
    conf.groups[new] = conf.groups.pop(old)
    if old in conf.group_comments:
        conf.group_comments[new] = conf.group_comments.pop(old)
    _renamed(conf.rules, old, new)
    for vmid, guest in firewall.every_guest(ctx.store).items():
        _renamed(guest.rules, old, new)
        firewall.save_guest(ctx.store, vmid, guest)


@routes.route("POST", "/cluster/firewall/groups", {
    **GROUP, "comment": Param(), "rename": GROUP_NAME, "digest": DIGEST})
def create_group(ctx: Ctx, p: dict[str, Any]) -> Any:
    modify(ctx, p)
    group, rename, comment = p["group"], p.get("rename"), p.get("comment")
    with change(ctx):
        conf = firewall.cluster(ctx.store)
        if rename:
            assert_if_modified(firewall_schema.list_digest(_group_list(conf)), p.get("digest"))
            if rename not in conf.groups:
                raise param_error(group=f"Security group '{rename}' does not exist")
            if group in conf.groups and group != rename:
                raise param_error(group=f"Security group '{group}' does already exist")
            if group != rename:
                _rename(ctx, conf, rename, group)
        else:
            if group in conf.groups:
                raise param_error(group=f"Security group '{group}' already exists")
            conf.groups[group] = []
        if comment is not None:
            conf.group_comments[group] = comment
        firewall.save_cluster(ctx.store, conf)


def _group_rules(ctx: Ctx, p: dict[str, Any]) -> Rules:
    rules = firewall.cluster(ctx.store).groups.get(p["group"])
    if rules is None:
        raise PveError(f"no such security group '{p['group']}'")
    return rules


def _save_group_rules(ctx: Ctx, p: dict[str, Any], rules: Rules) -> None:
    conf = firewall.cluster(ctx.store)
    conf.groups[p["group"]] = rules
    firewall.save_cluster(ctx.store, conf)


@routes.route("DELETE", "/cluster/firewall/groups/{group}", GROUP)
def delete_group(ctx: Ctx, p: dict[str, Any]) -> Any:
    modify(ctx, p)
    with change(ctx):
        if _group_rules(ctx, p):
            raise PveError(f"Security group '{p['group']}' is not empty")
        conf = firewall.cluster(ctx.store)
        del conf.groups[p["group"]]
        conf.group_comments.pop(p["group"], None)
        firewall.save_cluster(ctx.store, conf)


register(routes, "/cluster/firewall/groups/{group}", GROUP, RuleList(
    env="group", read=audit, write=modify, load=_group_rules, save=_save_group_rules))
