"""A throwaway lab for tests and benchmarks: its own state directory, a free API port, a random
prefix and a free package cache port, so several run side by side on one machine; up on entry,
reset on exit (nothing of it is left)."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from partilha.lab import control
from partilha.lab.instance import LabInstance
from partilha.lab.machine import machine


def free_port() -> int:
    """A TCP port nothing on 127.0.0.1 listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway(state_dir: Path, inventory: Path, letter: str, *,
              node_key: Path | None = None) -> Iterator[tuple[LabInstance, dict[str, Any]]]:
    """The lab of `inventory` in `state_dir`, its prefix `<letter><4 hex digits>-`, up (with node
    hosts trusting `node_key` when given); yields it and its administrator's credentials."""
    instance = LabInstance(state_dir, inventory, free_port(), f"{letter}{secrets.token_hex(2)}-",
                           machine.free_cache_port(), node_key=node_key)
    try:
        yield instance, control.up(instance)
    finally:
        control.reset(instance)
