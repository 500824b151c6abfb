"""PVE's transient failures, and retrying them with backoff until a deadline.

Transient, as PVE clients (the Terraform providers, pvesh users) treat them: a lock that could not
be taken in time (`can't lock file ... - got timeout`, pmxcfs's `got lock request timeout`), a
guest locked by a running task (`CT is locked (backup)`), a worker that did not start (`got no
worker upid`), the proxy's 502-599 (pveproxy restarting, a node briefly unreachable), a connection
that failed. Not transient: 4xx, which say the call itself is wrong, and PVE's other 500s
(`bridge 'x' does not exist`), which no retry fixes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from proxmoxer.core import ResourceException

T = TypeVar("T")
_TRANSIENT_WORDS = ("got timeout", "got lock request timeout", "got no worker upid", "is locked (")


class DeadlineError(RuntimeError):
    """A call kept failing transiently until its deadline; the message says what and why."""


def transient(exc: BaseException) -> bool:
    if isinstance(exc, ResourceException):
        text = f"{exc.content} {exc.errors or ''}"
        return exc.status_code >= 502 or any(word in text for word in _TRANSIENT_WORDS)
    return isinstance(exc, (requests.ConnectionError, requests.Timeout))


def transient_exitstatus(exitstatus: str) -> bool:
    """A task that ended in a transient error (a lock timeout inside the worker)."""
    return any(word in exitstatus for word in _TRANSIENT_WORDS)


@dataclass(frozen=True)
class Backoff:
    first: float = 0.5
    factor: float = 2.0
    longest: float = 10.0
    deadline: float = 300.0  # seconds for the whole operation, retries included

    def delays(self) -> list[float]:
        """The waits between attempts, with jitter, as long as the deadline allows."""
        out: list[float] = []
        delay, total = self.first, 0.0
        while total + delay <= self.deadline and len(out) < 1000:
            wait = delay * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)
            out.append(wait)
            total += wait
            delay = min(delay * self.factor, self.longest)
        return out


def with_retries(what: str, action: Callable[[], T], backoff: Backoff,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """`action()`, again after each transient failure, until it succeeds or the deadline passes."""
    started = time.monotonic()
    attempts = 0
    last: Exception | None = None
    for wait in [*backoff.delays(), None]:
        attempts += 1
        try:
            return action()
        except Exception as exc:
            if not transient(exc):
                raise
            last = exc
            left = backoff.deadline - (time.monotonic() - started)
            if wait is None or left <= 0:
                break
            sleep(min(wait, left))
    raise DeadlineError(f"{what}: still failing after {time.monotonic() - started:.0f} s and "
                           f"{attempts} attempts (deadline {backoff.deadline:g} s); last error: {last}")
