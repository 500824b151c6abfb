"""What a runbook is: a module in backup/runbooks/<name>.py with a docstring (its title is the
first line), `PARAMS` (its command-line arguments), `prepare(run)` (read-only: resolves the
concrete objects into `run.facts` and names the guests it locks), `steps(run)` (its steps, in
order) and, for a drill whose throwaways a stopped run leaves behind, `clean(run)` (removes them
and returns what it did and proved, in one line; `dr clean RUN-ID`). A newcomer writes one from
the others without opening the engine."""

from __future__ import annotations

import argparse
import difflib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from partilha.errors import UserError
from partilha.workspace import CHECKOUT

if TYPE_CHECKING:
    from partilha.dr.context import Run

RUNBOOKS = CHECKOUT / "backup" / "runbooks"


class StepError(Exception):
    """A precondition or verification that does not hold, or an action that could not finish:
    one line naming what (the step stops, the run can be resumed)."""


def _nothing(run: Run) -> list[str]:
    return []


def _holds(run: Run) -> None:
    return None


@dataclass(frozen=True)
class Step:
    id: str  # RB-<runbook>-<nn>, never reused
    title: str
    action: Callable[[Run], str]  # does the work; returns what it did, in one line
    verification: Callable[[Run], list[str]]  # the checks that prove it (raises StepError)
    precondition: Callable[[Run], None] = _holds  # raises StepError naming what is missing
    touches: Callable[[Run], list[str]] = _nothing  # the concrete objects, for `dr plan`
    destructive: bool = False  # asks first (unless --yes)


@dataclass(frozen=True)
class Param:
    """A command-line argument: `guest` (positional) or `--at` (an option; `flag` for a switch)."""

    name: str
    help: str
    flag: bool = False
    choices: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Runbook:
    name: str
    module: ModuleType

    @property
    def title(self) -> str:
        return (self.module.__doc__ or self.name).strip().splitlines()[0]

    @property
    def params(self) -> list[Param]:
        return list(getattr(self.module, "PARAMS", ()))

    def parse(self, args: Sequence[str]) -> dict[str, Any]:
        """The arguments given after the runbook's name; a bad one is one line naming it."""
        parser = _Parser(prog=f"partilha dr run {self.name}", add_help=False)
        for p in self.params:
            if p.flag:
                parser.add_argument(p.name, action="store_true", help=p.help)
            else:
                parser.add_argument(p.name, help=p.help, choices=list(p.choices) or None)
        return vars(parser.parse_args(list(args)))

    def prepare(self, run: Run) -> None:
        self.module.prepare(run)

    @property
    def clean(self) -> Callable[[Run], str] | None:
        """What removes everything a stopped run of it left, if it leaves anything of its own."""
        return getattr(self.module, "clean", None)

    def steps(self, run: Run) -> list[Step]:
        steps = list(self.module.steps(run))
        ids = [s.id for s in steps]
        if len(set(ids)) != len(ids):
            raise UserError(f"runbook {self.name}: two steps share an ID ({', '.join(ids)})")
        return steps


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UserError(f"{self.prog}: {message}")


def folder(given: Path | None) -> Path:
    return given or RUNBOOKS


def names(where: Path | None = None) -> list[str]:
    return sorted(p.stem for p in folder(where).glob("*.py") if not p.name.startswith("_"))


def load(name: str, where: Path | None = None) -> Runbook:
    """The runbook `name` (its file `<name>.py`); an unknown name is one line with the closest."""
    known = names(where)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=2)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known) or 'none'}"
        raise UserError(f"no runbook {name!r} in {folder(where)}; {hint}")
    path = folder(where) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"partilha_runbook_{name.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for needed in ("prepare", "steps"):
        if not callable(getattr(module, needed, None)):
            raise UserError(f"{path}: a runbook defines `{needed}(run)`")
    return Runbook(name, module)
