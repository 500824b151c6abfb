"""The policy pack Pulumi runs: every rule of rules/ (README.md says how to read them)."""

from rules import RULES

from partilha.policy.pack import Pack

Pack(RULES).serve()
