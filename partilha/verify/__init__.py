"""Proving the deployed controls: testinfra over the fleet (tests/infra), JUnit XML and a
Markdown report of controls x hosts."""

from partilha.verify.report import Outcome, Outcomes
from partilha.verify.runner import Verification, verify

__all__ = ["Outcome", "Outcomes", "Verification", "verify"]
