"""Waiting until a guest's sshd answers with the host key pinned for it.

Only the SSH transport is negotiated (key exchange, host key signature verified by paramiko);
no authentication happens, so no private key is needed. A key other than the pinned ones is
an error at once, never a reason to retry.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

import paramiko

from partilha.lab.machine.lxc.commands import MachineError
from partilha.lab.machine.lxc.known_hosts import HostKey


class HostKeyMismatchError(MachineError):
    """The guest answered with a host key that is not pinned for it."""


def wait_for_ssh(address: str, keys: Sequence[HostKey], *, timeout: float = 30.0, port: int = 22) -> float:
    """Seconds until `address:port` completed an SSH key exchange with one of `keys`."""
    if not keys:
        raise MachineError(f"{address}: no pinned host key to verify")
    started = time.monotonic()
    deadline = started + timeout
    last_error = "no answer"
    attempts = 0
    while time.monotonic() < deadline and attempts < 10_000:
        attempts += 1
        left = max(0.1, deadline - time.monotonic())
        try:
            sock = socket.create_connection((address, port), timeout=min(1.0, left))
        except OSError as exc:
            last_error = str(exc)
            time.sleep(0.03)
            continue
        try:
            offered = _server_key(sock, timeout=min(5.0, left), keys=keys)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            last_error = f"SSH handshake: {exc}"
            time.sleep(0.05)
            continue
        finally:
            sock.close()
        if offered not in keys:
            raise HostKeyMismatchError(
                f"{address}: host key {offered.type} {offered.base64[:24]}... is not the pinned one"
            )
        return time.monotonic() - started
    raise MachineError(f"{address}:{port}: SSH not ready within {timeout:g} s ({last_error})")


def _server_key(sock: socket.socket, *, timeout: float, keys: Sequence[HostKey]) -> HostKey:
    transport = paramiko.Transport(sock)
    try:
        # Ask for the pinned key types first so a guest with several keys offers a pinned one.
        options = transport.get_security_options()
        wanted = [k.type for k in keys if k.type in options.key_types]
        options.key_types = [*dict.fromkeys(wanted), *(t for t in options.key_types if t not in wanted)]
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return HostKey(key.get_name(), key.get_base64())
    finally:
        transport.close()
