"""The lab: a local Proxmox VE, served through PVE's own HTTP API, with real LXC guests.

This is its public entry point: code outside partilha/lab imports only these names (a unit test,
tests/unit/test_lab_imports.py, reads the imports). Tests of the lab's internals import its area
packages.

The names that bring the lab's machinery (control, the instance, the throwaway lab) load on first
use, so a command that only needs the fault targets for its options (`partilha lab faults`) starts
without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from partilha.lab.server.faults import TARGETS, Faults, Target

if TYPE_CHECKING:
    from partilha.lab import control
    from partilha.lab.instance import LabInstance
    from partilha.lab.server import access_log
    from partilha.lab.throwaway import free_port, free_subnets, make_guests, relocated, throwaway, wait_task

__all__ = ["TARGETS", "Faults", "LabInstance", "Target", "access_log", "control", "free_port",
           "free_subnets", "make_guests", "relocated", "throwaway", "wait_task"]

_MODULES = {"control": "partilha.lab.control", "access_log": "partilha.lab.server.access_log"}
_NAMES = {"LabInstance": "partilha.lab.instance",
          **dict.fromkeys(("free_port", "free_subnets", "make_guests", "relocated", "throwaway",
                           "wait_task"), "partilha.lab.throwaway")}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        globals()[name] = importlib.import_module(_MODULES[name])
    elif name in _NAMES:
        home = importlib.import_module(_NAMES[name])
        # all of the module's names at once: importing partilha.lab.throwaway bound `throwaway`
        # to the module, and the function of that name replaces it here
        globals().update({n: getattr(home, n) for n, h in _NAMES.items() if h == _NAMES[name]})
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return globals()[name]
