"""What /proc says about a process: when it started (to tell it from a later one that got its PID)
and whether its environment carries a label (to find every process a run started, its children's
children too, whatever they are called)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

ENDING_SECONDS = 10.0  # a process asked to end (SIGTERM) gets this long before SIGKILL


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot); None if there is none or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ...": comm may hold spaces and parentheses, so split after its last ")"
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])  # field 22 of the whole line; fields here start at field 3


def alive(pid: int, started: int) -> bool:
    """Whether `pid` is still the process that started at `started`."""
    return start_time(pid) == started


def stamp(pid: int) -> str:
    """`<pid>:<start time>`: names the process, and no later one that gets its PID."""
    return f"{pid}:{start_time(pid)}"


def stamped_alive(value: str) -> bool:
    """Whether the process a `stamp` names is still running."""
    pid, _, started = value.partition(":")
    return pid.isdigit() and started.isdigit() and alive(int(pid), int(started))


def label(pid: int, variable: str) -> str | None:
    """The value of `variable` in the process's environment; None when it has none (or is gone)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    prefix = f"{variable}=".encode()
    return next((e[len(prefix):].decode(errors="replace") for e in environ if e.startswith(prefix)), None)


def labelled(variable: str, value: str) -> list[int]:
    """The live processes (this one aside) whose environment has `variable=value`."""
    return [int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and int(entry.name) != os.getpid()
            and label(int(entry.name), variable) == value and start_time(int(entry.name)) is not None]


def end(pids: Iterable[int], seconds: float = ENDING_SECONDS) -> None:
    """SIGTERM each, and SIGKILL what is left after `seconds`."""
    started = {pid: start_time(pid) for pid in pids}
    for pid, when in started.items():
        if when is not None:
            _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p, s) for p, s in started.items() if s is not None):
        time.sleep(0.1)
    for pid, when in started.items():
        if when is not None and alive(pid, when):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, number: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, number)
