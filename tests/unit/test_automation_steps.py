"""Engine events folded into resource steps, tallies, errors, progress lines and the drift report,
from events shaped as the Pulumi CLI emits them (seen on runs against the lab)."""

from __future__ import annotations

from typing import Any

from pulumi.automation import CommandError, EngineEvent
from pulumi.automation._cmd import CommandResult

from partilha.automation import drift, operation, progress
from partilha.automation.envs import StackSpec
from partilha.automation.operation import StackResult
from partilha.automation.steps import ResourceStep, StackSteps

STACK_URN = "urn:pulumi:lab-abrantes::partilha::pulumi:pulumi:Stack::partilha-lab-abrantes"
GUEST = "pulumi-python:dynamic/proxmox:Guest"


def _urn(name: str, kind: str = GUEST) -> str:
    return f"urn:pulumi:lab-abrantes::partilha::{kind}::{name}"


def _event(kind: str, op: str, name: str, old: dict[str, Any] | None = None,
           new: dict[str, Any] | None = None, kind_type: str = GUEST, custom: bool = True,
           computed: tuple[str, ...] = ()) -> EngineEvent:
    """`computed`: outputs that are no input (the program declares them None: no value)."""
    metadata: dict[str, Any] = {"op": op, "urn": _urn(name, kind_type), "type": kind_type, "provider": ""}
    for key, outputs in (("old", old), ("new", new)):
        if outputs is not None:  # the engine leaves `custom` out when false
            metadata[key] = {"type": kind_type, "urn": metadata["urn"], "outputs": outputs,
                             "inputs": {k: v for k, v in outputs.items() if k not in computed},
                             **({"custom": True} if custom else {})}
    return EngineEvent.from_json({"sequence": 1, "timestamp": 0, kind: {"metadata": metadata}})


def _diagnostic(message: str, urn: str | None, severity: str = "error") -> EngineEvent:
    event: dict[str, Any] = {"message": message, "color": "never", "severity": severity}
    if urn:
        event["urn"] = urn
    return EngineEvent.from_json({"sequence": 1, "timestamp": 0, "diagnosticEvent": event})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_steps_finish_with_their_duration_and_changed_properties() -> None:
    clock = Clock()
    steps = StackSteps("lab-abrantes", clock)
    assert steps.feed(_event("resourcePreEvent", "same", "partilha-lab-abrantes",
                             kind_type="pulumi:pulumi:Stack")) is None
    steps.feed(_event("resourcePreEvent", "create", "abrantes-portal"))
    steps.feed(_event("resourcePreEvent", "update", "abrantes-dms", old={"memory": 512}))
    assert steps.running() == [("create", "abrantes-portal"), ("update", "abrantes-dms")]
    clock.now = 112.5
    created = steps.feed(_event("resOutputsEvent", "create", "abrantes-portal", new={"vmid": 10111}))
    assert created == ResourceStep("create", "Guest", "abrantes-portal", 12.5)
    updated = steps.feed(_event("resOutputsEvent", "update", "abrantes-dms",
                                old={"memory": 512, "cores": 1, "__provider": "old code"},
                                new={"memory": 1024, "cores": 1, "__provider": "new code"}))
    assert updated is not None and dict(updated.changes) == {"memory": (512, 1024)}
    steps.feed(_event("resOutputsEvent", "same", "abrantes-crm"))
    assert steps.running() == [] and steps.counts == {"create": 1, "update": 1, "same": 1}
    steps.feed(_event("resOutputsEvent", "same", "partilha-lab-abrantes", new={"guests": {"a": {}}},
                      kind_type="pulumi:pulumi:Stack", custom=False))
    assert steps.outputs == {"guests": {"a": {}}}  # the stack's outputs, from its root resource


def test_an_update_names_what_the_program_declares_not_what_the_provider_computes() -> None:
    """A preview's new state has no value yet for an output the provider computes (a guest's
    address): it is not a change, as it is not one in the up that follows."""
    steps = StackSteps("lab-abrantes")
    recorded = {"memory": 512, "ip": "10.101.0.11/24", "address": "10.101.0.11"}
    previewed = steps.feed(_event("resOutputsEvent", "update", "abrantes-dms", old=recorded,
                                  new={"memory": 1024, "ip": "10.101.0.11/24"}, computed=("address",)))
    made = steps.feed(_event("resOutputsEvent", "update", "abrantes-dms", old=recorded,
                             new={**recorded, "memory": 1024}, computed=("address",)))
    assert previewed is not None and made is not None
    assert dict(previewed.changes) == dict(made.changes) == {"memory": (512, 1024)}


def test_reading_back_finds_drift_apart_from_the_steps_taken() -> None:
    """`up` with a refresh first: the refresh's findings are not changes `up` made."""
    steps = StackSteps("lab-platform")
    steps.feed(_event("resourcePreEvent", "refresh", "backup-gold", old={"vmids": [101, 102]}))
    found = steps.feed(_event("resOutputsEvent", "update", "backup-gold", old={"vmids": [101, 102]},
                              new={"vmids": [101]}))
    assert found is not None and (found.op, dict(found.changes)) == ("drift", {"vmids": ([101, 102], [101])})
    steps.feed(_event("resourcePreEvent", "refresh", "pool-abrantes", old={}))
    steps.feed(_event("resOutputsEvent", "delete", "pool-abrantes", old={}))
    # `up --refresh` reports the reading back as a "refresh" step, old and new states in it
    steps.feed(_event("resourcePreEvent", "refresh", "sdn", old={"changes": ["a"]}))
    steps.feed(_event("resOutputsEvent", "refresh", "sdn", old={"changes": ["a"]}, new={"changes": ["a"]}))
    steps.feed(_event("resourcePreEvent", "refresh", "group-ssh", old={"rules": [1]}))
    steps.feed(_event("resOutputsEvent", "refresh", "group-ssh", old={"rules": [1]}, new={"rules": []}))
    steps.feed(_event("resourcePreEvent", "update", "backup-gold", old={"vmids": [101]}))
    steps.feed(_event("resOutputsEvent", "update", "backup-gold", old={"vmids": [101]},
                      new={"vmids": [101, 102]}))
    assert steps.found == {"drift": 2, "gone": 1, "same": 1} and steps.counts == {"update": 1}


def test_a_replacement_is_one_step_and_engine_bookkeeping_is_none() -> None:
    steps = StackSteps("lab-abrantes")
    for op in ("delete-replaced", "replace", "create-replacement"):
        steps.feed(_event("resourcePreEvent", op, "abrantes-portal"))
        steps.feed(_event("resOutputsEvent", op, "abrantes-portal", old={}, new={}))
    steps.feed(_event("resOutputsEvent", "create", "default", kind_type="pulumi:providers:pulumi-python"))
    steps.feed(_event("resOutputsEvent", "create", "network", new={}, kind_type="partilha:dc:Network",
                      custom=False))  # a component: it only groups resources
    assert steps.counts == {"replace": 1}


def test_errors_name_the_resource_and_a_program_error_its_last_line() -> None:
    steps = StackSteps("lab-abrantes")
    steps.feed(_diagnostic("Exception calling application: 403 Forbidden: Permission check failed\n",
                           _urn("abrantes-portal")))
    steps.feed(_diagnostic("update failed\n", STACK_URN))
    steps.feed(_diagnostic("a warning\n", _urn("abrantes-dms"), severity="warning"))
    failed = steps.feed(_event("resOpFailedEvent", "create", "abrantes-portal"))
    assert failed is not None and failed.failed and "create" not in steps.counts
    assert steps.error() == "abrantes-portal: 403 Forbidden: Permission check failed"

    program = StackSteps("lab-abrantes")
    program.feed(_diagnostic("Traceback (most recent call last):\n  File \"stacks/__main__.py\"\n"
                             "partilha.errors.UserError: no platform outputs\n", STACK_URN))
    assert program.error() == "partilha.errors.UserError: no platform outputs"


def test_a_providers_traceback_is_its_last_line() -> None:
    """Pulumi's dynamic providers send an exception as its whole traceback: the operator gets
    what it says, PVE's answer without the client's class name."""
    steps = StackSteps("lab-platform")
    frames = ('Traceback (most recent call last):\n'
              '  File "pulumi/dynamic/__main__.py", line 233, in Read\n'
              '    result = provider.read(id_, props)\n'
              '             ^^^^^^^^^^^^^^^^^^^^^^^^^\n')
    steps.feed(_diagnostic(frames + "proxmoxer.core.ResourceException: 403 Forbidden: Permission check "
                                    "failed\n", _urn("constancia-token")))
    steps.feed(_diagnostic(frames + "KeyError: 'privsep'\n", _urn("abrantes-token")))
    assert steps.error() == ("constancia-token: 403 Forbidden: Permission check failed; "
                             "abrantes-token: KeyError: 'privsep'")


def test_tallies_and_lines_read_as_the_operation_does() -> None:
    counts = {"same": 40, "create": 3, "update": 1}
    assert progress.tally("up", counts) == "3 created, 1 updated, 40 unchanged"
    assert progress.tally("preview", counts) == "3 to create, 1 to update, 40 unchanged"
    drifted = {"drift": 2, "gone": 1, "same": 9}
    assert progress.tally("refresh", drifted) == "2 drifted, 1 gone, 9 unchanged"
    assert progress.tally("destroy", {}) == "nothing"
    step = ResourceStep("update", "Guest", "abrantes-dms", 1.25, {"memory": (512, 1024), "cores": (1, 2)})
    line = progress.step_line("up", "lab-abrantes", step)
    assert "[yellow]~[/] Guest abrantes-dms: memory, cores" in line and "updated (1.2 s)" in line
    assert "to update" in progress.step_line("preview", "lab-abrantes", step)
    found = ResourceStep("drift", "Guest", "abrantes-dms", 0.5, {"memory": (512, 1024)})
    line = progress.step_line("refresh", "lab-abrantes", found)
    assert "~[/] Guest abrantes-dms: memory [dim]drifted" in line


def test_drift_names_resource_property_recorded_and_live_values() -> None:
    result = StackResult(StackSpec("lab", "municipality", "abrantes"), "refresh")
    result.steps = [ResourceStep("drift", "Guest", "abrantes-dms", 0.1, {"memory": (1024, 2048)}),
                    ResourceStep("gone", "Pool", "abrantes", 0.1),
                    ResourceStep("same", "Guest", "abrantes-crm", 0.1)]
    assert drift.drift([result]) == [
        drift.Drift("lab-abrantes", "Guest abrantes-dms", "memory", 1024, 2048),
        drift.Drift("lab-abrantes", "Pool abrantes", "")]


def test_a_failure_of_the_cli_itself_is_its_last_error_line() -> None:
    spec = StackSpec("lab", "municipality", "abrantes")
    passphrase = CommandError(CommandResult(
        "", "warning: A new version\nerror: incorrect passphrase\n  try again\n", 255))
    assert operation._cli_error(passphrase, spec) == "error: incorrect passphrase"


def test_a_lock_no_partilha_run_left_names_the_command_that_lifts_it() -> None:
    locked = CommandError(CommandResult(
        "", "error: the stack is currently locked by 1 lock(s)\n  pulumi cancel\n", 255))
    message = operation._cli_error(locked, StackSpec("lab", "municipality", "abrantes"))
    assert message.endswith("`partilha cancel --env lab --only abrantes` lifts the lock")
