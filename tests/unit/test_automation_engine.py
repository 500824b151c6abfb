"""Following the engine's event log as the CLI writes it: whole lines only, until the last event,
or the end of the log once the CLI has exited."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pulumi.automation import EngineEvent

from partilha.automation import engine

STDOUT = json.dumps({"sequence": 1, "timestamp": 0, "stdoutEvent": {"message": "hello", "color": "never"}})
CANCEL = json.dumps({"sequence": 2, "timestamp": 0, "cancelEvent": {}})


def _follow(log: Path, ended: threading.Event) -> tuple[threading.Thread, list[EngineEvent]]:
    seen: list[EngineEvent] = []
    reader = threading.Thread(target=engine._follow, args=(log, seen.append, ended))
    reader.start()
    return reader, seen


def test_lines_are_handed_over_whole_until_the_last_event(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.touch()
    reader, seen = _follow(log, threading.Event())
    with log.open("a") as out:
        out.write(STDOUT[:10])  # the writer is mid-line
        out.flush()
        threading.Event().wait(3 * engine.POLL)
        out.write(STDOUT[10:] + "\n" + CANCEL + "\n")
    reader.join(5)
    assert not reader.is_alive()
    assert [e.stdout_event.message if e.stdout_event else "cancel" for e in seen] == ["hello", "cancel"]


def test_a_cli_that_failed_before_its_engine_ran_ends_the_reading(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text(STDOUT + "\n")
    ended = threading.Event()
    reader, seen = _follow(log, ended)
    ended.set()  # the CLI exited without a last event
    reader.join(5)
    assert not reader.is_alive() and len(seen) == 1
