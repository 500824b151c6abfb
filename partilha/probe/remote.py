"""Running the probe on an env's guests over SSH (the operator's key, pinned host keys, the
user that logs in now, as `partilha ssh`): a temporary listener on every probed port nothing
serves on each guest, then every guest tries every other, in parallel, the management network
tries every guest (partilha.probe.management), and the outside tries every guest and the lab's
host (partilha.probe.outside); the listeners stop after.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partilha.automation.envs import Env
from partilha.deploy import stack_outputs
from partilha.deploy.access import Login, resolve_logins, write_ssh_config
from partilha.deploy.fleet import Fleet
from partilha.deploy.hosts import build_hosts
from partilha.errors import UserError
from partilha.inventory import guests
from partilha.inventory.flows import MANAGEMENT
from partilha.probe import management, matrix, outside

CONNECT_TIMEOUT = 2.0  # seconds without an answer: filtered
LISTEN_SECONDS = 600  # a bound: the listeners are stopped as soon as the probe is done
SSH_TIMEOUT = 300
WORKERS = 16  # guests probing (or being set up) at once
PROGRAM = (Path(__file__).parent / "on_guest.py").read_text()  # sent to each guest


@dataclass(frozen=True)
class Probe:
    env: str
    ports: list[int]
    pairs: list[matrix.Pair]
    observed: dict[tuple[str, str, int], str]  # an Outcome, or outside.NOT_APPLICABLE
    taken: dict[str, list[int]]  # guest -> the ports a temporary listener served
    seconds: float
    when: str  # when it ended, as reports write it

    def unexpected(self) -> list[tuple[matrix.Pair, str]]:
        return [(p, seen) for p in self.pairs if (seen := self.observed[(p.source, p.target, p.port)])
                not in (p.expected, outside.NOT_APPLICABLE)]

    def not_applicable(self) -> list[matrix.Pair]:
        return [p for p in self.pairs
                if self.observed[(p.source, p.target, p.port)] == outside.NOT_APPLICABLE]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Probe:
        """A probe as as_json wrote it (probe.json)."""
        pairs = [matrix.Pair(p["from"], p["to"], int(p["port"]), p["expected"]) for p in data["pairs"]]
        observed = {(p["from"], p["to"], int(p["port"])): p["observed"] for p in data["pairs"]}
        return cls(data["env"], list(data["ports"]), pairs, observed,
                   dict(data.get("temporary_listeners") or {}), float(data.get("seconds") or 0),
                   str(data.get("when") or "unknown"))

    def as_json(self) -> dict[str, Any]:
        return {"env": self.env, "when": self.when, "ports": self.ports, "seconds": round(self.seconds, 1),
                "pairs": [{"from": p.source, "to": p.target, "port": p.port, "expected": p.expected,
                           "observed": self.observed[(p.source, p.target, p.port)]} for p in self.pairs],
                "temporary_listeners": self.taken,
                "unexpected": [{"from": p.source, "to": p.target, "port": p.port,
                                "expected": p.expected, "observed": seen}
                               for p, seen in self.unexpected()]}


def probe(env: Env, outside_host: str | None = None) -> Probe:
    started = time.monotonic()
    placed = guests(env.inventory)
    made = stack_outputs.guest_outputs(env)
    missing = [g.name for g in placed if g.name not in made]
    if missing:
        raise UserError(f"not made yet: {', '.join(missing)} (`partilha up --env {env.name}`)")
    hosts = build_hosts(env.inventory, {g.name: made[g.name] for g in placed}, {}, env.name, lab=env.lab)
    fleet = Fleet(env.name, tuple(hosts), env.known_hosts(os.environ), env.workspace.ssh_key(env.lab))
    there = outside.vantage(env, outside_host)
    from_outside = outside.pairs(env.inventory, placed, there)
    pairs = matrix.pairs(env.inventory, placed)
    ports = matrix.ports(placed)
    address = {h.name: h.address for h in hosts}
    with _session(fleet) as run, ThreadPoolExecutor(WORKERS) as pool:
        listened = dict(zip(address, pool.map(
            lambda name: run(name, "listen", ports, LISTEN_SECONDS), address), strict=True))
        try:
            targets = {name: [[p.target, address[p.target], p.port] for p in pairs if p.source == name]
                       for name in address}
            results = dict(zip(address, pool.map(
                lambda name: run(name, "connect", targets[name], CONNECT_TIMEOUT), address), strict=True))
            from_management = [[p.target, address[p.target], p.port] for p in pairs if p.source == MANAGEMENT]
            if from_management:
                with management.vantage_point(env) as command:
                    results[MANAGEMENT] = _run_here(command, from_management, MANAGEMENT)
            if there is not None:
                rows = outside.targets(from_outside, address, there)
                results[outside.SOURCE] = _run_here(list(there.argv), rows, there.what)
        finally:
            list(pool.map(lambda name: run(name, "stop"), address))
    observed: dict[tuple[str, str, int], str] = {
        (source, target, int(port)): outcome
        for source, rows in results.items() for target, port, outcome in rows}
    if there is None:
        observed |= {(p.source, p.target, p.port): outside.NOT_APPLICABLE for p in from_outside}
    return Probe(env.name, ports, pairs + from_outside, observed,
                 {n: sorted(v["taken"]) for n, v in listened.items()}, time.monotonic() - started,
                 time.strftime("%Y-%m-%d %H:%M:%S %Z"))


def _run_here(command: list[str], targets: list[list[Any]], where: str) -> Any:
    """The remote program's `connect` from this machine, behind `command`: a namespace's, or SSH
    to an outside host (whose shell reads one command line)."""
    words = _words("connect", [targets, CONNECT_TIMEOUT])
    if command[:1] == ["ssh"]:
        words = [shlex.join(words)]
    return _program([*command, *words], f"probe from {where}")


@contextmanager
def _session(fleet: Fleet) -> Iterator[Any]:
    """`run(host, mode, *args)`: the remote program on a host, its JSON output parsed."""
    with tempfile.TemporaryDirectory(prefix="partilha-probe-") as folder:
        config = write_ssh_config(fleet, {}, Path(folder) / "ssh_config")
        logins, refused = resolve_logins(fleet, config)
        if refused:
            raise UserError("; ".join(refused.values()))
        yield lambda name, mode, *args: _run(config, logins, name, mode, args)


def _run(config: Path, logins: Mapping[str, Login], name: str, mode: str, args: Sequence[Any]) -> Any:
    login = logins[name]
    words = _words(mode, args)
    command = " ".join(shlex.quote(w) for w in (["sudo", "-n", *words] if login.sudo else words))
    return _program(["ssh", "-F", str(config), "-l", login.user, name, command], f"probe {mode} on {name}")


def _words(mode: str, args: Sequence[Any]) -> list[str]:
    return ["python3", "-", mode, *(json.dumps(a) if isinstance(a, list) else str(a) for a in args)]


def _program(argv: list[str], what: str) -> Any:
    """The program run by `argv` (reading it on its standard input), its JSON output parsed."""
    try:
        proc = subprocess.run(argv, input=PROGRAM, capture_output=True, text=True,
                              timeout=SSH_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UserError(f"{what}: no end within {SSH_TIMEOUT} s") from None
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise UserError(f"{what}: {why[0]}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None
