"""A run's journal: what it was asked, what it decided, and each step's state and timing, saved
(atomically) after every change, so `dr resume` continues where a Ctrl-C, a `kill -9` or a lost
laptop stopped it and `dr report` reads it.

Journals and locks live beside the state backend (for a file:// backend, in its folder under
partilha-dr/): every operator who can run `partilha up` against the env sees the runs in progress
and can resume one, not only the laptop that started it."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from partilha.errors import UserError
from partilha.workspace import Workspace

State = Literal["pending", "running", "done", "failed", "declined"]
Outcome = Literal["running", "interrupted", "paused", "failed", "succeeded", "abandoned"]
FILE = "journal.json"


def dr_root(workspace: Workspace) -> Path:
    """partilha-dr/ in the state backend's folder."""
    url = os.environ.get("PULUMI_BACKEND_URL") or f"file://{workspace.private / 'state'}"  # as Pulumi's
    if not url.startswith("file://"):
        scheme = url.split("://", 1)[0]
        raise UserError(f"PULUMI_BACKEND_URL is {scheme}://: `partilha dr` keeps its journals and "
                        "locks beside the state backend and supports a file:// backend (a local or "
                        "shared folder) only")
    root = Path(url.removeprefix("file://")).expanduser() / "partilha-dr"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


@dataclass
class StepRecord:
    id: str
    title: str
    destructive: bool
    state: State = "pending"
    started: float | None = None
    finished: float | None = None
    result: str = ""
    checks: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def seconds(self) -> float | None:
        return None if self.started is None or self.finished is None else self.finished - self.started


@dataclass
class Journal:
    run_id: str
    runbook: str
    argv: list[str]
    args: dict[str, Any]
    env: str
    started: float
    disaster_at: float
    disaster_source: str  # "--disaster-at" or "the run's start"
    facts: dict[str, Any]
    steps: list[StepRecord]
    outcome: Outcome = "running"
    finished: float | None = None

    @staticmethod
    def new_id(runbook: str, now: float) -> str:
        return f"{runbook}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{secrets.token_hex(2)}"

    def folder(self, root: Path) -> Path:
        return root / "runs" / self.run_id

    def save(self, root: Path) -> None:
        folder = self.folder(root)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")
        tmp.replace(folder / FILE)

    @classmethod
    def load(cls, root: Path, run_id: str) -> Journal:
        path = root / "runs" / run_id / FILE
        if "/" in run_id or not path.is_file():
            known = sorted(p.name for p in (root / "runs").glob("*") if (p / FILE).is_file())[-5:]
            raise UserError(f"no dr run {run_id!r} in {root / 'runs'}"
                            + (f"; latest: {', '.join(known)}" if known else "; no run yet"))
        data = json.loads(path.read_text())
        data["steps"] = [StepRecord(**s) for s in data["steps"]]
        return cls(**data)
