"""What a runbook's functions are given: the run's arguments, its facts (decided once, kept in the
journal so a resumed run acts on the same objects), the env, and the API as the administrator."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from partilha.automation.envs import Env, StackSpec, load_env
from partilha.proxmox.client import Pve


class ReadOnlyPve(Pve):
    """The API during `dr plan`: any call but a read is refused, so a plan cannot change a thing."""

    def call(self, method: str, path: str, /, **params: Any) -> Any:
        if method != "GET":
            raise RuntimeError(f"dr plan tried {method} {path}: a plan only reads")
        return super().call(method, path, **params)


def admin_api(env: Env, read_only: bool = False) -> Pve:
    """The API with the administrator's token: the platform stack's endpoint and token."""
    platform = StackSpec(env.name, "platform")
    config = {**env.config(platform), **(env.plain_config(platform) or {})}
    endpoint = env.endpoint(platform, config, os.environ)
    return (ReadOnlyPve if read_only else Pve).connect(endpoint)


@dataclass
class Run:
    id: str
    runbook: str
    args: dict[str, Any]
    env_name: str
    facts: dict[str, Any]  # JSON values only: the journal keeps them
    planning: bool = False
    log: Callable[[str], None] = print
    folder: Path = Path()  # the run's folder (journal, reports): set by the engine
    _env: Env | None = field(default=None, repr=False)
    _pve: Pve | None = field(default=None, repr=False)

    @property
    def env(self) -> Env:
        if self._env is None:
            self._env = load_env(self.env_name)
        return self._env

    @property
    def pve(self) -> Pve:
        """The administrator's API (the platform stack's endpoint and token)."""
        if self._pve is None:
            self._pve = admin_api(self.env, read_only=self.planning)
        return self._pve

    def lock(self, guests: list[str]) -> None:
        """The guests this run changes: no other run may touch them until it ends."""
        self.facts["guests"] = sorted(guests)
