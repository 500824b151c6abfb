"""The lab's pvescheduler for backup jobs (pve-manager PVE/Jobs.pm `run_jobs`): every few
seconds, each enabled job whose next calendar event since its last run has come starts a
`vzdump` task on every online node holding its guests, as root@pam. A job whose last run is
still going is not started again; when the scheduler starts, jobs without `repeat-missed`
count from then, so missed runs are not caught up. The scheduler can be stopped and started again
as `systemctl stop/start pvescheduler` does on a node (`hold`, kept in the lab's state): tests hold
it, so a tier's calendar event (gold's `*/4:00`) cannot fire in the middle of what they assert.
"""

from __future__ import annotations

import logging
import threading
import time

from partilha.lab import cluster
from partilha.lab.backup import jobs
from partilha.lab.backup.vzdump import start_backup
from partilha.lab.instance import LabInstance
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskRunner

log = logging.getLogger("partilha.lab.backup.scheduler")
INTERVAL = 2.0
USER = "root@pam"
HELD = "scheduler-held"


def hold(store: Store, held: bool = True) -> None:
    """Stop the scheduler (`held`) or start it again; once started it counts from then."""
    if held:
        store.set_meta(HELD, "1")
    else:
        store.delete_meta(HELD)


class BackupScheduler:
    def __init__(self, instance: LabInstance, tasks: TaskRunner, interval: float = INTERVAL) -> None:
        self.instance, self.tasks, self.store = instance, tasks, tasks.store
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="backup-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                if self.store.meta(HELD):
                    first = True  # started again later, it counts from then
                else:
                    self.run_due(first_run=first)
                    first = False
            except Exception:  # a bad job must not stop the scheduler
                log.exception("backup scheduler round failed")
            self._stop.wait(self.interval)

    def _running(self, upids: list[str]) -> bool:
        return any((self.tasks.status(u) or {}).get("status") == "running" for u in upids)

    def run_due(self, first_run: bool = False) -> list[str]:
        """Start the jobs that are due; their UPIDs."""
        started: list[str] = []
        now = int(time.time())
        for jobid, conf in jobs.every(self.store).items():
            last, upids = jobs.last_run(self.store, jobid)
            if first_run and not conf.get("repeat-missed"):
                jobs.mark_run(self.store, jobid, now, upids)
                continue
            if not conf.get("enabled", 1) or self._running(upids):
                continue
            due = jobs.next_run(str(conf["schedule"]), last)
            if due is None or now < due:
                continue
            options = {k: v for k, v in conf.items() if k not in jobs.JOB_ONLY}
            upids = []
            for node in cluster.nodes(self.store):
                if not node.online or conf.get("node") not in (None, node.name):
                    continue
                upid = start_backup(self.store, self.instance, self.tasks, node.name, options,
                                    USER, lambda vmid: True)
                if upid != "OK":
                    upids.append(upid)
            jobs.mark_run(self.store, jobid, now, upids)
            started += upids
        return started
