"""The lab's access log, as pveproxy keeps /var/log/pveproxy/access.log: one line per API call.

Each line is tab-separated: unix time, caller (authid, or "-"), method, the route template the
call matched (e.g. `/nodes/{node}/lxc/{vmid}/config`, "-" if none), the path, the HTTP status.
Benchmarks and tests read it to count calls by method and route, and writes (the calls that are
not GETs) between two points of a run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

FILE = "access.log"


@dataclass(frozen=True)
class Entry:
    at: float
    caller: str
    method: str
    route: str
    path: str
    status: int

    @property
    def write(self) -> bool:
        return self.method != "GET"


class AccessLog:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE
        self._lock = threading.Lock()

    def record(self, caller: str, method: str, route: str, path: str, status: int) -> None:
        line = f"{time.time():.3f}\t{caller or '-'}\t{method}\t{route or '-'}\t{path}\t{status}\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line)


def read(state_dir: Path, since: int = 0) -> list[Entry]:
    """The entries from line `since` on (a mark from `mark`)."""
    path = state_dir / FILE
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines()[since:]:
        at, caller, method, route, where, status = line.split("\t")
        entries.append(Entry(float(at), caller, method, route, where, int(status)))
    return entries


def mark(state_dir: Path) -> int:
    """A point in the log: `read(state_dir, mark)` returns what was called after it."""
    path = state_dir / FILE
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def by_route(entries: list[Entry]) -> Counter[str]:
    return Counter(f"{e.method} {e.route}" for e in entries)
