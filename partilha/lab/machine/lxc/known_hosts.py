"""The lab's known_hosts file: every guest's host keys, pinned at creation.

Lines are `<ip> <type> <base64 key>`, the format OpenSSH (`UserKnownHostsFile`), paramiko
(`load_host_keys`) and pyinfra read. Writers take an exclusive flock on the file and replace it
atomically, so concurrent creations never interleave or lose lines and readers never see a half
written file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HostKey:
    type: str  # "ssh-ed25519", "ecdsa-sha2-nistp256", ...
    base64: str

    @classmethod
    def parse(cls, public_key_line: str) -> HostKey:
        """A key from an OpenSSH public key line (`type base64 [comment]`)."""
        fields = public_key_line.split()
        if len(fields) < 2:
            raise ValueError(f"not an OpenSSH public key: {public_key_line!r}")
        return cls(fields[0], fields[1])


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _write(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(f"{line}\n" for line in lines))
    tmp.chmod(0o644)
    tmp.replace(path)


def _key_of(line: str) -> HostKey | None:
    fields = line.split()
    if len(fields) < 3 or line.startswith("#"):
        return None
    return HostKey(fields[1], fields[2])


def pin(path: Path, address: str, keys: Iterable[HostKey], *, move: bool = True) -> None:
    """Record `keys` for `address`, replacing any earlier keys of that address and, when the
    keys `move` here (a guest's new address), their lines for other addresses; a restored copy
    of a guest carries its host keys too, and is pinned with `move=False`."""
    keys = list(keys)
    with _locked(path):
        kept = [line for line in _lines(path)
                if line.split()[:1] != [address] and not (move and _key_of(line) in keys)]
        _write(path, kept + [f"{address} {key.type} {key.base64}" for key in keys])


def unpin(path: Path, keys: Iterable[HostKey], address: str | None = None) -> None:
    """Remove the lines carrying one of `keys`: those of `address`, or of any address."""
    keys = list(keys)
    if not keys or not path.exists():
        return
    with _locked(path):
        _write(path, [line for line in _lines(path) if _key_of(line) not in keys
                      or (address is not None and line.split()[:1] != [address])])


def pinned(path: Path, address: str) -> list[HostKey]:
    return [
        key for line in _lines(path) if line.split()[:1] == [address] and (key := _key_of(line)) is not None
    ]
