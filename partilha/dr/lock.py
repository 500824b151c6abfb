"""One lock per guest, a file beside the state backend (partilha-dr/locks/<guest>.json) made with
O_EXCL: a second run on a guest is refused, naming the run that holds it, on every operator's
machine that shares the backend. A run's locks outlive a crash on purpose: the run is resumed
(`dr resume RUN-ID` takes its own locks back) or given up (`dr clean RUN-ID`), not raced."""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from partilha.errors import UserError


def _path(root: Path, guest: str) -> Path:
    return root / "locks" / f"{guest}.json"


def acquire(root: Path, run_id: str, runbook: str, guests: list[str]) -> None:
    (root / "locks").mkdir(exist_ok=True)
    taken: list[str] = []
    for guest in guests:
        path = _path(root, guest)
        holder = {"run": run_id, "runbook": runbook, "user": getpass.getuser(),
                  "host": socket.gethostname(), "pid": os.getpid(),
                  "since": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            other = json.loads(path.read_text() or "{}")
            if other.get("run") == run_id:
                continue
            release(root, run_id, taken)
            raise UserError(f"guest {guest} is locked by dr run {other.get('run')} ({other.get('runbook')}, "
                            f"since {other.get('since')}, {other.get('user')}@{other.get('host')}): "
                            f"`partilha dr resume {other.get('run')}` finishes it (a drill: "
                            f"`partilha dr clean {other.get('run')}` gives it up)") from None
        with os.fdopen(fd, "w") as out:
            json.dump(holder, out)
        taken.append(guest)


def release(root: Path, run_id: str, guests: list[str]) -> None:
    for guest in guests:
        path = _path(root, guest)
        try:
            if json.loads(path.read_text()).get("run") == run_id:
                path.unlink()
        except (FileNotFoundError, ValueError):
            continue


@contextmanager
def running(folder: Path, run_id: str) -> Iterator[None]:
    """Held while a process runs the run's steps: a second `dr resume` of it is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".running").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"dr run {run_id} is running in another process right now") from None
        yield
