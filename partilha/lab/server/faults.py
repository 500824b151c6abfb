"""Injected faults, for reliability tests: a fraction of API calls and tasks fail the ways PVE
fails. Off unless set (`partilha lab faults --rate 0.1`); the setting lives in the lab's state, so
a running API picks it up at its next call.

Call faults: HTTP 500 with PVE's lock-timeout message for the guest's config, or pmxcfs's, raised
before the handler runs so a failed call changes nothing. Logins are never failed.

Task faults: the call succeeds and returns its UPID, then the task either ends in error (a lock
timeout inside the worker, before its work starts; what the handler reserved for it, such as a new
guest's `create` lock, is undone) or runs late (a few seconds' wait before its work).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from typing import Literal

from partilha.lab.server.store import Store

Target = Literal["calls", "tasks"]
TARGETS: tuple[Target, ...] = ("calls", "tasks")
SLOW_TASK_SECONDS = (1.0, 4.0)


@dataclass(frozen=True)
class Faults:
    rate: float = 0.0
    seed: int | None = None
    targets: tuple[Target, ...] = TARGETS

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate} is outside 0..1")
        unknown = sorted(set(self.targets) - set(TARGETS))
        if unknown:
            raise ValueError(f"unknown fault target {unknown[0]!r} (calls or tasks)")


@dataclass(frozen=True)
class TaskFault:
    error: str | None = None  # the task ends with this error text
    delay: float = 0.0  # or starts its work this many seconds late


def load(store: Store) -> Faults:
    saved = store.meta("faults")
    if not saved:
        return Faults()
    setting = json.loads(saved)
    return Faults(setting["rate"], setting["seed"], tuple(setting.get("targets", TARGETS)))


def save(store: Store, faults: Faults) -> None:
    store.set_meta("faults", json.dumps(asdict(faults)))


class Injector:
    """Draws faults from a generator reseeded whenever the setting changes, so a seeded run
    repeats itself."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._setting = Faults()
        self._random = random.Random()  # noqa: S311 (fault draws, not secrets)

    def _hit(self, target: Target) -> bool:
        setting = load(self.store)
        if setting != self._setting:
            self._setting = setting
            self._random.seed(setting.seed)
        return (setting.rate > 0 and target in setting.targets
                and self._random.random() < setting.rate)

    def call_fault(self, vmid: str | None) -> str | None:
        """The message a faulty call fails with (HTTP 500), or None."""
        if not self._hit("calls"):
            return None
        if self._random.random() < 0.5:
            return _lock_timeout(vmid)
        return "cfs-lock 'file-user_cfg' error: got lock request timeout"  # pmxcfs busy

    def task_fault(self, oid: str) -> TaskFault | None:
        """How a task about `oid` (a vmid, a storage...) misbehaves, or None."""
        if not self._hit("tasks"):
            return None
        if self._random.random() < 0.5:
            return TaskFault(error=_lock_timeout(oid if oid.isdigit() else None))
        return TaskFault(delay=self._random.uniform(*SLOW_TASK_SECONDS))


def _lock_timeout(vmid: str | None) -> str:
    lock = f"lock-{vmid}.conf" if vmid else "pve-storage-lock"
    return f"can't lock file '/var/lock/qemu-server/{lock}' - got timeout"
