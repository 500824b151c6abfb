"""Where API token secrets live: files under .partilha/tokens/ (0600), never Pulumi state.

PVE shows a token's secret once, when the token is made. The platform stack's ApiToken resource
writes it here under the name of the stack that will use it (`lab-abrantes`), and that stack's
resources read it at run time. Losing the file loses the token: the next `up` makes a new one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from partilha.errors import UserError
from partilha.workspace import Workspace

NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class TokenStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Workspace.find().private / "tokens"

    def path(self, name: str) -> Path:
        if not NAME.fullmatch(name):
            raise UserError(f"token store: {name!r} is not a stack name")
        return self.root / f"{name}.token"

    def write(self, name: str, value: str) -> None:
        """Atomically, readable by the owner only."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self.path(name)
        temporary = final.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
        temporary.replace(final)

    def read(self, name: str) -> str | None:
        try:
            return self.path(name).read_text().strip() or None
        except FileNotFoundError:
            return None

    def remove(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
