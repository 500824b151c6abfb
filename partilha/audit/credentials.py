"""(f) The credentials each stack acts with: `partilha up`'s root@pam preflight (PTL-POL-IAM-03)
run for every stack of the env, and every waiver of the inventory with whether it is in force."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from partilha.audit.model import Evidence, Item
from partilha.automation.envs import Env
from partilha.automation.policy_gate import ROOT, check_root
from partilha.errors import UserError
from partilha.policy.rule import Rule

SOURCE = "`partilha up`'s preflight (partilha.automation.policy_gate.check_root), credentials of {stack}"


def root_item(env: Env, rule: Rule) -> Item:
    rows = []
    for spec in env.stacks:
        source, at = SOURCE.format(stack=spec.name), time.time()
        if env.lab:
            rows.append(Evidence(spec.name, "not applicable", f"a lab env: {ROOT} is the lab's own "
                                 "administrator; the rule holds outside the lab", source, at))
            continue
        try:
            config = {**env.config(spec), **(env.plain_config(spec) or {})}
            check_root(env, spec, config, os.environ)
            user = env.endpoint(spec, config, os.environ).user
        except UserError as exc:
            failed = str(exc).startswith(rule.id)
            rows.append(Evidence(spec.name, "failed" if failed else "not proven", str(exc), source, at))
            continue
        rows.append(Evidence(spec.name, "passed", f"acts as {user}, not {ROOT}", source, at))
    return Item(rule.id, rule.title, "credentials", rule.enforcement == "mandatory", rule.controls,
                tuple(rows))


def waivers(env: Env, today: dt.date) -> list[dict[str, Any]]:
    """Every waiver of the inventory, with whether it is in force today."""
    return [{"rule": w.rule, "resource": w.resource, "stack": w.stack, "who": w.who, "why": w.why,
             "until": w.until.isoformat(), "in_force": w.active(today)} for w in env.inventory.waivers]
