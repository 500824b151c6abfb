"""A run shown as it happens: one live line per stack (what is under way, how long), one printed
line per resource that changed (or would, for preview; or drifted, for refresh), and each stack's
tally when it ends. Unchanged resources are only counted, so a no-op run stays short.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from partilha.automation.engine import Op
from partilha.automation.envs import StackSpec
from partilha.automation.operation import StackResult
from partilha.automation.steps import ResourceStep, StackSteps

SYMBOL = {"create": ("+", "green"), "update": ("~", "yellow"), "replace": ("+-", "magenta"),
          "delete": ("-", "red"), "drift": ("~", "yellow"), "gone": ("-", "red"),
          "read": (">", "cyan"), "import": ("=", "cyan")}
# How each op reads in a tally: done, or planned (preview)
FOUND = {"drift": "drifted", "gone": "gone"}
WORDS: dict[str, Mapping[str, str]] = {
    "done": {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted",
             **FOUND},
    "preview": {"create": "to create", "update": "to update", "replace": "to replace",
                "delete": "to delete", **FOUND},
}
RUNNING_SHOWN = 3


def _words(op: Op) -> Mapping[str, str]:
    return WORDS.get(op, WORDS["done"])


def tally(op: Op, counts: Mapping[str, int]) -> str:
    """"3 created, 1 updated, 40 unchanged": every op that happened, unchanged last."""
    words = _words(op)
    order = [*SYMBOL, *sorted(set(counts) - set(SYMBOL))]
    parts = [f"{counts[o]} {words.get(o, o)}" for o in order if o != "same" and counts.get(o)]
    if counts.get("same"):
        parts.append(f"{counts['same']} unchanged")
    return ", ".join(parts) or "nothing"


def step_line(op: Op, stack: str, step: ResourceStep) -> str:
    """One resource's line (rich markup)."""
    symbol, colour = SYMBOL.get(step.op, ("?", "white"))
    if step.failed:
        symbol, colour = "✗", "red"
    what = f"{step.type} {escape(step.name)}"
    if step.changes:
        what += ": " + ", ".join(escape(k) for k in step.changes)
    verb = "failed" if step.failed else _words(op).get(step.op, step.op)
    took = f" ({step.seconds:.1f} s)" if op != "preview" and step.seconds >= 0.05 else ""
    return f"  [dim]{escape(stack)}[/] [{colour}]{symbol}[/] {what} [dim]{verb}{took}[/]"


class RichProgress:
    """The Reporter the CLI uses; a context manager around rich's live display."""

    def __init__(self, console: Console, op: Op) -> None:
        self.console, self.op = console, op
        self.live = Progress(SpinnerColumn(finished_text=" "), TextColumn("[bold]{task.fields[stack]}"),
                             TextColumn("{task.description}"), TimeElapsedColumn(), console=console)
        self.tasks: dict[str, TaskID] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self.live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.live.stop()

    def started(self, stack: StackSpec) -> None:
        with self.lock:
            self.tasks[stack.name] = self.live.add_task("starting", total=1, stack=stack.name)

    def event(self, stack: StackSpec, steps: StackSteps, finished: ResourceStep | None) -> None:
        if finished is not None and (finished.op != "same" or finished.failed):
            self.live.console.print(step_line(self.op, stack.name, finished), soft_wrap=True)
        running = steps.running()
        doing = ", ".join(f"{op} {escape(name)}" for op, name in running[:RUNNING_SHOWN])
        if len(running) > RUNNING_SHOWN:
            doing += f" +{len(running) - RUNNING_SHOWN}"
        self.live.update(self.tasks[stack.name], description=f"[dim]{tally(self.op, steps.counts)}[/]"
                         + (f" · {doing}" if doing else ""))

    def finished(self, result: StackResult) -> None:
        if result.error:
            text = f"[red]✗ {self.op} failed[/]"
        elif result.absent:
            text = "[dim]holds nothing: nothing to do[/]"
        else:
            text = f"[green]✓[/] {tally(self.op, result.counts)}"
        self.live.update(self.tasks[result.stack.name], description=text, completed=1)
