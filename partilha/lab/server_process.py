"""Is a process the lab's API server? A PID file alone cannot say: after a reboot or once the
number is reused it names some other process, which `lab down` must never signal and whose
presence must not stop `lab up` from starting the API.

The PID file records the server's start time beside its PID (field 22 of /proc/<pid>/stat: clock
ticks since boot, unique for a PID until the next reboot), and the process must also be running
`python -m partilha.lab.server <state dir>` for that very state directory.
"""

from __future__ import annotations

from pathlib import Path

from partilha.processes import start_time

MODULE = "partilha.lab.server"


def argv(python: str, state_dir: Path) -> list[str]:
    """The server's command line."""
    return [python, "-m", MODULE, str(state_dir)]


def record(pid_file: Path, pid: int) -> None:
    """Write `pid` and its start time to the PID file."""
    pid_file.write_text(f"{pid} {start_time(pid)}\n")


def running(pid_file: Path, state_dir: Path) -> int | None:
    """The PID the file names if that process is this lab's server, started when recorded."""
    try:
        words = [int(w) for w in pid_file.read_text().split()]
    except (OSError, ValueError):
        return None
    if not words:
        return None
    pid = words[0]
    started = start_time(pid)
    # A file of an older partilha holds the PID alone: the command line must do.
    if started is None or words[1:2] not in ([], [started]) or not _serves(pid, state_dir):
        return None
    return pid


def _serves(pid: int, state_dir: Path) -> bool:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    args = [w.decode(errors="replace") for w in words if w]
    return (len(args) == 4 and args[1:3] == ["-m", MODULE]
            and Path(args[3]).resolve() == state_dir.resolve())
