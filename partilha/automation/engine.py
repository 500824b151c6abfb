"""One Pulumi operation on one stack, its engine events handed over as the engine writes them.

This is what the Automation API's Stack.up/preview/refresh/destroy do (the stack's pinned CLI with
`--event-log`, that file followed as it grows), minus the two reads of the stack's state that
up, refresh and destroy make afterwards to build their result objects (`stack output` and
`stack history`). Each decrypts the state with the passphrase, about 2 s apiece per stack, which
made a no-op `up` of Médio Tejo half bookkeeping. The stack's outputs are in the engine's events
anyway: the root stack's outputs event carries them (partilha.automation.steps).
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pulumi import automation as auto

Op = Literal["up", "preview", "refresh", "destroy"]
ARGS: dict[Op, list[str]] = {"up": ["up", "--yes", "--skip-preview"], "preview": ["preview"],
                             "refresh": ["refresh", "--yes", "--skip-preview"],
                             "destroy": ["destroy", "--yes", "--skip-preview"]}
POLL = 0.1  # seconds between looks at the event log


# What `up` and `preview` do to the stack of a municipality the inventory no longer has: destroy
# it (then remove_stack), or show that destroy.
RETIRE: dict[Op, list[str]] = {"up": ARGS["destroy"], "preview": ["destroy", "--preview-only"]}


def run(stack: auto.Stack, op: Op, on_event: Callable[[auto.EngineEvent], None],
        refresh: bool = False, retire: bool = False, policy_packs: Sequence[Path] = ()) -> None:
    """Run `op` (with a refresh first if asked; what it means for a retired stack if that is
    one; analysed by the policy packs given); auto.CommandError when the CLI fails."""
    workspace = stack.workspace
    assert isinstance(workspace, auto.LocalWorkspace)
    args = [*(RETIRE[op] if retire else ARGS[op]), "--color", "never", "--stack", stack.name,
            *(["--refresh"] if refresh else []),
            *(arg for pack in policy_packs for arg in ("--policy-pack", str(pack)))]
    with tempfile.TemporaryDirectory(prefix="partilha-events-") as folder:
        log = Path(folder) / "events.jsonl"
        log.touch()
        ended = threading.Event()
        reader = threading.Thread(target=_follow, args=(log, on_event, ended), daemon=True)
        reader.start()
        try:  # the CLI writes the event log only in its debug-commands mode, as the SDK sets it
            workspace.pulumi_command.run([*args, "--event-log", str(log)], workspace.work_dir,
                                         {"PULUMI_DEBUG_COMMANDS": "true", **workspace.env_vars})
        finally:
            ended.set()
            reader.join()


def unprotect_all(stack: auto.Stack) -> None:
    """Lift `protect` from every resource in the stack's state (what `partilha destroy`, which the
    operator confirmed, does before the destroy; the next `up` of a program still declaring them
    protects them again)."""
    workspace = stack.workspace
    assert isinstance(workspace, auto.LocalWorkspace)
    workspace.pulumi_command.run(["state", "unprotect", "--all", "--yes", "--stack", stack.name],
                                 workspace.work_dir, dict(workspace.env_vars))


def remove_stack(workspace: auto.Workspace, name: str, force: bool = False,
                 keep_config: bool = False) -> None:
    """`pulumi stack rm` (with its resources still in the state when `force`; its config file kept
    when `keep_config`), with `--remove-backups`: without it, the file backend keeps the removed
    stack's state as `<stack>.json.bak` and its backups folder."""
    assert isinstance(workspace, auto.LocalWorkspace)
    workspace.pulumi_command.run(["stack", "rm", "--yes", "--remove-backups", *(["--force"] if force else []),
                                  *(["--preserve-config"] if keep_config else []), name],
                                 workspace.work_dir, dict(workspace.env_vars))


def protected_guests(stack: auto.Stack) -> list[str]:
    """The names of the guests the stack's state holds protected."""
    resources = (stack.export_stack().deployment or {}).get("resources") or []
    return sorted(str(r["urn"]).rsplit("::", 1)[1] for r in resources
                  if r.get("protect") and str(r.get("type", "")).endswith("proxmox:Guest"))


def _follow(log: Path, on_event: Callable[[auto.EngineEvent], None], ended: threading.Event) -> None:
    """Hand over each complete line until the engine's last event, or the end of a log whose
    writer has exited (a CLI that failed before its engine started writes no last event)."""
    partial = ""
    with log.open(encoding="utf-8") as lines:
        while True:
            line = lines.readline()
            if not line.endswith("\n"):
                partial += line
                if ended.is_set() and not line:
                    return
                ended.wait(POLL)
                continue
            data = json.loads(partial + line)
            event = auto.EngineEvent.from_json(data)
            if event.policy_event is not None:  # the SDK reads `resource_urn`; the CLI writes resourceUrn
                event.policy_event.resource_urn = data["policyEvent"].get("resourceUrn")
            partial = ""
            on_event(event)
            if event.cancel_event is not None:
                return
