"""PVE authentication tickets and CSRF prevention tokens.

Ticket: ``PVE:<userid>:<8 hex timestamp>::<base64 signature>``, valid two hours, sent back as
the PVEAuthCookie cookie. CSRF token: ``<8 hex timestamp>:<base64 HMAC>``, required in the
CSRFPreventionToken header on every write made with a ticket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

TICKET_LIFETIME = 2 * 3600
CLOCK_SKEW = 300


class Tickets:
    def __init__(self, key: bytes, now: float | None = None) -> None:
        self._key = key
        self._now = now

    def _time(self) -> int:
        return int(self._now if self._now is not None else time.time())

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode().rstrip("=")

    def issue(self, userid: str) -> tuple[str, str]:
        """A new ticket and its CSRF prevention token."""
        stamp = f"{self._time():08X}"
        plain = f"PVE:{userid}:{stamp}"
        csrf = f"{stamp}:{self._sign(f'{stamp}:{userid}')}"
        return f"{plain}::{self._sign(plain)}", csrf

    def verify(self, ticket: str) -> str | None:
        """The user a valid, unexpired ticket belongs to."""
        plain, sep, signature = ticket.partition("::")
        parts = plain.split(":")
        if not sep or len(parts) != 3 or parts[0] != "PVE":
            return None
        if not hmac.compare_digest(signature, self._sign(plain)) or not self._fresh(parts[2]):
            return None
        return parts[1]

    def verify_csrf(self, token: str, userid: str) -> bool:
        stamp, sep, signature = token.partition(":")
        return bool(sep) and self._fresh(stamp) and hmac.compare_digest(
            signature, self._sign(f"{stamp}:{userid}"))

    def _fresh(self, stamp: str) -> bool:
        try:
            age = self._time() - int(stamp, 16)
        except ValueError:
            return False
        return -CLOCK_SKEW <= age <= TICKET_LIFETIME
