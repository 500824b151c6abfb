"""Running an operation (up, preview, refresh, destroy) over an env's stacks through the Automation
API: wave by wave (platform, the municipalities side by side, shared; destroy in reverse), each
stack with its own config and credentials, checked first, stopping after a wave in which a stack
failed; as a recorded run (partilha.automation.runs: what a killed earlier run left is cleared
first, and a stopped one ends its engine processes).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from pulumi import automation as auto

from partilha.automation import engine, policy_gate, preflight, project, runs
from partilha.automation.engine import Op
from partilha.automation.envs import Env, StackSpec, waves
from partilha.automation.steps import ResourceStep, StackSteps
from partilha.errors import UserError


@dataclass
class StackResult:
    stack: StackSpec
    op: Op
    counts: Counter[str] = field(default_factory=Counter)  # finished resource steps by op
    steps: list[ResourceStep] = field(default_factory=list)
    seconds: float = 0.0
    outputs: dict[str, Any] | None = None
    error: str | None = None
    absent: bool = False  # refresh/destroy of a stack that holds nothing
    policy: list[policy_gate.PolicyResult] = field(default_factory=list)  # the pack's results
    offline: list[str] = field(default_factory=list)  # its guests on offline nodes, left as they are

    @property
    def changes(self) -> dict[str, int]:
        """Its finished resource steps by op, but those that left their resource the same."""
        return {o: n for o, n in self.counts.items() if o != "same"}


class Reporter(Protocol):
    """Shows a run as it happens (partilha.automation.progress)."""

    def started(self, stack: StackSpec) -> None: ...
    def event(self, stack: StackSpec, steps: StackSteps, finished: ResourceStep | None) -> None: ...
    def finished(self, result: StackResult) -> None: ...


class Unshown:
    """A run nobody watches: the gate's previews before `up` (their steps are not what `up` will
    do), the audit's refresh."""

    def started(self, stack: StackSpec) -> None: ...
    def event(self, stack: StackSpec, steps: StackSteps, finished: ResourceStep | None) -> None: ...
    def finished(self, result: StackResult) -> None: ...


@dataclass(frozen=True)
class _Run:
    env: Env
    op: Op
    base: dict[str, str]  # the environment every Pulumi process gets
    command: auto.PulumiCommand
    reporter: Reporter
    holding: frozenset[str]  # stacks with resources in their state: refresh and destroy need one
    gating: bool = False  # the policy pack's previews before `up`: no refresh (policies read inputs)


def run(env: Env, op: Op, stacks: list[StackSpec], reporter: Reporter,
        parallel: int = 4) -> list[StackResult]:
    base, command = project.run_env(), project.pulumi_command()
    with runs.recorded(_records(env), [s.name for s in stacks], env.project, command, base) as label:
        base[runs.RUN] = label  # every Pulumi process of this run carries it
        listed = auto.LocalWorkspace(work_dir=str(env.project), env_vars=base, pulumi_command=command)
        holding = frozenset(s.name for s in listed.list_stacks() if s.resource_count)
        this = _Run(env, op, base, command, reporter, holding)
        results: list[StackResult] = []
        if op in ("up", "preview"):
            policy_gate.check_inputs(env)
        # a retired municipality's stack is only destroyed: nothing of it for the pack to check
        gated = [s for s in stacks if not s.retired] if op == "up" else []
        checked = _policy_gate(this, gated, parallel) if gated else {}
        for wave in waves(stacks, destroying=op == "destroy"):
            if unchecked := [s for s in wave if s in gated and s not in checked]:
                checked |= _policy_gate(this, unchecked, parallel, last_chance=True)
            with ThreadPoolExecutor(max(1, min(parallel, len(wave)))) as pool:
                done = list(pool.map(lambda s: _run_one(this, s), wave))
            for r in done:  # what its gate's preview found
                if r.stack in checked:
                    r.policy = checked[r.stack].policy
            results += done
            if any(r.error for r in done):
                break  # later waves depend on this one
        return results


def cancel(env: Env, stacks: list[StackSpec]) -> None:
    """Lift the Pulumi locks on `stacks` (partilha.automation.runs.cancel)."""
    runs.cancel(_records(env), [s.name for s in stacks], env.project, project.pulumi_command(),
                project.run_env())


def _records(env: Env) -> Path:
    return env.workspace.private / "runs"


def _policy_gate(this: _Run, stacks: list[StackSpec], parallel: int,
                 last_chance: bool = False) -> dict[StackSpec, StackResult]:
    """Preview `stacks` with the policy pack before `up` writes anything (policy_gate); the
    previews that cannot run before their platform stack exists, unless `last_chance`, are left
    for right before their wave."""
    preview = replace(this, op="preview", reporter=Unshown(), gating=True)
    with ThreadPoolExecutor(max(1, min(parallel, len(stacks)))) as pool:
        previews = list(pool.map(lambda s: _run_one(preview, s), stacks))
    policy_gate.blocking([p for r in previews for p in r.policy])
    platform_pending = any(s.role == "platform" and s.name not in this.holding for s in stacks)
    waiting = [r for r in previews if r.error and platform_pending and r.stack.role != "platform"]
    failed = [r for r in previews if r.error and (last_chance or r not in waiting)]
    if failed:
        raise UserError("; ".join(f"{r.stack.name}: {r.error}" for r in failed))
    return {r.stack: r for r in previews if r not in waiting}


def _run_one(this: _Run, spec: StackSpec) -> StackResult:
    op, reporter = this.op, this.reporter
    result = StackResult(spec, op)
    started = time.monotonic()
    steps = StackSteps(spec.name)
    reporter.started(spec)
    try:
        if (op in ("refresh", "destroy") or spec.retired) and spec.name not in this.holding:
            result.absent = True  # nothing to read or delete, and maybe no token left to do it with
            if spec.retired and op == "up":  # destroyed already (plain `pulumi destroy`)
                this.env.config_file(spec).unlink(missing_ok=True)
        else:
            stack = _stack(this, spec, result)
            _operate(stack, spec, op, steps, lambda step: reporter.event(spec, steps, step), result,
                     refresh=op in ("up", "preview") and not this.gating)
    except UserError as exc:
        result.error = str(exc)
    except auto.CommandError as exc:
        result.error = steps.error() or _cli_error(exc, spec)
    result.seconds = time.monotonic() - started
    result.counts = steps.found if op == "refresh" else steps.counts
    reporter.finished(result)
    return result


def _stack(this: _Run, spec: StackSpec, result: StackResult) -> auto.Stack:
    """The stack with its run environment (made if missing), once the credentials it will use
    are checked: before anything is made when its config file holds no secret to decrypt."""
    run_env = this.env.run_environ(spec, this.base)
    options = auto.LocalWorkspaceOptions(env_vars=run_env, pulumi_command=this.command)

    def check(config: dict[str, str]) -> None:
        result.offline = preflight.check(this.env, spec, config, {**os.environ, **this.base})
        policy_gate.check_root(this.env, spec, config, {**os.environ, **this.base})

    config = this.env.plain_config(spec)
    if config is not None:
        check(config)
    stack = auto.create_or_select_stack(spec.name, work_dir=str(this.env.project), opts=options)
    if config is None:
        check({k: v.value for k, v in stack.get_all_config().items()})
    if spec.role != "platform" and this.op in ("up", "preview"):
        this.env.workspace.ssh_key(this.env.lab)  # its guests get the key: made (lab) or checked
    return stack


def _operate(stack: auto.Stack, spec: StackSpec, op: Op, steps: StackSteps,
             tell: Callable[[ResourceStep | None], None], result: StackResult, refresh: bool) -> None:
    def on_event(event: auto.EngineEvent) -> None:
        if (found := policy_gate.result(spec.name, event)) is not None:
            result.policy.append(found)
        finished = steps.feed(event)
        if finished is not None:
            result.steps.append(finished)
        tell(finished)

    if spec.retired and op in ("up", "preview"):
        guarded = engine.protected_guests(stack) if op == "up" else []
        if guarded:  # refused before anything of the stack is deleted
            raise UserError(f"{spec.name}: {spec.slug} is no longer in the inventory, but its data "
                            f"guests are protected ({', '.join(guarded)}); nothing was deleted. To "
                            f"let them go: `pulumi state unprotect --stack {spec.name} --all`, then "
                            "`partilha up`")
        engine.run(stack, op, on_event, retire=True)
        if op == "up":  # destroyed: the stack and its config file go, no copy of its state stays
            engine.remove_stack(stack.workspace, stack.name)
        return
    if op == "destroy":
        engine.unprotect_all(stack)  # data guests are protected; destroy was asked for and confirmed
    # Every stack reads its resources back first, as Terraform does: what changed behind its back
    # (a guest deleted through the API, a firewall rule edited, a guest PVE dropped from a backup
    # job or HA when purging it) is put back, not reported as "0 changes". `up` runs what its
    # gate's previews checked with the pack: the engine need not run it again.
    engine.run(stack, op, on_event, refresh=refresh,
               policy_packs=[policy_gate.PACK] if op == "preview" else [])
    if op == "up":
        result.outputs = steps.outputs


def _cli_error(exc: auto.CommandError, spec: StackSpec) -> str:
    """The Pulumi CLI's own complaint (a wrong passphrase, ...): its last error line. A lock is
    one no partilha run recorded (those are cleared or refused before the run): say how to lift it."""
    if "currently locked" in str(exc):
        return (f"{spec.name} is locked by a Pulumi run partilha did not start; once it has ended, "
                f"`partilha cancel --env {spec.env} --only {spec.short}` lifts the lock")
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line[line.index("error:"):] for line in lines if "error:" in line]
    return (errors or lines or ["the Pulumi CLI failed"])[-1]
