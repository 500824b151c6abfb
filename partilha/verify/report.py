"""The outcome of every control on every host, and the Markdown report an auditor files.

Read from the JSON tests/infra/conftest.py writes (`--controls-json`); the Markdown is a
controls x hosts matrix, then each failure with its message, each "not applicable" with its
reason, and the hosts that refused the connection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["passed", "failed", "na", "skipped"]
MARK = {"passed": "pass", "failed": "**FAIL**", "na": "n/a", "skipped": "skipped"}


@dataclass(frozen=True)
class Outcome:
    control: str
    host: str
    outcome: Status
    message: str = ""


@dataclass(frozen=True)
class Outcomes:
    env: str
    hosts: tuple[str, ...]
    items: tuple[Outcome, ...]
    unreachable: Mapping[str, str]

    @classmethod
    def load(cls, path: Path) -> Outcomes:
        data = json.loads(path.read_text())
        items = tuple(Outcome(o["control"], o["host"], o["outcome"], o.get("message", ""))
                      for o in data["outcomes"])
        return cls(data["env"], tuple(data["hosts"]), items, dict(data.get("unreachable", {})))

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.items if o.outcome == "failed"]

    @property
    def controls(self) -> list[str]:
        return list(dict.fromkeys(o.control for o in self.items))

    def count(self, status: Status) -> int:
        return sum(1 for o in self.items if o.outcome == status)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unreachable and bool(self.items)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def markdown(outcomes: Outcomes, titles: Mapping[str, str], when: str) -> str:
    """The report; `titles`: control ID -> title, `when`: the run's time, as written."""
    hosts = list(outcomes.hosts)
    grid: dict[tuple[str, str], Outcome] = {(o.control, o.host): o for o in outcomes.items}
    verdict = "all controls hold" if outcomes.ok else "**controls fail**"
    lines = [f"# partilha verify: {outcomes.env}", "",
             f"{when}: {len(hosts)} hosts, {len(outcomes.controls)} controls; "
             f"{outcomes.count('passed')} passed, {outcomes.count('failed')} failed, "
             f"{outcomes.count('na')} not applicable; {verdict}.", "",
             "| Control | Title | " + " | ".join(hosts) + " |",
             "|---|---|" + "---|" * len(hosts)]
    for control in outcomes.controls:
        cells = [MARK[grid[control, h].outcome] if (control, h) in grid else "—" for h in hosts]
        lines.append(f"| {control} | {_cell(titles.get(control, ''))} | " + " | ".join(cells) + " |")
    if outcomes.unreachable:
        lines += ["", "## Hosts refused or unreachable", ""]
        lines += [f"- **{host}**: {_cell(why)}" for host, why in outcomes.unreachable.items()]
    failures = [o for o in outcomes.failures if o.host not in outcomes.unreachable]  # said once above
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- **{o.control}** on **{o.host}**: {_cell(o.message)}" for o in failures]
    reasons: dict[tuple[str, str], list[str]] = {}
    for o in outcomes.items:
        if o.outcome == "na":
            reasons.setdefault((o.control, o.message), []).append(o.host)
    if reasons:
        lines += ["", "## Not applicable", ""]
        lines += [f"- **{control}** on {', '.join(on)}: {_cell(why)}"
                  for (control, why), on in reasons.items()]
    return "\n".join(lines) + "\n"

