"""A security control, as every control catalogue (deploys/controls.py, deploys/*controls.py)
declares it and partilha reads it: an ID, a title, an impact, a rationale, the benchmarks it maps
to, and the hosts it applies to (with why not elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["all", "nodes", "guests"]


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    impact: float  # 0.0-1.0, as dev-sec and InSpec grade it
    rationale: str
    devsec: tuple[str, ...] = ()
    cis: tuple[str, ...] = ()
    hosts: Scope = "all"
    out_of_scope: str = ""  # why hosts outside `hosts` are exempt
    in_container: str | None = None  # None: applies in containers too; else why it cannot

    def not_applicable(self, kind: str, container: bool) -> str | None:
        """Why the control does not apply to a host of this kind, or None if it does."""
        if self.hosts != "all" and f"{kind}s" != self.hosts:
            return self.out_of_scope
        if container and self.in_container:
            return self.in_container
        return None
