"""The rule-list endpoints every firewall level has (pve-firewall's `RulesBase`): list, read one,
create (always at the top, as PVE's `unshift`), update or move (`moveto`), delete, with the list's
`digest` and PVE's words. A `RuleList` says where the rules live and who may read or change them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from partilha.lab.firewall import firewall_schema
from partilha.lab.firewall.firewall_addresses import Book
from partilha.lab.firewall.firewall_options import DELETE, DIGEST, LOG_LEVEL, Check, change
from partilha.lab.firewall.state import Rules, book
from partilha.lab.server.context import Ctx
from partilha.lab.server.errors import PveError, assert_if_modified
from partilha.lab.server.lists import split_list
from partilha.lab.server.params import Param
from partilha.lab.server.router import Router

POS = Param("integer", optional=False, minimum=0)
RULE_PARAMS = {
    "type": Param(enum=("in", "out", "forward", "group")),
    "action": Param(pattern=firewall_schema.GROUP_NAME, min_length=2, max_length=20),
    "macro": Param(max_length=128),
    "iface": Param(format=firewall_schema.verify_iface),
    "source": Param(format=firewall_schema.parse_address_list, max_length=512),
    "dest": Param(format=firewall_schema.parse_address_list, max_length=512),
    "proto": Param(format=firewall_schema.verify_protocol),
    "enable": Param("integer", minimum=0),
    "log": LOG_LEVEL,
    "sport": Param(format=firewall_schema.parse_sport),
    "dport": Param(format=firewall_schema.parse_dport),
    "comment": Param(),
    "icmp-type": Param(format=firewall_schema.verify_icmp_type),
    "pos": Param("integer", minimum=0),
    "digest": DIGEST,
}


@dataclass(frozen=True)
class RuleList:
    env: str  # verify_rule's rule_env: cluster, group, vm or ct
    read: Check  # raises unless the caller may read the rules
    write: Check  # raises unless the caller may change them
    load: Callable[[Ctx, dict[str, Any]], Rules]
    save: Callable[[Ctx, dict[str, Any], Rules], None]
    book: Callable[[Ctx, dict[str, Any]], Book] = lambda ctx, p: book(ctx.store)  # what rules may name


def listed(rules: Rules) -> list[dict[str, Any]]:
    """`copy_list_with_digest` with each rule's `pos`."""
    digest = firewall_schema.list_digest(rules)
    return [{**rule, "pos": pos, "digest": digest} for pos, rule in enumerate(rules)]


def _at(rules: Rules, pos: int) -> dict[str, Any]:
    if pos >= len(rules):
        raise PveError(f"no rule at position {pos}")
    return rules[pos]


def _moved(rules: Rules, pos: int, moveto: int) -> Rules:
    """PVE's move: the rule goes before the one now at `moveto` (or to the end)."""
    rule, out = rules[pos], []
    for i, other in enumerate(rules):
        if i == pos:
            continue
        if i == moveto:
            out.append(rule)
        out.append(other)
    return [*out, rule] if moveto >= len(rules) else out


def register(router: Router, path: str, path_params: Mapping[str, Param], rl: RuleList) -> None:
    """The five endpoints at `path` and `path/{pos}`."""
    at_pos = {**path_params, "pos": POS}

    @router.route("GET", path, path_params)
    def get_rules(ctx: Ctx, p: dict[str, Any]) -> Any:
        rl.read(ctx, p)
        return listed(rl.load(ctx, p))

    @router.route("GET", f"{path}/{{pos}}", at_pos)
    def get_rule(ctx: Ctx, p: dict[str, Any]) -> Any:
        rl.read(ctx, p)
        rules = listed(rl.load(ctx, p))
        return _at(rules, int(p["pos"]))

    @router.route("POST", path, {**path_params, **RULE_PARAMS,
                                 "type": Param(optional=False, enum=RULE_PARAMS["type"].enum),
                                 "action": Param(optional=False, pattern=firewall_schema.GROUP_NAME,
                                                 min_length=2, max_length=20)})
    def create_rule(ctx: Ctx, p: dict[str, Any]) -> Any:
        rl.write(ctx, p)
        with change(ctx):
            rules = rl.load(ctx, p)
            rule: dict[str, Any] = {}
            firewall_schema.copy_rule_data(rule, p)
            firewall_schema.verify_rule(rule, rl.env, rl.book(ctx, p))
            rule.setdefault("enable", 0)
            rl.save(ctx, p, [rule, *rules])

    @router.route("PUT", f"{path}/{{pos}}", {
        **path_params, **RULE_PARAMS, "pos": POS, "delete": DELETE,
        "moveto": Param("integer", minimum=0)})
    def update_rule(ctx: Ctx, p: dict[str, Any]) -> Any:
        rl.write(ctx, p)
        with change(ctx):
            rules = rl.load(ctx, p)
            assert_if_modified(firewall_schema.list_digest(rules), p.get("digest"))
            pos, moveto = int(p["pos"]), p.get("moveto")
            rule = _at(rules, pos)
            if moveto is not None and moveto != pos:
                rules = _moved(rules, pos, int(moveto))
            else:
                firewall_schema.copy_rule_data(rule, p)
                firewall_schema.delete_rule_properties(rule, split_list(p.get("delete", "")))
                firewall_schema.verify_rule(rule, rl.env, rl.book(ctx, p))
            rl.save(ctx, p, rules)

    @router.route("DELETE", f"{path}/{{pos}}", {**at_pos, "digest": DIGEST})
    def delete_rule(ctx: Ctx, p: dict[str, Any]) -> Any:
        rl.write(ctx, p)
        with change(ctx):
            rules = rl.load(ctx, p)
            assert_if_modified(firewall_schema.list_digest(rules), p.get("digest"))
            _at(rules, int(p["pos"]))
            del rules[int(p["pos"])]
            rl.save(ctx, p, rules)
