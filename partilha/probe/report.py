"""The probe's expected-against-observed table (rows where something is, or should be, open,
and every surprise), and its files beside verify's reports: probe.json (what the audit reads)
and probe.md."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from rich.table import Table

from partilha.probe.outside import NOT_APPLICABLE
from partilha.probe.remote import Probe


def rows(result: Probe) -> list[tuple[str, str, str, str, str]]:
    """(from, to, expected open, observed open, verdict) per pair of guests that has an open
    port either way, or a surprise."""
    expected: dict[tuple[str, str], list[int]] = defaultdict(list)
    observed: dict[tuple[str, str], list[str]] = defaultdict(list)
    surprising: set[tuple[str, str]] = set()
    untried: set[tuple[str, str]] = set()
    for pair in result.pairs:
        key = (pair.source, pair.target)
        seen = result.observed[(pair.source, pair.target, pair.port)]
        if pair.expected == "open":
            expected[key].append(pair.port)
        if seen == "open":
            observed[key].append(str(pair.port))
        elif seen == "refused":
            observed[key].append(f"{pair.port} refused")
        if seen == NOT_APPLICABLE:
            untried.add(key)
        elif seen != pair.expected:
            surprising.add(key)
    keys = sorted(set(expected) | set(observed) | surprising | untried)
    return [(s, t, " ".join(map(str, expected[(s, t)])) or "-", " ".join(observed[(s, t)]) or "-",
             "UNEXPECTED" if (s, t) in surprising else NOT_APPLICABLE if (s, t) in untried else "ok")
            for s, t in keys]


def table(result: Probe) -> Table:
    out = Table(title=f"probe: env {result.env}")
    for name in ("from", "to", "expected open", "observed", ""):
        out.add_column(name, overflow="fold")
    for row in rows(result):
        out.add_row(*row, style="red" if row[-1] == "UNEXPECTED" else "yellow" if row[-1] != "ok" else None)
    return out


def summary(result: Probe) -> str:
    opened = sum(1 for p in result.pairs if p.expected == "open")
    untried = len(result.not_applicable())
    return (f"{len(result.pairs)} pairs on ports {', '.join(map(str, result.ports))}: {opened} expected "
            f"open, {len(result.pairs) - opened} filtered; {len(result.unexpected())} unexpected; "
            + (f"{untried} outside rows not applicable (nowhere outside to try them from: "
               "--outside HOST); " if untried else "")
            + f"{result.seconds:.1f} s ({len(result.pairs) / max(result.seconds, 0.001):.0f} pairs/s)")


def write(result: Probe, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data, text = folder / "probe.json", folder / "probe.md"
    data.write_text(json.dumps(result.as_json(), indent=1) + "\n")
    lines = [f"# Probe: env {result.env}", "", summary(result), "",
             "| from | to | expected open | observed | |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows(result)]
    text.write_text("\n".join(lines) + "\n")
    return [data, text]
