"""Injected faults, for reliability tests: a fraction of API calls and tasks fail the ways PVE
fails. Off unless set (`partilha lab faults --rate 0.1`); the setting lives in the lab's state, so
a running API picks it up at its next call.

Call faults: HTTP 500 with PVE's lock-timeout message, or a bare 500, raised before the handler
runs so a failed call changes nothing. Logins are never failed.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass

from partilha.lab.state.db import Store


@dataclass(frozen=True)
class Faults:
    rate: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate} is outside 0..1")


def load(store: Store) -> Faults:
    saved = store.meta("faults")
    return Faults(**json.loads(saved)) if saved else Faults()


def save(store: Store, faults: Faults) -> None:
    store.set_meta("faults", json.dumps(asdict(faults)))


class Injector:
    """Draws faults from a generator reseeded whenever the setting changes, so a seeded run
    repeats itself."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._setting = Faults()
        self._random = random.Random()  # noqa: S311 (fault draws, not secrets)

    def _hit(self) -> bool:
        setting = load(self.store)
        if setting != self._setting:
            self._setting = setting
            self._random.seed(setting.seed)
        return setting.rate > 0 and self._random.random() < setting.rate

    def call_fault(self, vmid: str | None) -> str | None:
        """The message a faulty call fails with (HTTP 500), or None."""
        if not self._hit():
            return None
        if self._random.random() < 0.5:
            lock = f"lock-{vmid}.conf" if vmid else "pve-storage-lock"
            return f"can't lock file '/var/lock/qemu-server/{lock}' - got timeout"
        return "unexpected server error (lab fault injection)"
