"""What a handler gets besides its parameters: who calls, the state, and the permission check."""

from __future__ import annotations

from dataclasses import dataclass

from partilha.lab.access import AccessModel
from partilha.lab.instance import LabInstance
from partilha.lab.server.store import Store
from partilha.lab.server.tasks import TaskRunner
from partilha.lab.server.tickets import Tickets


@dataclass
class Ctx:
    store: Store
    instance: LabInstance
    authid: str  # user@realm, or user@realm!token for API tokens
    access: AccessModel
    tasks: TaskRunner
    tickets: Tickets

    @property
    def userid(self) -> str:
        return self.authid.partition("!")[0]

    def allowed(self, path: str, privs: list[str], any_: bool = False) -> bool:
        return self.access.check(self.authid, path, privs, any_)

    def require(self, path: str, privs: list[str], any_: bool = False) -> None:
        """403 as PVE words it unless the caller holds `privs` (all, or any) on `path`."""
        self.access.require(self.authid, path, privs, any_)
