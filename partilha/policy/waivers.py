"""Which waiver of the inventory covers a finding, and waivers that name no rule of the pack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from partilha.inventory.source import read_yaml
from partilha.inventory.waivers import Waiver


def covering(waivers: Iterable[Waiver], rule: str, stack: str, resource: str) -> list[Waiver]:
    """The waivers naming this rule and resource (and this stack, when they name one)."""
    return [w for w in waivers
            if w.rule == rule and w.resource == resource and w.stack in (None, stack)]


def active(waivers: Iterable[Waiver], today: dt.date) -> Waiver | None:
    return next((w for w in waivers if w.active(today)), None)


def describe(waiver: Waiver) -> str:
    return f"waived by {waiver.who} until {waiver.until.isoformat()}: {waiver.why}"


def unknown_rules(folder: Path, waivers: list[Waiver], rule_ids: set[str]) -> list[str]:
    """`file:line: waivers[i].rule: ...` for each waiver naming a rule the pack does not have."""
    source = next((s for s in map(read_yaml, sorted(folder.glob("*.y*ml"))) if "waivers" in s.data), None)
    problems = []
    for i, waiver in enumerate(waivers):
        if waiver.rule not in rule_ids:
            line = source.line_of(("waivers", i, "rule")) if source else None
            where = f"{source.path}:{line}" if source else str(folder)
            problems.append(f"{where}: waivers[{i}].rule: {waiver.rule} is not a rule of the policy "
                            f"pack ({', '.join(sorted(rule_ids))})")
    return problems
