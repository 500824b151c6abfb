"""Failures the way PVE reports them: 400 with per-parameter errors, 401, 403, 500 with the
message as the HTTP reason phrase (which is where clients such as proxmoxer read it)."""

from __future__ import annotations

from typing import Any

from partilha.lab.access import AccessError


class PveError(Exception):
    def __init__(self, message: str, status: int = 500, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"data": None}
        if self.errors:
            body["errors"] = self.errors
        return body


def param_error(**errors: str) -> PveError:
    return PveError("Parameter verification failed.", 400, errors)


def unauthorized(message: str = "authentication failure") -> PveError:
    return PveError(message, 401)


def from_access(exc: AccessError) -> PveError:
    """The access model's failures carry PVE's wording; a parameter one becomes a 400 entry."""
    if exc.param:
        return param_error(**{exc.param: exc.message})
    return PveError(exc.message, exc.status)


MODIFIED = "detected modified configuration - file changed by other user? Try again."


def assert_if_modified(current: str, given: str | None) -> None:
    """PVE::Tools::assert_if_modified: a stale `digest` refuses the change."""
    if given and current != given:
        raise PveError(MODIFIED)


def stringify(exc: PveError) -> str:
    """PVE::Exception's text of an error caught and re-raised by another (`<what> failed: ...`)."""
    if not exc.errors:
        return exc.message
    return f"{exc.status} {exc.message}\n" + "".join(f"{k}: {v}\n" for k, v in exc.errors.items())
