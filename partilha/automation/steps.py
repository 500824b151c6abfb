"""What one stack's engine events say happened to its resources, as the run goes (pure: events
in, steps, counts and errors out). Only custom resources (objects on Proxmox VE) count: the
stack itself and provider instances are the engine's bookkeeping, and component resources only
group others.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.automation import EngineEvent, StepEventMetadata

ENGINE_TYPES = ("pulumi:pulumi:", "pulumi:providers:")
ROOT = "pulumi:pulumi:Stack"
PROVIDER_KEY = "__provider"  # the pickled dynamic provider: changes with its code, not the object
# A replacement is several engine steps; it is shown and counted once, as "replace".
OPS = {"create-replacement": "replace", "replace": None, "delete-replaced": None,
       "discard-replaced": None, "remove-pending-replace": None}
PROGRAM_ERRORS = ("update failed", "preview failed", "refresh failed", "destroy failed")
TRACEBACK = "Traceback (most recent call last):"
PVE_ANSWER = "proxmoxer.core.ResourceException: "  # its text is PVE's: status and message


@dataclass(frozen=True)
class ResourceStep:
    op: str  # create, update, replace, delete, same, read, ...; drift or gone when read back
    type: str  # the resource type's last part: Guest, SdnVnet, ...
    name: str  # the resource's name in the program
    seconds: float
    # property -> (recorded, new) for what differs: the update's declared ones, or refresh's drift
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    failed: bool = False


def _op(metadata: StepEventMetadata) -> str | None:
    op = str(getattr(metadata.op, "value", metadata.op))
    return OPS.get(op, op)


def _outputs(state: Any) -> Mapping[str, Any]:
    return dict(state.outputs or {}) if state is not None else {}


def _changes(metadata: StepEventMetadata, declared: bool) -> dict[str, tuple[Any, Any]]:
    """The outputs that differ; only those the program declares (its inputs) when `declared`: an
    output the provider computes (a guest's address) is not known yet in a preview, and follows
    from the inputs in an up, so neither names it."""
    old, new = _outputs(metadata.old), _outputs(metadata.new)
    if metadata.new is None:  # gone
        return {}
    keys = set(old) | set(new)
    if declared:
        keys = {k for state in (metadata.old, metadata.new) if state is not None for k in state.inputs or {}}
    return {k: (old.get(k), new.get(k)) for k in sorted(keys - {PROVIDER_KEY}) if old.get(k) != new.get(k)}


class StackSteps:
    """Feed it a stack's engine events; it tells which steps finished and keeps the tally."""

    def __init__(self, stack: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.stack, self.clock = stack, clock
        self.started: dict[str, tuple[str, float]] = {}  # urn -> (op, when), running steps
        self.counts: Counter[str] = Counter()  # steps taken, by op
        self.found: Counter[str] = Counter()  # what reading resources back found
        self.errors: list[str] = []
        self.program_errors: list[str] = []
        self.outputs: dict[str, Any] | None = None  # the stack's, from its root resource's event

    def feed(self, event: EngineEvent) -> ResourceStep | None:
        """The step this event finishes, if it finishes one worth telling."""
        if event.diagnostic_event is not None:
            self._diagnostic(event.diagnostic_event.severity, event.diagnostic_event.message,
                             event.diagnostic_event.urn)
            return None
        pre, done, failed = event.resource_pre_event, event.res_outputs_event, event.res_op_failed_event
        if done is not None and done.metadata.type == ROOT and done.metadata.new is not None:
            self.outputs = dict(done.metadata.new.outputs or {})
        if pre is not None and (op := self._resource_op(pre.metadata)):
            self.started[pre.metadata.urn] = (op, self.clock())
        elif done is not None and (op := self._resource_op(done.metadata)):
            return self._finish(done.metadata, op, failed=False)
        elif failed is not None and (op := self._resource_op(failed.metadata)):
            return self._finish(failed.metadata, op, failed=True)
        return None

    def running(self) -> list[tuple[str, str]]:
        """(op, resource name) of the steps under way."""
        return [(op, urn.rsplit("::", 1)[1]) for urn, (op, _) in self.started.items() if op != "same"]

    def error(self) -> str:
        """What went wrong: the resources' errors, else the program's ("" when neither said)."""
        return "; ".join(self.errors or self.program_errors)

    @staticmethod
    def _resource_op(metadata: StepEventMetadata) -> str | None:
        state = metadata.new or metadata.old
        if metadata.type.startswith(ENGINE_TYPES) or (state is not None and not state.custom):
            return None  # components only group resources: their steps are no work of their own
        return _op(metadata)

    def _finish(self, metadata: StepEventMetadata, op: str, failed: bool) -> ResourceStep:
        began_as, began = self.started.pop(metadata.urn, (op, self.clock()))
        changes = _changes(metadata, op != "refresh") if op in ("update", "replace", "refresh") else {}
        tally = self.counts
        if began_as == "refresh":  # read back: the object is gone, has drifted, or is as recorded
            op = "gone" if metadata.new is None else "drift" if changes else "same"
            tally = self.found
        if not failed:
            tally[op] += 1
        return ResourceStep(op, metadata.type.rsplit(":", 1)[-1], metadata.urn.rsplit("::", 1)[1],
                    self.clock() - began, changes, failed)

    def _diagnostic(self, severity: str, message: str, urn: str | None) -> None:
        if severity != "error":
            return
        text = message.strip().removeprefix("Exception calling application: ")
        if urn and not urn.split("::")[-2].rsplit("$", 1)[-1].startswith(ENGINE_TYPES):
            if text.startswith(TRACEBACK):  # a dynamic provider's exception: its last line says what
                text = text.splitlines()[-1].removeprefix(PVE_ANSWER)
            self.errors.append(f"{urn.rsplit('::', 1)[1]}: {text}")
        elif text not in PROGRAM_ERRORS:
            # a program's exception: its last line says what (a traceback precedes it)
            self.program_errors.append(text.splitlines()[-1])
