"""What an audit is made of: evidence rows (what was seen, by which command or API call, when),
items (a policy rule or a test) holding them and mapped to framework controls, and how statuses
fold: a failure anywhere fails; else anything unproven leaves it not proven; else one pass passes;
nothing in scope is "not applicable", never "passed"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from partilha.policy.rule import Control

Status = Literal["passed", "failed", "not applicable", "not proven"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "not applicable", "not proven")
# the summary's frameworks, and the pack's framework names each gathers
FRAMEWORKS: dict[str, tuple[str, ...]] = {"NIS2": ("NIS2",), "ISO 27001": ("ISO/IEC 27001:2022",),
                                          "RGPD": ("RGPD",), "CIS": ("CIS Debian 12",)}


@dataclass(frozen=True)
class Evidence:
    subject: str  # the resource, host, guest or token it is about
    status: Status
    detail: str  # what was seen
    source: str  # the command or API call that produced it
    at: float  # when (epoch seconds)


@dataclass(frozen=True)
class Item:
    """A rule of the pack or a test: what it checks, the controls it proves, its evidence."""

    id: str
    title: str
    kind: str  # "policy rule", "host control", "access", "network", "backups", "credentials"
    mandatory: bool
    controls: tuple[Control, ...]
    evidence: tuple[Evidence, ...] = field(default=())

    @property
    def status(self) -> Status:
        return fold(e.status for e in self.evidence)


def fold(statuses: Iterable[Status]) -> Status:
    seen = set(statuses)
    order: tuple[Status, ...] = ("failed", "not proven", "passed")
    for status in order:
        if status in seen:
            return status
    return "not applicable"


def framework_of(control: Control) -> str | None:
    """The summary framework a control counts in (None: dev-sec, which CIS refs stand for)."""
    return next((name for name, names in FRAMEWORKS.items() if control.framework in names), None)
