"""For deploy files: the host pyinfra deploys to now, in partilha's model, and whether a control
of its catalogue applies to it."""

from __future__ import annotations

from typing import Protocol

from pyinfra.context import host

from partilha.deploy.facts import Container
from partilha.deploy.hosts import Host


class Applicable(Protocol):
    def not_applicable(self, kind: str, container: bool) -> str | None: ...


def this_host() -> Host:
    """The host pyinfra is deploying to, from the data partilha gave it."""
    return Host.from_json(host.data.partilha)


def applies(control: Applicable) -> bool:
    """Whether `control` applies to the host pyinfra is deploying to (its kind, in a container)."""
    return control.not_applicable(this_host().kind, bool(host.get_fact(Container))) is None
