"""The policy pack (`policies/`) around `partilha up` and `partilha preview`.

- Every preview runs with the pack; its results (rule, level, stack, resource, why; waived
  findings as PTL-POL-WAIVED) are collected from the engine's policy events.
- `up` first previews every selected stack with the pack and starts none if any has a mandatory
  violation (UserError naming each). A municipality or shared stack that cannot be previewed yet
  because its platform stack, in the same run, holds nothing so far is previewed again right
  before its wave, before it writes anything.
- Before any preview: the pack's rules load, the inventory's waivers name rules of the pack, and
  no stack outside the lab acts as root@pam (PTL-POL-IAM-03).
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pulumi import automation as auto
from rich.table import Table

from partilha.automation.envs import Env, StackSpec
from partilha.errors import UserError
from partilha.policy.pack import WAIVED
from partilha.policy.rule import Rule
from partilha.policy.waivers import unknown_rules
from partilha.workspace import CHECKOUT

PACK = CHECKOUT / "policies"
ROOT = "root@pam"


@dataclass(frozen=True)
class PolicyResult:
    stack: str
    rule: str
    level: str  # mandatory, advisory
    resource: str  # the resource's name, or the stack's
    message: str

    @property
    def blocks(self) -> bool:
        return self.level == "mandatory"

    def line(self) -> str:
        return f"{self.rule} [{self.level}] {self.stack} {self.resource}: {self.message}"


def result(stack: str, event: auto.EngineEvent) -> PolicyResult | None:
    policy = event.policy_event
    if policy is None:
        return None
    urn = policy.resource_urn or ""
    resource = stack if not urn or "::pulumi:pulumi:Stack::" in urn else urn.rsplit("::", 1)[1]
    # the engine prefixes the rule's description: keep what the finding says
    message = policy.message.strip().splitlines()[-1].strip()
    return PolicyResult(stack, policy.policy_name, str(policy.enforcement_level).lower().rsplit(".", 1)[-1],
                        resource, message)


def load_rules(pack: Path = PACK) -> list[Rule]:
    """The pack's rules, imported here; a pack that does not load is one line saying why."""
    name = "partilha_policy_rules"
    spec = importlib.util.spec_from_file_location(name, pack / "rules" / "__init__.py",
                                                  submodule_search_locations=[str(pack / "rules")])
    if spec is None or spec.loader is None:
        raise UserError(f"{pack}: no policy pack rules ({pack / 'rules' / '__init__.py'})")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        return list(module.RULES)
    except Exception as exc:  # the pack is the user's content: say where it broke
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = getattr(exc, "filename", None) and f"{exc.filename}:{exc.lineno}"  # type: ignore[attr-defined]
        where = where or (f"{frame.filename}:{frame.lineno}" if frame else str(pack))
        raise UserError(f"{where}: the policy pack does not load: {type(exc).__name__}: "
                        f"{getattr(exc, 'msg', None) or exc}") from None
    finally:  # imported afresh each time: the pack is content a user edits
        for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[loaded]


def check_inputs(env: Env) -> None:
    """The pack loads and the inventory's waivers name its rules."""
    rules = load_rules()
    folder = CHECKOUT / env.inventory_path  # an absolute path stays itself
    problems = unknown_rules(folder, env.inventory.waivers, {r.id for r in rules})
    if problems:
        raise UserError("\n".join(problems))


def check_root(env: Env, stack: StackSpec, config: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """PTL-POL-IAM-03: outside a lab env, a stack's credentials are not root@pam's."""
    if env.lab:
        return
    if env.endpoint(stack, config, environ).user == ROOT:
        raise UserError(f"PTL-POL-IAM-03: {stack.name} would act as {ROOT}; use a named, revocable "
                        "administrator token (README, For auditors)")


def blocking(results: list[PolicyResult]) -> None:
    """UserError naming every mandatory violation, when there is one."""
    stops = [r for r in results if r.blocks]
    if stops:
        raise UserError("the policy pack stops this change; no stack was started:\n"
                        + "\n".join(f"  {r.line()}" for r in stops))


def table(results: list[PolicyResult]) -> Table:
    shown = Table(title="policy results", title_justify="left")
    for column in ("rule", "level", "stack", "resource", "finding"):
        shown.add_column(column, overflow="fold")
    for r in results:
        level = "waived" if r.rule == WAIVED else r.level
        shown.add_row(r.rule, level, r.stack, r.resource, r.message)
    return shown
