"""The drift `partilha refresh` found: which resource, which property, what the state recorded and
what the live object has now; or that the object is gone. The next `partilha up` puts back
what the inventory says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from rich.table import Table

from partilha.automation.operation import StackResult

SHOWN = 60  # characters of a value in the report


@dataclass(frozen=True)
class Drift:
    stack: str
    resource: str  # "Guest abrantes-portal"
    property: str  # "" when the object is gone
    recorded: Any = None
    live: Any = None


def drift(results: Iterable[StackResult]) -> list[Drift]:
    found = []
    for result in results:
        for step in result.steps:
            resource = f"{step.type} {step.name}"
            if step.op == "gone":
                found.append(Drift(result.stack.name, resource, ""))
            elif step.op == "drift":
                found += [Drift(result.stack.name, resource, key, before, after)
                          for key, (before, after) in step.changes.items()]
    return found


def table(found: list[Drift]) -> Table:
    out = Table("stack", "resource", "property", "recorded", "live", title="drift")
    for d in found:
        if d.property:
            out.add_row(d.stack, escape(d.resource), escape(d.property), _value(d.recorded), _value(d.live))
        else:
            out.add_row(d.stack, escape(d.resource), "[red](gone)[/]", "", "")
    return out


def _value(value: Any) -> str:
    text = repr(value)
    return escape(text if len(text) <= SHOWN else text[: SHOWN - 1] + "…")
