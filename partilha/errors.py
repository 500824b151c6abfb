"""Errors a user can act on: printed as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can fix (missing file, unreachable endpoint, bad argument)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
