"""Running deploy files over a fleet with pyinfra, and what each run changed on each host.

pyinfra runs as its own process (`python -m pyinfra -y --json`): its gevent monkey-patching,
global state and cached known_hosts stay out of the caller, and every run reads the pinned
host keys afresh. Its JSON results say, per operation, which hosts it changed; a host's change
count is the number of operations that changed it, so a converged host counts 0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from partilha.deploy import access, pyinfra_inventory
from partilha.deploy.fleet import Fleet
from partilha.errors import UserError
from partilha.workspace import CHECKOUT

RUN_TIMEOUT = 3600.0
DISPATCH = Path(__file__).with_name("dispatch.py")  # a deploy file: pyinfra runs it, never import it
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Result:
    hosts: list[str]  # the hosts the run was for
    changes: dict[str, int] = field(default_factory=dict)  # host -> operations that changed it
    changed_ops: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # host -> why it failed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def total_changes(self) -> int:
        return sum(self.changes.values())


Plan = Mapping[str, Sequence[Path]]  # host name -> its deploy files, in order


def run(deploy_files: Sequence[Path] | Plan, fleet: Fleet, workdir: Path, *, limit: Sequence[str] = (),
        on_line: Callable[[str], None] | None = None, timeout: float = RUN_TIMEOUT) -> Result:
    """Run `deploy_files` (in order) on every host of `fleet`, or each host's own list from a
    plan, all hosts in parallel in one pyinfra run. Hosts without deploy files are left out.
    Hosts that cannot be reached safely (changed host key, no login) are failures; the others
    still run. `limit` (names, addresses, groups) runs on those hosts only, yet every planned
    host stays in pyinfra's inventory: a deploy sees its peers (the hypervisor deploy writes
    the whole cluster into each node's /etc/hosts and known_hosts), pyinfra's --limit does the rest."""
    plan = deploy_files if isinstance(deploy_files, Mapping) else {h.name: deploy_files for h in fleet.hosts}
    for path in {p for files in plan.values() for p in files}:
        if not path.is_file():
            raise UserError(f"{path}: no such deploy file")
    fleet = replace(fleet, hosts=tuple(h for h in fleet.hosts if plan.get(h.name)))
    targets = [h.name for h in fleet.select(limit).hosts]
    started = time.monotonic()
    result = Result(hosts=targets)
    workdir.mkdir(parents=True, exist_ok=True)
    config = access.write_ssh_config(fleet, {}, workdir / "ssh_config")
    logins, failures = access.resolve_logins(fleet, config)
    # A peer outside the limit that does not answer is left out of the inventory, not a failure.
    result.failures = {name: why for name, why in failures.items() if name in targets}
    access.write_ssh_config(fleet, logins, config)
    ran = [name for name in targets if name in logins]
    if ran:
        inventory = workdir / "inventory.py"
        inventory.write_text(pyinfra_inventory.render(fleet, logins, config, plan))
        payload, errors = _pyinfra(inventory, workdir, ran if limit else [], on_line, timeout)
        _collect(result, payload, errors, ran)
    result.seconds = time.monotonic() - started
    return result


def _pyinfra(inventory: Path, workdir: Path, limit: Sequence[str], on_line: Callable[[str], None] | None,
             timeout: float) -> tuple[dict[str, Any] | None, list[str]]:
    """pyinfra's JSON results (None if it stopped before writing them) and its stderr lines."""
    # The checkout on the path: deploy files import deploys.controls like any module.
    path = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "PYINFRA_PROGRESS": "off", "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "pyinfra", "-y", "--json", *(f"--limit={name}" for name in limit),
            str(inventory), str(DISPATCH)]
    lines: list[str] = []
    results = workdir / "pyinfra-results.json"  # a file: a pipe would fill while stderr is read
    # cwd: pyinfra writes pyinfra-debug.log there when it crashes; keep it out of the checkout.
    with (workdir / "pyinfra.log").open("w") as log, results.open("w") as stdout, \
            subprocess.Popen(argv, cwd=workdir, env=env, stdout=stdout, stderr=subprocess.PIPE,
                             text=True, stdin=subprocess.DEVNULL) as proc:
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            assert proc.stderr is not None
            for raw in proc.stderr:  # pyinfra logs to stderr, one line per event
                line = ANSI.sub("", raw.rstrip("\n"))
                lines.append(line)
                log.write(line + "\n")
                if on_line:
                    on_line(line)
            proc.wait()
        finally:
            watchdog.cancel()
    if proc.returncode < 0:
        lines.append(f"pyinfra was stopped after {timeout:g} s")
    text = results.read_text()
    try:
        payload = json.loads(text) if text.strip() else None
    except ValueError:
        payload = None
    return payload, lines


def _collect(result: Result, payload: dict[str, Any] | None, errors: list[str], ran: list[str]) -> None:
    results = (payload or {}).get("results")
    if not results:
        why = _last_error(errors) or "pyinfra stopped without results"
        result.failures.update({name: f"{why} (see pyinfra.log)" for name in ran})
        return
    for name in ran:
        result.changes[name] = 0
        result.changed_ops[name] = []
    failed = set(results.get("failed_hosts", []))
    for op in results["operations"]:
        for name in op["success"]:
            result.changes[name] = result.changes.get(name, 0) + 1
            result.changed_ops.setdefault(name, []).append(op["name"])
        failed.update(op["error"])
    for name in sorted(failed):
        result.failures[name] = _host_error(name, errors) or "an operation failed (see pyinfra.log)"


def _host_error(name: str, lines: list[str]) -> str | None:
    """pyinfra's last error line about host `name` (its lines read `[name] ...`)."""
    mine = [line.split("]", 1)[1].strip() for line in lines if line.strip().startswith(f"[{name}]")]
    errors = [line for line in mine if re.search(r"error|fail|denied|refused|timed out", line, re.I)]
    return errors[-1] if errors else None


def _last_error(lines: list[str]) -> str | None:
    tail = [line.strip() for line in lines if line.strip() and not line.startswith("-->")]
    return tail[-1] if tail else None
