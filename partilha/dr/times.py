"""Times as on-call staff type and read them: ISO 8601 in (UTC unless it says), UTC out."""

from __future__ import annotations

import datetime as dt
import time

from partilha.errors import UserError


def moment(text: str, option: str) -> float:
    """`text` (given with `option`) as epoch seconds; a bad one is one line naming the option."""
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r}: not an ISO 8601 time (2026-12-05T03:10:00Z)") from None
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).timestamp()


def when(epoch: float | None) -> str:
    return "—" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))
