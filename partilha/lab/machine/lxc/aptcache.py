"""The lab instance's package cache: an apt-cacher-ng process guests use as their apt proxy.

Guests have no route off the machine; their apt goes to `http://<gateway>:<port>/` (written by
partilha.lab.machine.lxc.containers), and this process fetches from Debian's archive on the host's
behalf. It only serves Debian's archive (`ForceManaged`: requests for any other site are refused),
so it is not a general-purpose way out of the lab.

Everything of one instance lives under the caller's state directory (config, pid file, logs,
control socket); the downloaded packages go to `<cache>/apt-cacher-ng` ($PARTILHA_CACHE or
~/.cache/partilha), shared by instances one at a time: the running process inherits an exclusive
lock on it, and a concurrent instance takes the first free of `apt-cacher-ng-2` ... `-16`, kept
warm for the next instance that needs it.

apt-cacher-ng makes itself a daemon (its own session, init its parent), so nothing that ends the
process that started it reaches it: `stop` finds it by its configuration folder on its command
line (the PID file may be lost). A cache with an `owner` (a test run's lab) carries the owner's
stamp in its environment, and any later `start` or `stop` on the machine ends the caches whose
owner has ended without stopping them (SIGKILL leaves it no chance to).
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from partilha import processes
from partilha.lab.machine.lxc import picks
from partilha.lab.machine.lxc.commands import MachineError
from partilha.lab.machine.lxc.template import cache_root

DEFAULT_PORT = 3142
MAX_PORT = 32767  # apt-cacher-ng 3.7 cannot bind above it ("Error resolving address")
ANY = "0.0.0.0"  # noqa: S104 - see AptCache.bind
MIRROR = "http://deb.debian.org/debian/"
SECURITY = "http://deb.debian.org/debian-security/"
OWNER = "PARTILHA_LAB_OWNER"  # in an owned cache's environment: its owner's processes.stamp
SLOTS = 16  # cache directories: one per concurrent lab instance


@dataclass(frozen=True)
class AptCache:
    state_dir: Path  # the lab instance's state directory; ours is state_dir / "apt-cacher-ng"
    port: int = DEFAULT_PORT
    # All addresses, so guests of VNets made later reach it at their gateway; the lab's
    # firewall closes the port to every non-lab interface but lo.
    bind: tuple[str, ...] = (ANY,)
    cache_dir: Path | None = None  # default: <cache>/apt-cacher-ng
    owner: int | None = None  # the process it ends with (a test run's); None: it runs until stopped

    def __post_init__(self) -> None:
        # apt-cacher-ng 3.7 (bookworm) fails with "Error resolving address for binding" on
        # ports above 32767.
        if not 1 <= self.port <= MAX_PORT:
            raise ValueError(f"apt-cacher-ng port {self.port}: must be within 1..{MAX_PORT}")

    @property
    def home(self) -> Path:
        return self.state_dir / "apt-cacher-ng"

    @property
    def pid_file(self) -> Path:
        return self.home / "apt-cacher-ng.pid"

    @property
    def url(self) -> str:
        return f"http://{self.local_address}:{self.port}/"

    @property
    def local_address(self) -> str:
        """Where the host itself reaches the cache."""
        return "127.0.0.1" if ANY in self.bind else self.bind[0]


def _config(cache: AptCache, cache_dir: Path) -> str:
    return "\n".join(
        [
            "# written by partilha.lab.machine.lxc.aptcache for one lab instance",
            f"CacheDir: {cache_dir}",
            f"LogDir: {cache.home / 'log'}",
            "SupportDir: /usr/lib/apt-cacher-ng",
            f"Port: {cache.port}",
            f"BindAddress: {' '.join(cache.bind)}",
            f"PidFile: {cache.pid_file}",
            # no unix socket (only acngtool's maintenance uses it): its path has room for 107
            # bytes, which a lab's state folder can pass ("Check socket file and directory permissions")
            "SocketPath: ",
            "ForeGround: 0",
            f"Remap-debrep: deb.debian.org/debian ftp.debian.org/debian /debian ; {MIRROR}",
            f"Remap-secdeb: deb.debian.org/debian-security security.debian.org/debian-security ; {SECURITY}",
            "ForceManaged: 1",
            "ReportPage: acng-report.html",
            "ExThreshold: 4",
            "VerboseLog: 1",
            "",
        ]
    )


def _caches() -> dict[int, list[bytes]]:
    """Every apt-cacher-ng process on the machine, with its command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if argv and argv[0].endswith(b"apt-cacher-ng") and processes.start_time(int(entry.name)) is not None:
            found[int(entry.name)] = argv
    return found


def _pids(cache: AptCache) -> list[int]:
    """The processes of this cache: those started with its configuration folder."""
    return [pid for pid, argv in _caches().items() if str(cache.home).encode() in argv]


def is_running(cache: AptCache) -> bool:
    return bool(_pids(cache))


def end_orphans() -> list[int]:
    """End every owned cache whose owner has ended; their PIDs."""
    orphans = [pid for pid in _caches()
               if (owner := processes.label(pid, OWNER)) is not None and not processes.stamped_alive(owner)]
    processes.end(orphans)
    return orphans


def _answers(cache: AptCache) -> bool:
    try:
        with socket.create_connection((cache.local_address, cache.port), timeout=0.5) as sock:
            sock.sendall(b"GET /acng-report.html HTTP/1.0\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


def _lock_cache_dir(cache: AptCache) -> tuple[Path, int]:
    """The cache directory to use and an fd holding its lock (inherited by apt-cacher-ng)."""
    base = cache.cache_dir or (cache_root() / "apt-cacher-ng")
    # numbered, not per instance: the next concurrent instance finds the packages the last one fetched
    candidates = [base, *(base.with_name(f"{base.name}-{n}") for n in range(2, SLOTS + 1))]
    for candidate in candidates:
        candidate.mkdir(parents=True, exist_ok=True)
        fd = os.open(candidate / ".partilha.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return candidate, fd
    raise MachineError(f"{base}: package cache locked by other lab instances")


def start(cache: AptCache, *, timeout: float = 15.0) -> None:
    """Start the instance's apt-cacher-ng (no-op if it runs) and wait until it answers."""
    end_orphans()
    if is_running(cache):
        return
    (cache.home / "log").mkdir(parents=True, exist_ok=True)
    cache.pid_file.unlink(missing_ok=True)
    cache_dir, lock_fd = _lock_cache_dir(cache)
    try:
        (cache.home / "acng.conf").write_text(_config(cache, cache_dir))
        log = (cache.home / "log" / "start.log").open("w")
        with log:
            proc = subprocess.run(
                ["apt-cacher-ng", "-c", str(cache.home)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(lock_fd,),
                env={**os.environ, OWNER: processes.stamp(cache.owner)} if cache.owner else None,
                timeout=timeout,
                check=False,
            )
    finally:
        os.close(lock_fd)  # the daemon keeps its inherited copy of the lock
    if proc.returncode != 0:
        said = (cache.home / "log" / "start.log").read_text(errors="replace").strip().splitlines()
        raise MachineError(f"apt-cacher-ng failed to start (exit {proc.returncode}"
                           + (f": {said[-1]}" if said else "") + f"): see {cache.home / 'log'}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_running(cache) and _answers(cache):
            return
        time.sleep(0.05)
    stop(cache)
    raise MachineError(f"apt-cacher-ng on port {cache.port} did not answer within {timeout:g} s")


def stop(cache: AptCache, *, timeout: float = 10.0) -> None:
    """Stop the instance's apt-cacher-ng (TERM, then KILL after `timeout`), and the orphans of
    other instances. Idempotent."""
    processes.end(_pids(cache), timeout)
    cache.pid_file.unlink(missing_ok=True)
    end_orphans()


def free_port(low: int = 20000) -> int:
    """A port of this process's share of low..MAX_PORT that nothing listens on now, for a new cache."""
    return picks.unused_port(low, MAX_PORT, ANY)
