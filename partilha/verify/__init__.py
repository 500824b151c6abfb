"""Proving the deployed controls: testinfra over the fleet (tests/infra), JUnit XML and a
Markdown report of controls x hosts."""

from partilha.verify.pytest_run import Verification, verify_fleet
from partilha.verify.report import Outcome, Outcomes

__all__ = ["Outcome", "Outcomes", "Verification", "verify_fleet"]
