"""Evidence read from a file another command wrote (verify.json, probe.json, a dr run's report):
when it was made, and whether that is recent enough to count."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

MAX_AGE_HOURS = 24.0  # verify's and probe's results older than this prove nothing


@dataclass(frozen=True)
class Read:
    path: Path
    at: float  # when the file was written
    max_age_s: float

    @classmethod
    def of(cls, path: Path, max_age_s: float) -> Read | None:
        return cls(path, path.stat().st_mtime, max_age_s) if path.is_file() else None

    @property
    def stale(self) -> str | None:
        """Why it no longer counts, or None."""
        age = time.time() - self.at
        if age <= self.max_age_s:
            return None
        return f"{self.path.name} is {age / 3600:.1f} h old (the audit's limit: {self.max_age_s / 3600:g} h)"
