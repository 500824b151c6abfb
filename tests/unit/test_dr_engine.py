"""The runbook engine through the real `partilha dr` command, with a runbook of test data
(tests/unit/runbooks/files.py) that writes files: a run killed with SIGKILL mid-step is refused a
second time on the same objects (the lock names the run), then resumed to success without redoing
its finished step, or given up with `dr clean` (what it wrote removed, its locks released); the
report has the figures; bad input is one line, nothing changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = str(ROOT / "tests" / "unit" / "runbooks")


@pytest.fixture
def dr(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
           "PARTILHA_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "COLUMNS": "200"}
    folder = tmp_path / "target"
    folder.mkdir()
    return folder, env


def partilha(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "partilha"), *args], env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL, check=False)


def runs(env: dict[str, str]) -> list[Path]:
    return sorted((Path(env["PARTILHA_HOME"]) / ".partilha" / "state" / "partilha-dr" / "runs").glob("*"))


def one_line(run: subprocess.CompletedProcess[str], words: str) -> None:
    assert run.returncode != 0, run.stdout
    assert words in run.stderr and "Traceback" not in run.stderr + run.stdout, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def killed_in_the_slow_step(folder: Path, env: dict[str, str]) -> Path:
    """A run of `files` killed (SIGKILL) in its slow second step; its folder."""
    argv = [str(ROOT / ".venv" / "bin" / "partilha"), "dr", "run", "files", str(folder), "--yes",
            "--runbooks", RUNBOOKS]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while "file2" not in (folder / "actions.log").read_text() if (folder / "actions.log").exists() else True:
        assert time.monotonic() < deadline and proc.poll() is None, "the slow step never started"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    [run_dir] = runs(env)
    return run_dir


def test_killed_run_is_locked_then_resumed_without_redoing_finished_steps(
        dr: tuple[Path, dict[str, str]]) -> None:
    folder, env = dr
    run_dir = killed_in_the_slow_step(folder, env)
    journal = json.loads((run_dir / "journal.json").read_text())
    assert [s["state"] for s in journal["steps"]] == ["done", "running", "pending"]

    second = partilha(env, "dr", "run", "files", str(folder), "--yes", "--runbooks", RUNBOOKS)
    one_line(second, f"guest target is locked by dr run {run_dir.name}")
    assert len(runs(env)) == 1

    (folder / "release").touch()
    resumed = partilha(env, "dr", "resume", run_dir.name, "--yes", "--runbooks", RUNBOOKS)
    assert resumed.returncode == 0, resumed.stderr
    assert "RB-FT-01 Write file1: done before" in resumed.stdout
    assert (folder / "actions.log").read_text().split() == ["file1", "file2", "file2", "file3"]
    assert [s["state"] for s in json.loads((run_dir / "journal.json").read_text())["steps"]] == ["done"] * 3
    assert not list((run_dir.parent.parent / "locks").iterdir())  # released

    report = partilha(env, "dr", "report", run_dir.name)
    assert report.returncode == 0, report.stderr
    assert "RTO" in report.stdout and "target 60.0 min: met" in report.stdout
    figures = json.loads((run_dir / "report.json").read_text())["figures"]
    assert figures["disaster_source"] == "the run's start" and 0 < figures["rto_s"] < 600
    assert 55 < figures["rpo_s"] < 3600
    page = (run_dir / "report.html").read_text()
    assert "RB-FT-02" in page and "<script" not in page and "http" not in page
    one_line(partilha(env, "dr", "resume", run_dir.name, "--runbooks", RUNBOOKS), "already succeeded")


def test_a_killed_run_given_up_is_cleaned_its_locks_released_and_it_cannot_be_resumed(
        dr: tuple[Path, dict[str, str]]) -> None:
    folder, env = dr
    run_dir = killed_in_the_slow_step(folder, env)
    cleaned = partilha(env, "dr", "clean", run_dir.name, "--runbooks", RUNBOOKS)
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"dr run {run_dir.name} abandoned: removed actions.log, file1" in cleaned.stdout
    assert not list(folder.iterdir())
    assert json.loads((run_dir / "journal.json").read_text())["outcome"] == "abandoned"
    assert not list((run_dir.parent.parent / "locks").iterdir())
    assert "abandoned" in (run_dir / "report.md").read_text()
    for again in ("resume", "clean"):
        one_line(partilha(env, "dr", again, run_dir.name, "--runbooks", RUNBOOKS), "was abandoned")
    (folder / "release").touch()
    assert partilha(env, "dr", "run", "files", str(folder), "--yes", "--runbooks", RUNBOOKS).returncode == 0


def test_a_destructive_step_asks_and_a_non_terminal_is_refused_before_anything(
        dr: tuple[Path, dict[str, str]]) -> None:
    folder, env = dr
    run = partilha(env, "dr", "run", "files", str(folder), "--destructive", "--runbooks", RUNBOOKS)
    one_line(run, "runbook files has destructive steps (RB-FT-03); confirm with --yes")
    assert not list(folder.iterdir()) and runs(env) == []


def test_disaster_at_is_the_one_the_report_measures_from(dr: tuple[Path, dict[str, str]]) -> None:
    folder, env = dr
    (folder / "release").touch()
    run = partilha(env, "dr", "run", "files", str(folder), "--yes", "--runbooks", RUNBOOKS,
                   "--disaster-at", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 7200)))
    assert run.returncode == 0, run.stderr
    assert "RTO 2.00 h (target 60.0 min: MISSED)" in run.stdout.replace("\n", " ")
    [run_dir] = runs(env)
    assert json.loads((run_dir / "report.json").read_text())["figures"]["disaster_source"] == "--disaster-at"


@pytest.mark.parametrize("args, words", [
    (["dr", "run", "restore-gest", "x"], "no runbook 'restore-gest'"),
    (["dr", "plan", "files", "--runbooks", RUNBOOKS], "partilha dr run files: the following arguments "
                                                      "are required: folder"),
    (["dr", "resume", "files-20000101-000000-abcd"], "no dr run 'files-20000101-000000-abcd'"),
    (["dr", "report", "../x"], "no dr run '../x'"),
    (["dr", "clean", "files-20000101-000000-abcd"], "no dr run 'files-20000101-000000-abcd'"),
    (["dr", "run", "files", "x", "--runbooks", RUNBOOKS, "--disaster-at", "yesterday"],
     "--disaster-at 'yesterday': not an ISO 8601 time"),
])
def test_bad_input_is_one_clear_line_and_changes_nothing(dr: tuple[Path, dict[str, str]],
                                                        args: list[str], words: str) -> None:
    folder, env = dr
    one_line(partilha(env, *args), words)
    assert runs(env) == [] and not list(folder.iterdir())


def test_preflight_names_what_the_runbooks_would_miss(dr: tuple[Path, dict[str, str]]) -> None:
    _, env = dr
    run = partilha(env, "dr", "preflight")
    one_line(run, "dr preflight: 7 missing: secrets passphrase, API token of lab-platform")
    assert "known_hosts, operator SSH key" in run.stderr
    assert "runbooks" in run.stdout
    runbooks = "failback, failover-site, restore-guest, restore-municipality, verify-backups"
    assert f"5 load: {runbooks}" in run.stdout
    assert not (Path(env["PARTILHA_HOME"]) / ".partilha" / "passphrase").exists()  # checked, not made
