"""Provider tests run the real Pulumi engine on inline programs against a throwaway lab.

`stack` is a fresh stack per test in a throwaway file backend; `stack.up(program)` runs the
program (a function declaring resources) and returns the engine's summary, and `stack.writes()`
counts the API writes (calls that are not GETs) the lab logged since the last mark. The lab's
admin token reaches the providers through the environment, as a user would pass it.
"""

from __future__ import annotations

import gc
import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from partilha.automation.steps import StackSteps
from partilha.lab.instance import LabInstance
from partilha.lab.server import access_log
from partilha.proxmox.endpoint import lab_env
from partilha.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
Program = Callable[[], None]


class LabStack:
    """One inline-program stack; the program can be swapped between runs."""

    def __init__(self, lab: LabInstance, work: Path, env: dict[str, str]) -> None:
        self.lab, self.work, self.env = lab, work, env
        self.program: Program = lambda: None
        self.stack = auto.create_or_select_stack(
            stack_name=f"t{secrets.token_hex(3)}", project_name="partilha-providers",
            program=lambda: self.program(),
            opts=auto.LocalWorkspaceOptions(
                work_dir=str(work), env_vars=env,
                pulumi_command=auto.PulumiCommand(str(ROOT / ".tools"), skip_version_check=True),
                project_settings=auto.ProjectSettings(
                    name="partilha-providers", runtime=auto.ProjectRuntimeInfo(
                        name="python", options={"virtualenv": str(ROOT / ".venv")}))))
        self.mark = access_log.mark(lab.state_dir)
        self.changed: dict[str, list[str]] = {}  # the last up's or preview's: resource -> properties

    def _marked(self) -> None:
        self.mark = access_log.mark(self.lab.state_dir)

    def up(self, program: Program | None = None) -> dict[str, int]:
        """What happened to the program's resources (the stack and providers left out); `changed`
        says which properties."""
        self.program = program or self.program
        self._marked()
        steps: Counter[str] = Counter()
        told = _changes_into(self.changed)
        self.stack.up(color="never", on_output=lambda _: None,
                      on_event=lambda event: (_count_into(steps)(event), told(event)))
        return dict(steps)

    def preview(self, program: Program | None = None) -> dict[str, int]:
        """What a preview shows (`changed`: which properties), as partilha's preview reads it."""
        self.program = program or self.program
        self._marked()
        return dict(self.stack.preview(color="never", on_event=_changes_into(self.changed)).change_summary)

    def refresh(self) -> dict[str, list[str]]:
        """The drift `pulumi refresh` found: resource name -> the properties that differ."""
        self._marked()
        drift: dict[str, list[str]] = {}

        def collect(event: auto.EngineEvent) -> None:
            done = event.res_outputs_event
            if done and not done.metadata.type.startswith(("pulumi:pulumi:", "pulumi:providers:")):
                old, new = done.metadata.old, done.metadata.new
                before, after = (old.outputs if old else {}), (new.outputs if new else {})
                changed = [k for k in set(before) | set(after)
                           if k != "__provider" and before.get(k) != after.get(k)]
                if changed:
                    drift[done.metadata.urn.rsplit("::", 1)[1]] = sorted(changed)

        self.stack.refresh(color="never", on_output=lambda _: None, on_event=collect)
        return drift

    def destroy(self) -> None:
        self._marked()
        self.stack.destroy(color="never", on_output=lambda _: None)

    def outputs(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.stack.outputs().items()}

    def state(self, show_secrets: bool = False) -> str:
        """`pulumi stack export`, as text."""
        args = ["stack", "export", "--stack", self.stack.name]
        if show_secrets:
            args.append("--show-secrets")
        return self.stack.workspace.pulumi_command.run(  # type: ignore[attr-defined]
            args, str(self.work), self.env).stdout

    def entries(self) -> list[access_log.Entry]:
        return access_log.read(self.lab.state_dir, self.mark)

    def writes(self) -> list[str]:
        return [f"{e.method} {e.path}" for e in self.entries() if e.write]


def _count_into(steps: Counter[str]) -> Callable[[auto.EngineEvent], None]:
    def count(event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is None or pre.metadata.type.startswith(("pulumi:pulumi:", "pulumi:providers:")):
            return
        op = str(getattr(pre.metadata.op, "value", pre.metadata.op))
        if op in ("same", "create", "update", "delete", "replace", "refresh"):
            steps[op] += 1
    return count


def _changes_into(changed: dict[str, list[str]]) -> Callable[[auto.EngineEvent], None]:
    """Fills `changed` (emptied first) with the properties partilha reports for each resource
    updated or replaced (partilha.automation.steps)."""
    changed.clear()
    steps = StackSteps("test")

    def collect(event: auto.EngineEvent) -> None:
        step = steps.feed(event)
        if step is not None and step.op in ("update", "replace"):
            changed[step.name] = sorted(step.changes)
    return collect


@pytest.fixture(scope="module")
def pulumi_env(lab: LabInstance, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pulumi")
    (home / "state").mkdir()
    (home / "passphrase").write_text("test-only\n")
    base = {"PULUMI_BACKEND_URL": f"file://{home / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(home / "passphrase"),
            # the token store and lab lookups of the providers go to this throwaway home
            "PARTILHA_HOME": str(home)}
    # inline programs get no runtime options: the provider plugin finds the venv's python on PATH
    env = Workspace(ROOT).pulumi_env({**base, "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin"})
    env.pop("PULUMI_HOME")  # keep the plugin cache shared: nothing to download either way
    return {**base, **env, **lab_env(lab.credentials, lab.cert)}


@pytest.fixture
def stack(lab: LabInstance, pulumi_env: dict[str, str], tmp_path: Path) -> Iterator[LabStack]:
    made = LabStack(lab, tmp_path, pulumi_env)
    try:
        yield made
    finally:
        made.destroy()
        made.stack.workspace.remove_stack(made.stack.name)
        # An inline run the engine ends early (a resource failed) leaves the SDK's run_in_stack
        # coroutine in a reference cycle. Left to a random later collection, its finaliser's
        # traceback is formatted inside whatever ast.parse triggered that collection, and
        # Python 3.11's ast module then fails that parse ("AST constructor recursion depth
        # mismatch"): a test module import or pytest's own summary crashes. Collect it here.
        gc.collect()


def load_json(text: str) -> Any:
    return json.loads(text)
