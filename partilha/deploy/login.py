"""Logging an operator into one guest of an env, as `vagrant ssh` does: `partilha ssh GUEST
[-- COMMAND]`. The guest's address comes from its tenant stack's outputs; the user is the one
that logs in now (the baseline's admin, with sudo, once the baseline closed root's login; root
before); the key is the operator's (through ssh-agent when it has a passphrase); the host key
must be the one pinned in the env's known_hosts (StrictHostKeyChecking yes, nothing learnt).
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from partilha.automation.envs import Env
from partilha.deploy import stack_outputs
from partilha.deploy.access import resolve_logins, ssh_options, write_ssh_config
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.errors import UserError
from partilha.inventory import guests


def ssh_argv(env: Env, name: str, command: Sequence[str] = ()) -> list[str]:
    """The `ssh` command line that logs into guest `name` (and runs `command` there, if given)."""
    known = {g.name: g for g in guests(env.inventory)}
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else \
            f"`partilha inventory show {env.inventory_path}` lists them"
        raise UserError(f"no guest {name!r} in env {env.name} ({env.inventory_path}); {hint}")
    stack = env.tenant_stack(known[name].tenant).name
    made = stack_outputs.stack_guests(env, stack)
    if name not in made:
        raise UserError(f"guest {name} is not made yet (stack {stack} has no such guest): "
                        f"`partilha up --env {env.name}`")
    (host,) = build_hosts(env.inventory, {name: made[name]}, {}, env.name, lab=env.lab)
    fleet = Fleet(env.name, (host,), env.known_hosts(os.environ), env.workspace.ssh_key(env.lab))
    return login_argv(fleet, name, command)


def login_argv(fleet: Fleet, name: str, command: Sequence[str] = ()) -> list[str]:
    """The `ssh` command line into host `name` of `fleet`, as the user that logs in now."""
    host = fleet.host(name)
    fleet = fleet.select([name])
    with tempfile.TemporaryDirectory(prefix="partilha-ssh-") as folder:
        logins, refused = resolve_logins(fleet, write_ssh_config(fleet, {}, Path(folder) / "ssh_config"))
    if name in refused:
        raise UserError(refused[name])
    options = [f"-o{key}={value}" for key, value in ssh_options(fleet).items()]
    return ["ssh", "-F", "/dev/null", *options, "-l", logins[name].user, host.address, *command]
