"""PVE tasks: every long operation gets a UPID, runs in a worker, logs lines, ends OK or with
its error text, as `GET /nodes/{node}/tasks/{upid}/status|log` report."""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from partilha.lab.server.faults import Injector
from partilha.lab.server.store import Store

log = logging.getLogger("partilha.lab.server.tasks")


class TaskLog:
    """What a task's work writes; each line lands in the task's log at once."""

    def __init__(self, store: Store, upid: str) -> None:
        self.store, self.upid = store, upid
        self._n = itertools.count(1)

    def __call__(self, line: str) -> None:
        with self.store.tx() as db:
            db.execute("INSERT INTO task_log VALUES (?, ?, ?)", (self.upid, next(self._n), line))


Work = Callable[[TaskLog], None]
Undo = Callable[[], None]


class TaskRunner:
    def __init__(self, store: Store, workers: int = 4) -> None:
        self.store = store
        self.faults = Injector(store)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pve-task")
        self._counter = itertools.count(int(time.monotonic() * 100))
        self._lock = threading.Lock()
        self._done: dict[str, threading.Event] = {}

    def start(self, node: str, kind: str, oid: str, user: str, work: Work,
              undo: Undo | None = None) -> str:
        """Record a running task and run `work` in the background; return its UPID. `undo`
        releases what the caller reserved for the task (a new guest's `create` lock, say) when
        the task cannot be started, or an injected fault fails it before `work` runs."""
        pid = os.getpid()
        with self._lock:
            pstart = next(self._counter)
        starttime = int(time.time())
        upid = f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{oid}:{user}:"
        try:
            with self.store.tx() as db:
                db.execute("INSERT INTO tasks (upid, node, type, id, user, pid, pstart, starttime, "
                           "status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running')",
                           (upid, node, kind, oid, user, pid, pstart, starttime))
            self._done[upid] = threading.Event()
            self._pool.submit(self._run, upid, oid, work, undo)
        except BaseException:
            if undo is not None:
                undo()
            raise
        return upid

    def _run(self, upid: str, oid: str, work: Work, undo: Undo | None) -> None:
        task_log = TaskLog(self.store, upid)
        try:
            fault = self.faults.task_fault(oid)
            if fault is not None and fault.error is not None:
                if undo is not None:
                    undo()
                raise RuntimeError(fault.error)
            if fault is not None:
                time.sleep(fault.delay)
            work(task_log)
            exitstatus = "OK"
            task_log("TASK OK")
        except Exception as exc:
            log.info("task %s failed: %s", upid, exc)
            exitstatus = str(exc).strip() or type(exc).__name__
            task_log(f"TASK ERROR: {exitstatus}")
        with self.store.tx() as db:
            db.execute("UPDATE tasks SET status = 'stopped', exitstatus = ?, endtime = ? "
                       "WHERE upid = ?", (exitstatus, int(time.time()), upid))
        self._done.pop(upid).set()

    def wait(self, upid: str, timeout: float) -> bool:
        """True once the task has ended (tasks started by this runner only)."""
        done = self._done.get(upid)
        return done is None or done.wait(timeout)

    def status(self, upid: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT * FROM tasks WHERE upid = ?", upid)
        if not rows:
            return None
        row = dict(rows[0])
        if row["status"] == "running":
            row.pop("exitstatus")
            row.pop("endtime")
        return row

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
