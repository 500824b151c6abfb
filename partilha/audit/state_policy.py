"""(a) The pack's rules over what exists now: every stack refreshed (each resource read back from
Proxmox VE into the state, as `partilha refresh` does: an out-of-band change is in the state
after it), its state exported, and the pack run over that export by `pulumi policy analyze`
(partilha.audit.analyzer). One item per rule, one evidence row per stack it runs in and per finding."""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from partilha.audit.analyzer import Diagnostic, analyze
from partilha.audit.model import Evidence, Item
from partilha.automation import operation
from partilha.automation.envs import Env, StackSpec
from partilha.automation.operation import StackResult
from partilha.automation.policy_gate import PACK
from partilha.errors import UserError
from partilha.policy.pack import WAIVED
from partilha.policy.rule import TYPE_PREFIX, ResourceRule, Rule

TIMEOUT = 300
WORKERS = 4  # stacks analysed at once
SOURCE = ("`partilha refresh`, `pulumi stack export --stack {stack}`, "
          "`pulumi policy analyze --file <export> --policy-pack policies`")


def export(env: Env, stack: str) -> dict[str, Any]:
    """A stack's state, as `pulumi stack export` gives it (secrets encrypted)."""
    proc = subprocess.run([str(env.workspace.tools_bin / "pulumi"), "stack", "export", "--stack", stack],
                          cwd=env.project, env=env.workspace.pulumi_env(), capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "pulumi failed"
        raise UserError(f"stack {stack}: cannot export its state ({why})")
    state: dict[str, Any] = json.loads(proc.stdout)
    return state


def _analysed(env: Env, spec: StackSpec, refreshed: StackResult | None) -> tuple[list[dict[str, Any]],
                                                                                 list[Diagnostic], float]:
    if refreshed is None:
        raise UserError(f"{spec.name}: not refreshed (a stack it depends on failed to refresh)")
    if refreshed.error:
        raise UserError(f"{spec.name}: refresh failed: {refreshed.error}")
    state = export(env, spec.name)
    config = {**env.config(spec), **(env.plain_config(spec) or {})}
    found = analyze(env.workspace, PACK, spec.name, config, state)
    return list((state.get("deployment") or {}).get("resources") or []), found, time.time()


def items(env: Env, rules: list[Rule], holding: set[str]) -> list[Item]:
    runs = operation.run(env, "refresh", list(env.stacks), operation.Unshown())
    refreshed = {r.stack.name: r for r in runs}
    checked = [r for r in rules if r.roles]

    def of_stack(spec: StackSpec) -> list[tuple[str, list[Evidence]]]:
        source = SOURCE.format(stack=spec.name)
        mine = [r for r in checked if spec.role in r.roles]
        try:
            if spec.name not in holding:
                raise UserError("the stack has no state yet")
            resources, found, at = _analysed(env, spec, refreshed.get(spec.name))
        except UserError as exc:
            return [(r.id, [Evidence(spec.name, "not proven", str(exc), source, time.time())]) for r in mine]
        return [(r.id, _rows(r, spec.name, resources, found, source, at)) for r in mine]

    evidence: dict[str, list[Evidence]] = defaultdict(list)
    with ThreadPoolExecutor(WORKERS) as pool:  # each stack's export and pack process side by side
        for rows in pool.map(of_stack, env.stacks):
            for rule_id, found in rows:
                evidence[rule_id] += found
    return [Item(r.id, r.title, "policy rule", r.enforcement == "mandatory", r.controls,
                 tuple(evidence[r.id])) for r in checked]


def _rows(rule: Rule, stack: str, resources: list[dict[str, Any]], found: list[Diagnostic], source: str,
          at: float) -> list[Evidence]:
    def subject(urn: str) -> str:
        return f"{stack} {urn.rsplit('::', 1)[1]}" if urn and "::pulumi:pulumi:Stack::" not in urn else stack

    failed = [Evidence(subject(d.urn), "failed", d.message, source, at) for d in found if d.rule == rule.id]
    waived = [Evidence(subject(d.urn), "not applicable", f"waived: {d.message.removeprefix(rule.id + ': ')}",
                       source, at)
              for d in found if d.rule == WAIVED and d.message.startswith(f"{rule.id}: ")]
    if failed or waived:
        return failed + waived
    ours = [r for r in resources if str(r.get("type", "")).startswith(TYPE_PREFIX)]
    if isinstance(rule, ResourceRule):
        ours = [r for r in ours if r["type"] == TYPE_PREFIX + rule.kind]
        if not ours:
            return [Evidence(stack, "not applicable", f"no {rule.kind} in the stack's state", source, at)]
    return [Evidence(stack, "passed", f"no finding over {len(ours)} resources"
                     + (f" of kind {rule.kind}" if isinstance(rule, ResourceRule) else ""), source, at)]
