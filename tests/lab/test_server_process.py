"""`lab up` and `lab down` trust the PID file only when it names this lab's own API server, started
when recorded: a PID file left over from before a reboot, or whose number another process now
has, is neither signalled by `lab down` nor stops `lab up` from starting the API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from partilha.lab import control
from partilha.lab.instance import LabInstance

pytestmark = pytest.mark.lab


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated live process whose PID a stale PID file names."""
    process = subprocess.Popen(["sleep", "300"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_pid_file_naming_a_stranger_is_neither_signalled_nor_trusted(
        lab: LabInstance, stranger: subprocess.Popen[bytes]) -> None:
    control.down(lab)
    lab.pid_file.write_text(f"{stranger.pid}\n")  # as an older partilha wrote it
    assert control.server_pid(lab) is None
    control.down(lab)
    assert stranger.poll() is None  # still alive: never signalled
    lab.pid_file.write_text(f"{stranger.pid}\n")
    control.up(lab)
    assert control.answers(lab)
    assert control.server_pid(lab) not in (None, stranger.pid)
    assert stranger.poll() is None


def test_the_servers_own_pid_with_another_start_time_is_not_trusted(lab: LabInstance) -> None:
    control.up(lab)
    pid = control.server_pid(lab)
    assert pid is not None
    recorded = lab.pid_file.read_text()
    started = int(recorded.split()[1])
    lab.pid_file.write_text(f"{pid} {started + 1}\n")  # that PID, but another process's lifetime
    assert control.server_pid(lab) is None
    lab.pid_file.write_text(recorded)
    assert control.server_pid(lab) == pid
    control.down(lab)
    assert control.server_pid(lab) is None and not control.answers(lab)
    control.up(lab)
    assert control.answers(lab)
