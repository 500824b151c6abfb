"""The lab: a local Proxmox VE, served through PVE's own HTTP API, with real LXC guests.

This is its public entry point: code outside partilha/lab imports only these names (a unit test,
tests/unit/test_lab_imports.py, reads the imports). Tests of the lab's internals import its area
packages.
"""

from partilha.lab import control
from partilha.lab.instance import LabInstance
from partilha.lab.server import access_log
from partilha.lab.server.faults import TARGETS, Faults, Target
from partilha.lab.throwaway import free_port, free_subnets, make_guests, relocated, throwaway, wait_task

__all__ = ["TARGETS", "Faults", "LabInstance", "Target", "access_log", "control", "free_port",
           "free_subnets", "make_guests", "relocated", "throwaway", "wait_task"]
