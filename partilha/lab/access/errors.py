"""Failures of the access-control model, carrying PVE's wording and the HTTP status PVE uses.

The attributes (``message``, ``status``) match ``partilha.lab.server.errors.PveError`` so the HTTP
layer can turn any of them into PVE's response without knowing the subclass. ``param`` names the
API parameter for 400s (PVE's ``{"errors": {param: text}}``).
"""

from __future__ import annotations


class AccessError(Exception):
    """An access-control failure: ``message`` is PVE's text (no trailing newline)."""

    def __init__(self, message: str, status: int = 500, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param


class PermissionDeniedError(AccessError):
    """HTTP 403, ``raise_perm_exc``: ``Permission check failed`` plus ``(<what>)`` if given."""

    def __init__(self, what: str | None = None) -> None:
        super().__init__(perm_failed_message(what), 403)
        self.what = what


class AuthenticationError(AccessError):
    """HTTP 401: the user or token cannot authenticate (unknown, disabled or expired)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 401)


class InvalidPrivilegeError(AccessError):
    """``verify_privname``: ``invalid privilege '<priv>'``."""

    def __init__(self, priv: str) -> None:
        super().__init__(f"invalid privilege '{priv}'", 400, param="privs")
        self.priv = priv

    @property
    def param_error(self) -> str:
        """The text PVE's schema check puts under ``errors.privs`` for a ``pve-priv-list``."""
        return f"invalid format - {self.message}\n"


def perm_failed_message(what: str | None = None) -> str:
    """``PVE::Exception::raise_perm_exc`` wording (without PVE's trailing newline)."""
    return f"Permission check failed ({what})" if what else "Permission check failed"
