"""What the probe runs on a guest: this file, sent over SSH (`python3 - MODE ARGS`), standard
library only.

- `listen PORTS SECONDS`: binds each port nothing listens on yet and accepts (and closes) every
  connection there for SECONDS, detached, so each probed port has a listener; prints the ports
  it took and those already served.
- `connect TARGETS SECONDS`: tries a TCP connection to every [name, address, port] at once,
  each for at most SECONDS; prints each outcome: open, refused (an answer: a reset, an ICMP
  error) or filtered (no answer: dropped).
- `stop`: ends this guest's temporary listener, if any.
"""

from __future__ import annotations

import errno
import json
import os
import selectors
import signal
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

PIDFILE = Path("/run/partilha-probe-listener.pid")


def listen(ports: list[int], seconds: float) -> None:
    taken, served, sockets = [], [], []
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 - every address: whatever the guest has
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            served.append(port)
            continue
        sock.listen(128)
        sock.setblocking(False)
        sockets.append(sock)
        taken.append(port)
    print(json.dumps({"taken": taken, "served": served}), flush=True)
    if not sockets or os.fork():
        os._exit(0)
    os.setsid()  # the listener outlives the SSH session, its output closed
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    PIDFILE.write_text(str(os.getpid()))
    chosen = selectors.DefaultSelector()
    for sock in sockets:
        chosen.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in chosen.select(timeout=1):
            with suppress(OSError):
                key.fileobj.accept()[0].close()  # type: ignore[union-attr]
    PIDFILE.unlink(missing_ok=True)


def connect(targets: list[list[str | int]], seconds: float) -> None:
    def one(target: list[str | int]) -> list[str | int]:
        name, address, port = target
        try:
            socket.create_connection((str(address), int(port)), timeout=seconds).close()
        except TimeoutError:
            return [name, port, "filtered"]
        except OSError:
            return [name, port, "refused"]
        return [name, port, "open"]

    with ThreadPoolExecutor(min(512, max(1, len(targets)))) as pool:  # all at once: one timeout
        print(json.dumps(list(pool.map(one, targets))))


def stop() -> None:
    with suppress(OSError, ValueError):
        os.kill(int(PIDFILE.read_text()), signal.SIGTERM)
    PIDFILE.unlink(missing_ok=True)


def main(args: list[str]) -> None:
    if args[0] == "listen":
        listen(json.loads(args[1]), float(args[2]))
    elif args[0] == "connect":
        connect(json.loads(args[1]), float(args[2]))
    else:
        stop()


if __name__ == "__main__":
    main(sys.argv[1:])
