"""Which partilha run works on which stacks, so a run killed outright (SIGKILL, a closed
terminal) costs the next one nothing, and a run asked to stop (SIGINT, SIGTERM) stops its engine.

A run writes `.partilha/runs/<id>.json` beside the state: its PID, that PID's start time (a PID
alone may name a later process: partilha.processes) and the stacks it works on; it removes the
file when it ends. Every Pulumi process it starts (the CLI, the language host, the dynamic
providers, whatever their names) inherits RUN=<id> in its environment: found by that label,
never by name, so another program's processes are never touched.

Before a run starts, it looks at the records left:
- a run whose process is alive and works on one of its stacks: refused, naming that PID;
- a run whose process is gone: its leftover processes are ended (SIGTERM, then SIGKILL), the
  Pulumi locks of its stacks cleared (`pulumi cancel`: nothing of it is running any more), and
  its record removed.
A run stopped by SIGINT or SIGTERM ends its own processes and clears its locks the same way.
A lock no partilha run recorded (a plain `pulumi up` killed) is lifted by `partilha cancel`.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from pulumi import automation as auto

from partilha import processes
from partilha.errors import UserError

RUN = "PARTILHA_RUN"


@dataclass(frozen=True)
class Run:
    id: str
    pid: int
    started: int
    stacks: tuple[str, ...]

    @property
    def alive(self) -> bool:
        return processes.alive(self.pid, self.started)


class StoppedError(UserError):
    """The run was asked to stop (SIGINT, SIGTERM); its engine processes are ended."""


def _records(folder: Path) -> Iterator[tuple[Path, Run]]:
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            yield path, Run(str(data["id"]), int(data["pid"]), int(data["started"]), tuple(data["stacks"]))
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # half-written by a run killed while writing it


def _lift(stacks: Iterable[str], project: Path, command: auto.PulumiCommand, environ: dict[str, str]) -> None:
    """Lift the Pulumi locks on `stacks` (the caller knows no run is working on them)."""
    for stack in stacks:
        with suppress(auto.CommandError):  # not locked, or no such stack yet: nothing to lift
            command.run(["cancel", "--yes", "--stack", stack], str(project), environ)


def _clear(run: Run, project: Path, command: auto.PulumiCommand, environ: dict[str, str]) -> None:
    """End what is left of `run` and lift the locks it may have left on its stacks."""
    processes.end(processes.labelled(RUN, run.id))
    _lift(run.stacks, project, command, environ)


def cancel(folder: Path, stacks: list[str], project: Path, command: auto.PulumiCommand,
           environ: dict[str, str]) -> None:
    """`partilha cancel`: lift the locks on `stacks` a run partilha did not record left (a plain
    `pulumi up` killed); refused while a partilha run works on one of them."""
    with recorded(folder, stacks, project, command, environ):
        _lift(stacks, project, command, environ)


@contextmanager
def recorded(folder: Path, stacks: list[str], project: Path, command: auto.PulumiCommand,
             environ: dict[str, str]) -> Iterator[str]:
    """Run on `stacks` as a recorded run (the leftovers of dead runs cleared first); its label's
    value, for the environment of every Pulumi process it starts."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path, earlier in _records(folder):
        if earlier.alive:
            shared = sorted(set(earlier.stacks) & set(stacks))
            if shared:
                raise UserError(f"{shared[0]}: another partilha run (PID {earlier.pid}) is working on "
                                "it; wait for it to end, or stop it (kill -TERM "
                                f"{earlier.pid}) and run this again")
            continue
        _clear(earlier, project, command, environ)
        path.unlink(missing_ok=True)
    started = processes.start_time(os.getpid())
    assert started is not None  # this very process
    this = Run(uuid.uuid4().hex, os.getpid(), started, tuple(stacks))
    record = folder / f"{this.id}.json"
    record.write_text(json.dumps({"id": this.id, "pid": this.pid, "started": this.started,
                                  "stacks": list(this.stacks)}))

    def stop(number: int, _frame: FrameType | None) -> None:
        _clear(this, project, command, environ)
        raise StoppedError(f"stopped by {signal.Signals(number).name}: its Pulumi processes ended "
                           "and the stacks' locks lifted; `partilha up` again carries on")

    main = threading.current_thread() is threading.main_thread()  # only it may take signals
    previous = {number: signal.signal(number, stop)
                for number in (signal.SIGINT, signal.SIGTERM) if main}
    try:
        yield this.id
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        record.unlink(missing_ok=True)
