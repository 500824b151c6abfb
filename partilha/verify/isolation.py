"""The latest probe (`partilha probe`'s probe.json, beside verify's reports) in verify's reports:
when it ran, how many pairs it tried, how many were expected open, and each surprise; so the
report an auditor files shows the network isolation proven, or not, next to the controls."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROBE_FILE = "probe.json"


@dataclass(frozen=True)
class Isolation:
    when: str
    pairs: int
    expected_open: int
    unexpected: tuple[str, ...]  # "a -> b:443 expected open, observed filtered"

    @classmethod
    def load(cls, folder: Path) -> Isolation | None:
        """The probe written in `folder`, if any."""
        path = folder / PROBE_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        return cls(str(data.get("when") or "unknown"), len(data["pairs"]),
                   sum(1 for p in data["pairs"] if p["expected"] == "open"),
                   tuple(f"{u['from']} -> {u['to']}:{u['port']} expected {u['expected']}, "
                         f"observed {u['observed']}" for u in data["unexpected"]))

    @property
    def proven(self) -> bool:
        return not self.unexpected and self.pairs > 0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "unexpected": list(self.unexpected), "proven": self.proven}

    def summary(self) -> str:
        verdict = "isolation holds" if self.proven else f"**{len(self.unexpected)} unexpected**"
        return (f"latest probe ({self.when}): {self.pairs} pairs, {self.expected_open} expected open, "
                f"the rest filtered; {verdict}")


def section(isolation: Isolation | None) -> str:
    """The verify report's Markdown section on it."""
    lines = ["", "## Network isolation", ""]
    if isolation is None:
        return "\n".join([*lines, "No probe has run for this env yet (`partilha probe`)."]) + "\n"
    lines.append(isolation.summary() + f" (details: {PROBE_FILE}).")
    if isolation.unexpected:
        lines += ["", *(f"- {each}" for each in isolation.unexpected)]
    return "\n".join(lines) + "\n"
