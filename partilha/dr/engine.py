"""Running a runbook: `plan` (reads only), `start` (a new run: journal, locks, steps), `resume`
(the steps not done yet; a step cut short is verified first and not redone if its verification
already holds) and `clean` (a stopped run given up: what it left removed, its locks released)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from partilha.dr import lock, report
from partilha.dr.context import Run
from partilha.dr.journal import Journal, StepRecord, dr_root
from partilha.dr.runbook import Runbook, Step, load
from partilha.errors import UserError
from partilha.workspace import Workspace


def plan(runbook: Runbook, argv: list[str], env: str, console: Console) -> None:
    """Every step with the concrete objects it will touch; the API is read, never written."""
    run = Run("plan", runbook.name, runbook.parse(argv), env, {}, planning=True,
              log=lambda line: console.print(f"[dim]{escape(line)}[/]", soft_wrap=True))
    runbook.prepare(run)
    console.print(f"[bold]dr plan {escape(runbook.name)} {escape(' '.join(argv))}[/]: "
                  f"{escape(runbook.title)}", soft_wrap=True)
    for step in runbook.steps(run):
        mark = " [bold red](destructive: asks first)[/]" if step.destructive else ""
        console.print(f"{step.id} {escape(step.title)}{mark}", soft_wrap=True)
        for line in step.touches(run):  # whole, never wrapped: names to copy
            console.print(f"    {escape(line)}", soft_wrap=True)
    console.print(f"locks: {', '.join(run.facts.get('guests', [])) or 'nothing'}; nothing was changed")


def start(runbook: Runbook, argv: list[str], env: str, disaster_at: float | None, yes: bool,
          console: Console) -> Journal:
    now = time.time()
    run = Run(Journal.new_id(runbook.name, now), runbook.name, runbook.parse(argv), env, {},
              log=_logger(console))
    root = dr_root(Workspace.find())
    run.folder = root / "runs" / run.id
    runbook.prepare(run)
    steps = runbook.steps(run)
    if not yes and not sys.stdin.isatty() and any(s.destructive for s in steps):
        raise UserError(f"runbook {runbook.name} has destructive steps "
                        f"({', '.join(s.id for s in steps if s.destructive)}); confirm with --yes")
    journal = Journal(run.id, runbook.name, list(argv), run.args, env, now,
                      disaster_at if disaster_at is not None else now,
                      "--disaster-at" if disaster_at is not None else "the run's start",
                      run.facts, [StepRecord(s.id, s.title, s.destructive) for s in steps])
    lock.acquire(root, run.id, runbook.name, run.facts.get("guests", []))
    journal.save(root)
    console.print(f"[bold]dr run {run.id}[/]: {escape(runbook.title)}", soft_wrap=True)
    return _execute(run, steps, journal, root, yes, console)


def resume(run_id: str, runbook_folder: Path | None, yes: bool, console: Console) -> Journal:
    root, journal, book, run = _reopened(run_id, runbook_folder, console)
    steps = book.steps(run)
    if [s.id for s in steps] != [r.id for r in journal.steps]:
        raise UserError(f"runbook {book.name} changed since run {run_id} started: its steps differ")
    lock.acquire(root, run_id, book.name, journal.facts.get("guests", []))
    console.print(f"[bold]dr resume {run_id}[/]", soft_wrap=True)
    return _execute(run, steps, journal, root, yes, console)


def clean(run_id: str, runbook_folder: Path | None, console: Console) -> Journal:
    """Give up a stopped run instead of resuming it: its runbook's `clean` removes what the run
    left, then its locks are released and it ends `abandoned` (it cannot be resumed)."""
    root, journal, book, run = _reopened(run_id, runbook_folder, console)
    if book.clean is None:
        raise UserError(f"runbook {book.name} leaves nothing of its own to clean: `partilha dr resume "
                        f"{run_id}` finishes the run")
    with lock.running(journal.folder(root), run_id):
        with console.status(f"dr clean {run_id}"):
            said = book.clean(run)
        journal.outcome, journal.finished = "abandoned", time.time()
        journal.save(root)
        lock.release(root, run_id, journal.facts.get("guests", []))
    paths = report.write(journal, journal.folder(root))
    console.print(f"[bold]dr run {run_id} abandoned[/]: {escape(said)}", soft_wrap=True)
    console.print(f"report: {escape(str(paths[0]))} (also .json, .html)", soft_wrap=True)
    return journal


def _reopened(run_id: str, runbook_folder: Path | None,
              console: Console) -> tuple[Path, Journal, Runbook, Run]:
    """A stopped run taken up again (to resume or to clean): its journal, runbook and Run."""
    root = dr_root(Workspace.find())
    journal = Journal.load(root, run_id)
    if journal.outcome == "succeeded":
        raise UserError(f"dr run {run_id} already succeeded; `partilha dr report {run_id}`")
    if journal.outcome == "abandoned":
        raise UserError(f"dr run {run_id} was abandoned (`dr clean`); start a new run")
    book = load(journal.runbook, runbook_folder)
    run = Run(run_id, book.name, journal.args, journal.env, journal.facts, log=_logger(console),
              folder=journal.folder(root))
    return root, journal, book, run


def _logger(console: Console) -> report.Log:
    return lambda line: console.print(f"  [dim]{escape(line)}[/]", soft_wrap=True)


def _execute(run: Run, steps: list[Step], journal: Journal, root: Path, yes: bool,
             console: Console) -> Journal:
    with lock.running(journal.folder(root), run.id):
        journal.outcome = "running"
        for step, record in zip(steps, journal.steps, strict=True):
            if record.state == "done":
                console.print(f"[dim]{step.id} {escape(step.title)}: done before[/]", soft_wrap=True)
                continue
            if record.state == "running" and _verified(run, step, record):
                console.print(f"[green]✓[/] {step.id} {escape(step.title)}: had finished before the "
                              "interruption (its verification holds)", soft_wrap=True)
                journal.save(root)
                continue
            if step.destructive and not yes and not _confirmed(run, step):
                record.state, journal.outcome = "declined", "paused"
                journal.save(root)
                raise UserError(f"{step.id} declined: nothing more was done; `partilha dr resume "
                                f"{run.id}` continues from it")
            _step(run, step, record, journal, root, console)
        journal.outcome, journal.finished = "succeeded", time.time()
        journal.save(root)
        lock.release(root, run.id, journal.facts.get("guests", []))
    paths = report.write(journal, journal.folder(root))
    console.print(f"[bold green]dr run {run.id} succeeded[/] — {report.summary(journal)}", soft_wrap=True)
    console.print(f"report: {escape(str(paths[0]))} (also .json, .html)", soft_wrap=True)
    if journal.facts.get("unrecoverable"):  # a drill that ran to its end and found bad backups
        raise UserError("not recoverable: " + " | ".join(journal.facts["unrecoverable"]))
    return journal


def _verified(run: Run, step: Step, record: StepRecord) -> bool:
    try:
        record.checks = step.verification(run)
    except Exception:  # not done yet: the step runs again
        return False
    record.state, record.finished, record.result = "done", time.time(), "finished before the interruption"
    return True


def _confirmed(run: Run, step: Step) -> bool:
    touches = "; ".join(step.touches(run))
    return typer.confirm(f"{step.id} {step.title} ({touches}): go ahead?", default=False)


def _step(run: Run, step: Step, record: StepRecord, journal: Journal, root: Path,
          console: Console) -> None:
    record.state, record.started, record.error = "running", time.time(), ""
    journal.save(root)
    try:
        with console.status(f"{step.id} {escape(step.title)}"):
            step.precondition(run)
            record.result = step.action(run)
            journal.save(root)  # the facts the action recorded
            record.checks = step.verification(run)
    except KeyboardInterrupt:
        journal.outcome = "interrupted"
        journal.save(root)
        raise UserError(f"{step.id} interrupted; `partilha dr resume {run.id}` continues it", 130) from None
    except Exception as exc:  # any failure stops the run, which can be resumed
        why = (str(exc) or type(exc).__name__).splitlines()[0]
        record.state, record.finished, record.error = "failed", time.time(), why
        journal.outcome = "failed"
        journal.save(root)
        report.write(journal, journal.folder(root))
        raise UserError(f"{step.id} {step.title} failed: {record.error}; when fixed, "
                        f"`partilha dr resume {run.id}`") from None
    record.state, record.finished = "done", time.time()
    journal.save(root)
    console.print(f"[green]✓[/] {step.id} {escape(step.title)} ({record.seconds:.1f} s): "
                  f"{escape(record.result)}", soft_wrap=True)
