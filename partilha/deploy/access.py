"""How partilha reaches its hosts over SSH: one ssh_config, pinned host keys, and who logs in.

Host keys are only ever checked against the fleet's known_hosts (StrictHostKeyChecking yes,
no global file, no updates written back): a host whose key changed is refused, never learnt.

Who logs in: a guest's first baseline run connects as root (the only account the stacks give
a key to); the baseline then creates the admin user with the operator's key and passwordless
sudo and closes root's SSH login. So every later run must be the admin with sudo. Rather than
remember which hosts were hardened (a record that goes stale when a guest is rebuilt), each
run asks the host: the admin first (it must also pass `sudo -n true`), root second. Nodes keep
root's key login and are reached as root.

The operator's key: a lab env's has no passphrase and is read from its file; a production env's is
protected by a passphrase and used through ssh-agent (SSH_AUTH_SOCK), which must hold it. OpenSSH
(the probes here, testinfra, `partilha ssh`) asks the agent for the key its IdentityFile names;
pyinfra is given the agent instead of the file (partilha.deploy.pyinfra_inventory).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import Host
from partilha.errors import UserError
from partilha.workspace import protected

PROBE_TIMEOUT = 30
PROBE_WORKERS = 16
ROOT = "root"


@dataclass(frozen=True)
class Login:
    user: str

    @property
    def sudo(self) -> bool:
        return self.user != ROOT


class AccessError(Exception):
    """A host that cannot be reached safely; the message names it and says why."""


def ssh_options(fleet: Fleet) -> dict[str, str]:
    """The OpenSSH client options every connection gets."""
    return {
        "IdentityFile": str(fleet.ssh_key),
        "IdentitiesOnly": "yes",
        "StrictHostKeyChecking": "yes",
        "UserKnownHostsFile": str(fleet.known_hosts),
        "GlobalKnownHostsFile": "/dev/null",
        "UpdateHostKeys": "no",
        "CheckHostIP": "no",
        "BatchMode": "yes",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "ForwardAgent": "no",
        "ForwardX11": "no",
        "ConnectTimeout": "10",
        # The strongest key exchange every client of ours speaks (pyinfra's paramiko has no
        # sntrup761); the hybrid costs ~0.15 s of CPU per connection, and runs open many.
        "KexAlgorithms": "curve25519-sha256,curve25519-sha256@libssh.org",
        "ServerAliveInterval": "15",
        "LogLevel": "ERROR",
    }


def write_ssh_config(fleet: Fleet, logins: Mapping[str, Login], path: Path) -> Path:
    """An ssh_config naming every host (`ssh -F <path> <host name>` works by hand too)."""
    lines = [f"# written by partilha for the {fleet.env} fleet; host keys: {fleet.known_hosts}"]
    for host in fleet.hosts:
        lines += [f"Host {host.name}", f"  HostName {host.address}"]
        if host.name in logins:
            lines.append(f"  User {logins[host.name].user}")
    lines.append("Host *")
    lines += [f"  {key} {value}" for key, value in ssh_options(fleet).items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def through_agent(fleet: Fleet) -> bool:
    """Whether the operator's key is used through ssh-agent (it has a passphrase); if so, an
    agent must hold it: otherwise one error saying how to give it one."""
    key = fleet.ssh_key
    if not protected(key):
        return False
    how = f"`eval \"$(ssh-agent)\"` and `ssh-add {key}`"
    if not os.environ.get("SSH_AUTH_SOCK"):
        raise UserError(f"the operator's key {key} is protected by a passphrase and no ssh-agent runs "
                        f"(SSH_AUTH_SOCK is not set): {how}")
    listed = subprocess.run(["ssh-add", "-L"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=PROBE_TIMEOUT, check=False).stdout
    held = {tuple(line.split()[:2]) for line in listed.splitlines() if len(line.split()) >= 2}
    if tuple(fleet.public_key.split()[:2]) not in held:
        raise UserError(f"the operator's key {key} is protected by a passphrase and the ssh-agent at "
                        f"{os.environ['SSH_AUTH_SOCK']} does not hold it: `ssh-add {key}`")
    return True


def resolve_logins(fleet: Fleet, config: Path, masters: Path | None = None
                   ) -> tuple[dict[str, Login], dict[str, str]]:
    """(logins of the hosts that answered, reason per host that did not). With `masters`, the
    connection that answered stays open as an OpenSSH control master at `masters/<host name>`
    for a minute, for later commands (testinfra) to reuse."""
    through_agent(fleet)  # a protected key no agent holds: one clear error, not a refusal per host
    with ThreadPoolExecutor(PROBE_WORKERS) as pool:
        outcomes = list(pool.map(lambda h: _login(h, fleet, config, masters), fleet.hosts))
    logins = {h.name: o for h, o in zip(fleet.hosts, outcomes, strict=True) if isinstance(o, Login)}
    failures = {h.name: o for h, o in zip(fleet.hosts, outcomes, strict=True) if isinstance(o, str)}
    return logins, failures


def _login(host: Host, fleet: Fleet, config: Path, masters: Path | None) -> Login | str:
    candidates = [host.admin_user, ROOT] if host.admin_user else [ROOT]
    refused: list[str] = []
    shared = (["-o", "ControlMaster=auto", "-o", "ControlPersist=60", "-o",
               f"ControlPath={masters / host.name}"] if masters else [])
    for user in candidates:
        command = "sudo -n true" if user != ROOT else "true"
        try:
            # stdin closed: the probe must not eat what `partilha ssh GUEST -- sh -s < script` feeds
            proc = subprocess.run(["ssh", "-F", str(config), *shared, "-l", user, host.name, command],
                                  capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return f"{host.name} ({host.address}): no SSH answer within {PROBE_TIMEOUT} s"
        if proc.returncode == 0:
            return Login(user)
        problem = _host_key_problem(host, fleet, proc.stderr)
        if problem:
            return problem
        if proc.returncode != 255:  # logged in, but sudo asked for a password
            refused.append(f"{user} (sudo -n refused)")
        elif "Permission denied" in proc.stderr:
            refused.append(user)
        else:
            return f"{host.name} ({host.address}): SSH failed: {_last_line(proc.stderr)}"
    return (f"{host.name} ({host.address}): cannot log in as {' or '.join(refused)} with the "
            f"operator's key {fleet.ssh_key}")


def _host_key_problem(host: Host, fleet: Fleet, stderr: str) -> str | None:
    where = f"{host.name} ({host.address})"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr or "Host key verification failed" in stderr:
        if re.search(r"No \S+ host key is known for", stderr):
            return (f"{where}: no host key pinned for it in {fleet.known_hosts}; refusing to "
                    "connect to an unknown host")
        return (f"{where}: its SSH host key is not the one pinned in {fleet.known_hosts}; "
                "refusing to connect (a rebuilt host must have its new key pinned; otherwise "
                "something else answers at that address)")
    return None


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no error message"
