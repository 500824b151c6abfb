"""An audit of one env: what is checked before any evidence is gathered (the env, its
credentials, some state), then every source in turn, each timed."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulumi import automation as auto

from partilha.audit import access, backups, credentials, hosts, network, state_policy
from partilha.audit.freshness import MAX_AGE_HOURS
from partilha.audit.model import Item
from partilha.automation import preflight, project
from partilha.automation.envs import Env, StackSpec
from partilha.automation.policy_gate import check_inputs, load_rules
from partilha.errors import UserError
from partilha.policy.rule import Rule


@dataclass
class Audit:
    env: str
    inventory: str
    started: float
    items: list[Item] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per evidence source
    finished: float = 0.0

    @property
    def failed(self) -> list[Item]:
        """The mandatory items that failed: they fail the audit."""
        return [i for i in self.items if i.mandatory and i.status == "failed"]

    @property
    def unproven(self) -> list[Item]:
        return [i for i in self.items if i.status == "not proven"]


def holding(env: Env) -> set[str]:
    """The env's stacks that hold resources; none at all is one clear line."""
    listed = auto.LocalWorkspace(work_dir=str(env.project), env_vars=project.run_env(),
                                 pulumi_command=project.pulumi_command()).list_stacks()
    mine = {s.name for s in env.stacks}
    found = {s.name for s in listed if s.name in mine and s.resource_count}
    if not found:
        raise UserError(f"env {env.name}: no stack has any state yet, nothing to audit "
                        f"(`partilha up --env {env.name}` first)")
    return found


def _rule(rules: list[Rule], rule_id: str) -> Rule:
    found = next((r for r in rules if r.id == rule_id), None)
    if found is None:
        raise UserError(f"policies/: the audit maps its evidence to rule {rule_id}, which the pack lacks")
    return found


def audit_env(env: Env, max_age_hours: float = MAX_AGE_HOURS,
              on_source: Callable[[str], None] = lambda _: None) -> Audit:
    # one line before any evidence: a production env without credentials (it never falls back to
    # the lab's), no state yet, a lab that is down
    platform = StackSpec(env.name, "platform")
    config = {**env.config(platform), **(env.plain_config(platform) or {})}
    env.endpoint(platform, config, os.environ)
    check_inputs(env)
    rules = load_rules()
    stacks = holding(env)
    preflight.check(env, platform, config, os.environ)
    done = Audit(env.name, env.inventory_path, time.time())
    max_age = max_age_hours * 3600
    controls = {rid: _rule(rules, rid).controls
                for rid in ("PTL-POL-IAM-02", "PTL-POL-NET-01", "PTL-POL-BKP-01")}
    root = _rule(rules, "PTL-POL-IAM-03")
    sources: dict[str, Callable[[], list[Item]]] = {
        "policy pack over the stacks' state": lambda: state_policy.items(env, rules, stacks),
        "controls on every host (verify)": lambda: hosts.items(env, max_age),
        "access matrix (API calls)": lambda: [access.item(env, controls["PTL-POL-IAM-02"])],
        "network isolation (probe)": lambda: [network.item(env, controls["PTL-POL-NET-01"], max_age)],
        "backups (backup status, verify-backups)": lambda: backups.items(env, controls["PTL-POL-BKP-01"]),
        "credentials (root@pam preflight)": lambda: [credentials.root_item(env, root)],
    }
    for name, items_of in sources.items():
        on_source(name)
        started = time.monotonic()
        done.items += items_of()
        done.seconds[name] = time.monotonic() - started
    done.waivers = credentials.waivers(env, dt.datetime.now(dt.UTC).date())
    done.finished = time.time()
    return done
