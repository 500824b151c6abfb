"""`partilha` starts without its engines: each command imports Pulumi, pyinfra, the lab's machinery,
DR, audit ... when it runs, so `partilha --help`, every group's and command's help, and any one
command load nothing of the others' (bench/cli_start.py measures the start)."""

from __future__ import annotations

import json
import subprocess
import sys

# Every command's help, in one fresh interpreter; then what it loaded.
HELP_OF_EVERY_COMMAND = """
import contextlib, io, json, sys
import typer
from partilha.cli import app

root = typer.main.get_command(app)

def paths(command, path):
    yield path
    for name, sub in getattr(command, "commands", {}).items():  # a group
        yield from paths(sub, [*path, name])

shown = []
for path in paths(root, []):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            root.main([*path, "--help"], prog_name="partilha")
        except SystemExit:
            pass
    shown.append([" ".join(path), "Usage: partilha" in out.getvalue()])
print(json.dumps({"shown": shown, "modules": sorted(sys.modules)}))
"""
# What the command line itself needs: typer's annotations name the lab's fault targets and
# audit's default age; the rest is the CLI and the workspace.
OWN = {"partilha", "partilha.errors", "partilha.workspace", "partilha.audit", "partilha.audit.freshness",
       "partilha.lab", "partilha.lab.server", "partilha.lab.server.faults", "partilha.lab.server.store"}
# (not pydantic: typer itself parses a command's parameters with it)
ENGINES = ("pulumi", "pyinfra", "paramiko", "proxmoxer", "testinfra", "pynetbox", "werkzeug", "cheroot",
           "cryptography", "requests", "yaml", "grpc")


def loaded_by_help() -> tuple[list[list[object]], list[str]]:
    run = subprocess.run([sys.executable, "-c", HELP_OF_EVERY_COMMAND], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    return found["shown"], found["modules"]


def test_every_help_loads_no_engine() -> None:
    shown, modules = loaded_by_help()
    assert len(shown) > 30  # the root, the groups and every command were shown
    assert [path for path, ok in shown if not ok] == []
    assert [m for m in modules if m.startswith("partilha") and not m.startswith("partilha.cli")
            and m not in OWN] == []
    assert [m for m in modules if m.split(".")[0] in ENGINES] == []


def test_the_lab_s_entry_point_loads_a_name_on_first_use() -> None:
    # `throwaway` is a module of the lab and a function of it: the entry point's name is the function
    # whichever of the module's names was asked for first
    check = ("import sys, partilha.lab\n"
             "assert 'partilha.lab.control' not in sys.modules\n"
             "from partilha.lab import free_port, throwaway\n"
             "print(throwaway.__module__, callable(throwaway), partilha.lab.control.__name__)\n")
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["partilha.lab.throwaway", "True", "partilha.lab.control"]
