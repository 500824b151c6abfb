"""A killed `partilha up` recovers with no manual step: `up --only constancia` killed with SIGKILL
(its whole process group, as a lost terminal or the OOM killer would) while its engine starts,
while its first guest's create is in flight and once guests are being started, and once ended by
SIGTERM (as `timeout` does); then one `up` converges: no stale lock, no guest refused as "taken"
(the ones the killed runs made are adopted), no orphan or duplicate guest, no process of the
killed runs left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
from proxmoxer import ProxmoxAPI

from partilha import processes
from partilha.automation import runs
from partilha.inventory import guests

from .conftest import ROOT, Cli, lab_vmids

pytestmark = pytest.mark.lab
STACK = "constancia"
PATIENCE = 300  # seconds to wait for a moment to kill at: a bound, not a target


def _up(cli: Cli) -> subprocess.Popen[str]:
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "partilha"), "up", "--env", "lab", "--only", STACK],
                            cwd=cli.project, env=cli.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _when(seen: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not seen():
        assert time.monotonic() < deadline, "the moment to kill at never came"
        time.sleep(0.2)


def test_up_killed_at_three_moments_or_stopped_then_converges(cli: Cli, admin_token: ProxmoxAPI) -> None:
    platform = cli("up", "--env", "lab", "--only", "platform")
    assert platform.returncode == 0, platform.stdout[-3000:]
    records = cli.home / ".partilha" / "runs"
    labels: list[str] = []

    def calls(since: int, ending: str) -> Callable[[], bool]:
        return lambda: any(e.method == "POST" and e.path.endswith(ending) for e in cli.calls(since))

    moments: list[tuple[Callable[[int], Callable[[], bool]], float]] = [
        (lambda since: lambda: bool(cli.calls(since)), 2.0),  # checked its token: the engine starting
        (lambda since: calls(since, "/lxc"), 0.0),  # a create in flight
        (lambda since: calls(since, "/status/start"), 0.0),  # guests made, being started
    ]
    for moment, then in moments:
        since = cli.mark()
        run = _up(cli)
        _when(moment(since))
        time.sleep(then)
        labels += [json.loads(p.read_text())["id"] for p in records.glob("*.json")]
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)

    assert len(labels) == 3  # each run recorded itself, and found the one before it cleared

    since = cli.mark()
    stopped = _up(cli)
    _when(calls(since, "/lxc"))
    label = json.loads(next(records.glob("*.json")).read_text())["id"]
    stopped.send_signal(signal.SIGTERM)  # to partilha alone, as `timeout` sends it
    out, _ = stopped.communicate(timeout=120)
    assert stopped.returncode == 1 and "stopped by SIGTERM" in out, out[-3000:]
    assert processes.labelled(runs.RUN, label) == []

    done = cli("up", "--env", "lab", "--only", STACK)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    declared = {g.vmid for g in guests(cli.inventory) if g.tenant == STACK}
    assert lab_vmids(admin_token) == cli.state_vmids() == declared  # each once, none unknown
    assert [pid for each in labels for pid in processes.labelled(runs.RUN, each)] == []
    assert list(records.glob("*.json")) == []
