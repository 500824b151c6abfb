"""`partilha ssh GUEST [--env ENV] [-- COMMAND]`: a shell (or one command) on a guest."""

from __future__ import annotations

import os
from typing import Annotated

import typer


def ssh(guest: Annotated[str, typer.Argument(help="the guest's name, e.g. abrantes-portal")],
        command: Annotated[list[str] | None, typer.Argument(help="after --: run this instead of a shell")]
        = None,
        env: Annotated[str, typer.Option(help="the environment the guest belongs to")] = "lab") -> None:
    """Log into a guest as its admin (root before the baseline), with the operator's key and its
    pinned host key."""
    from partilha.automation import envs
    from partilha.deploy.login import ssh_argv

    argv = ssh_argv(envs.load_env(env), guest, command or [])
    os.execvp(argv[0], argv)  # noqa: S606 (no shell: the terminal and the exit status are ssh's)
