"""The one error type an inventory raises: a list of problems, each naming file, field and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from partilha.inventory.text import clip, printable

# However long a value an inventory holds, a problem about it stays one readable line.
MAX_FIELD = 200
MAX_MESSAGE = 400


@dataclass(frozen=True)
class Problem:
    file: Path
    field: str
    message: str
    line: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", clip(printable(self.field), MAX_FIELD))
        object.__setattr__(self, "message", clip(printable(self.message), MAX_MESSAGE))

    def __str__(self) -> str:
        file = printable(str(self.file))  # a file name in the folder may hold anything
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InventoryError(Exception):
    """An inventory that cannot be loaded or breaks a rule."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("InventoryError needs at least one problem")
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
