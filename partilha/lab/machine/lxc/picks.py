"""Random picks of what a lab takes from the machine a moment later: a subnet's third octet, a TCP
port. The picker looks (no route, nothing listening) and takes later (a bridge made, a server
started), so two processes picking at the same moment can take the same one. Processes started
together by one test run (pytest's workers) avoid that by their share: with
PARTILHA_LAB_SHARE=<k>/<n> in its environment a process, and whatever it starts, picks only from
the k-th of n equal slices of each range; without it, from the whole range.
"""

from __future__ import annotations

import os
import re
import secrets
import socket

from partilha.lab.machine.lxc.commands import MachineError

SHARE = "PARTILHA_LAB_SHARE"


def choices(low: int, high: int) -> range:
    """The numbers of low..high (both included) this process picks from."""
    share = os.environ.get(SHARE, "")
    if not share:
        return range(low, high + 1)
    found = re.fullmatch(r"(\d+)/(\d+)", share)
    if found is None or not int(found[1]) < int(found[2]) <= high - low + 1:
        raise MachineError(f"{SHARE}={share!r}: want <k>/<n> with 0 <= k < n <= {high - low + 1}")
    k, n = int(found[1]), int(found[2])
    size = (high - low + 1) // n
    return range(low + k * size, low + (k + 1) * size)


def pick(low: int, high: int) -> int:
    """A random number of this process's choices in low..high."""
    return secrets.choice(choices(low, high))


def unused_port(low: int, high: int, address: str) -> int:
    """A TCP port of this process's choices in low..high that nothing listens on at `address` now."""
    for _ in range(100):
        port = pick(low, high)
        with socket.socket() as s:
            try:
                s.bind((address, port))
            except OSError:
                continue
            return port
    raise MachineError(f"no free port in {low}..{high}")
