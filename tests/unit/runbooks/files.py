"""Write three files into a folder, the second slowly (the engine's tests: kill, resume, clean, lock)."""

from __future__ import annotations

import time
from pathlib import Path

from partilha.dr import Param, Run, Step, StepError

PARAMS = (Param("folder", help="where the files go"),
          Param("--destructive", help="mark the last step destructive", flag=True))


def _folder(run: Run) -> Path:
    return Path(run.args["folder"])


def prepare(run: Run) -> None:
    run.facts["targets"] = {"tier": "test", "rto_s": 3600, "rpo_s": 3600}
    run.facts["restored"] = [{"guest": "files", "archive": "none", "backup_at": time.time() - 60}]
    run.lock([_folder(run).name])


def _write(name: str, wait: bool = False) -> Step:
    def action(run: Run) -> str:
        with (_folder(run) / "actions.log").open("a") as log:
            log.write(f"{name}\n")
        deadline = time.monotonic() + 60
        while wait and not (_folder(run) / "release").exists():
            if time.monotonic() > deadline:
                raise StepError("nobody released the slow step")
            time.sleep(0.1)
        (_folder(run) / name).write_text(name)
        return f"wrote {name}"

    def verification(run: Run) -> list[str]:
        if (_folder(run) / name).read_text() != name:
            raise StepError(f"{name} does not say {name}")
        return [f"{name} holds {name!r}"]

    return Step(f"RB-FT-0{name[-1]}", f"Write {name}", action, verification,
                touches=lambda run: [str(_folder(run) / name)])


def clean(run: Run) -> str:
    made = sorted(p for p in _folder(run).iterdir() if p.name == "actions.log" or p.name.startswith("file"))
    for path in made:
        path.unlink()
    return f"removed {', '.join(p.name for p in made) or 'nothing'}"


def steps(run: Run) -> list[Step]:
    last = _write("file3")
    if run.args["destructive"]:
        last = Step(last.id, last.title, last.action, last.verification, touches=last.touches,
                    destructive=True)
    return [_write("file1"), _write("file2", wait=True), last]
