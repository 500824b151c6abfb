"""A production operator key, protected by a passphrase, held by ssh-agent: pyinfra deploys with
it and OpenSSH (the login probes testinfra shares) logs in with it; without an agent holding it,
one clear error before any host is tried."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from partilha.deploy import run
from partilha.deploy.access import resolve_logins, write_ssh_config
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.errors import UserError
from partilha.inventory import Inventory, guests
from partilha.lab.instance import LabInstance
from partilha.workspace import protected

pytestmark = pytest.mark.lab
PASSPHRASE = "correct horse battery staple"
RealiseGuests = Callable[..., tuple[Inventory, dict[str, dict[str, Any]]]]  # tests/lab/conftest.py


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[str]:
    """An ssh-agent of our own (its socket), stopped at the end."""
    socket = tmp_path / "agent.sock"
    process = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if socket.exists():
                break
            time.sleep(0.05)
        yield str(socket)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_a_protected_key_is_used_through_the_agent(
        lab: LabInstance, admin: ProxmoxAPI, realise_guests: RealiseGuests, agent: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "operator_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", PASSPHRASE, "-f", str(key)], check=True)
    assert protected(key)
    inventory, outputs = realise_guests(admin, lambda inv: [g for g in guests(inv)
                                                            if g.name == "abrantes-portal"], key)
    fleet = Fleet("lab", tuple(build_hosts(inventory, outputs, {}, "lab", lab=True)), lab.known_hosts, key)
    probe = tmp_path / "probe.py"
    probe.write_text("from pyinfra.operations import server\n"
                     "server.shell(name='signed by the agent', commands=['true'])\n")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(UserError, match=r"protected by a passphrase and no ssh-agent runs.*ssh-add"):
        run([probe], fleet, tmp_path / "no-agent")
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    with pytest.raises(UserError, match="does not hold it: `ssh-add"):
        run([probe], fleet, tmp_path / "empty-agent")
    askpass = tmp_path / "askpass"
    askpass.write_text(f"#!/bin/sh\necho '{PASSPHRASE}'\n")
    askpass.chmod(0o700)
    subprocess.run(["ssh-add", str(key)], env={**os.environ, "SSH_ASKPASS": str(askpass),
                                                "SSH_ASKPASS_REQUIRE": "force"},
                   stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=30)
    logins, refused = resolve_logins(fleet, write_ssh_config(fleet, {}, tmp_path / "ssh_config"))
    assert (logins, refused) == ({"abrantes-portal": logins["abrantes-portal"]}, {})
    result = run([probe], fleet, tmp_path / "agent")
    assert result.ok, result.failures
    assert result.changes == {"abrantes-portal": 1}
    assert "ssh_key" not in (tmp_path / "agent" / "inventory.py").read_text()  # never the file
