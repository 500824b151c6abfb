"""Recorded runs (partilha.automation.runs), with real processes: a live run on the same stack is
refused by PID; what a dead run left (a process carrying its label) is ended and its record
removed; a process without the label, or a run on other stacks, is left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from partilha import processes
from partilha.automation import project, runs
from partilha.errors import UserError


def _record(folder: Path, name: str, pid: int, stacks: list[str]) -> Path:
    started = processes.start_time(pid)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"id": name, "pid": pid, "started": started, "stacks": stacks}))
    return path


def _sleeper(label: str | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, **({runs.RUN: label} if label else {})}
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=env)


def test_a_live_run_on_the_same_stack_is_refused_by_pid(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    _record(folder, "live", os.getpid(), ["lab-abrantes"])
    command = project.pulumi_command()
    refused = rf"lab-abrantes: another partilha run \(PID {os.getpid()}\)"
    with pytest.raises(UserError, match=refused), \
            runs.recorded(folder, ["lab-abrantes"], tmp_path, command, {}):
        pass
    with runs.recorded(folder, ["lab-constancia"], tmp_path, command, {}) as label:
        assert (folder / f"{label}.json").is_file() and (folder / "live.json").is_file()
    assert not (folder / f"{label}.json").exists()


def test_a_dead_runs_leftovers_are_ended_and_nobody_elses(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    leftover, stranger = _sleeper("dead"), _sleeper(None)
    try:
        _record(folder, "dead", leftover.pid, ["lab-abrantes"])
        dead = folder / "dead.json"
        dead.write_text(json.dumps({**json.loads(dead.read_text()), "pid": gone.pid, "started": 1}))
        (folder / "torn.json").write_text('{"id": "torn"')  # written by a run killed mid-write
        with runs.recorded(folder, ["lab-abrantes"], tmp_path, project.pulumi_command(), {}):
            assert leftover.wait(timeout=30) != 0
            assert stranger.poll() is None
            assert not (folder / "dead.json").exists() and not (folder / "torn.json").exists()
    finally:
        for child in (leftover, stranger):
            child.kill()
            child.wait()
