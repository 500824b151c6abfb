"""The one error type an inventory raises: a list of problems, each naming file, field and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: Path
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InventoryError(Exception):
    """An inventory that cannot be loaded or breaks a rule."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("InventoryError needs at least one problem")
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
