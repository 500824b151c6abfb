"""Disaster recovery: runbooks (backup/runbooks/<name>.py) as lists of named steps, run by an
engine that shows progress, asks before destructive steps, keeps a journal to resume from and a
lock per guest beside the state backend, and reports the RTO and RPO achieved.

What a runbook imports is here: `Param`, `Step`, `StepError` and the `Run` it is given."""

from partilha.dr.context import Run
from partilha.dr.runbook import Param, Step, StepError

__all__ = ["Param", "Run", "Step", "StepError"]
