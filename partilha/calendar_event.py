"""Proxmox calendar events (`mon..fri 02:00`, `*/4:00`, `daily`), as backup job schedules use.

Format: ``[WEEKDAY] [[YEARS-]MONTHS-DAYS] [HOURS:MINUTES[:SECONDS]]``; each field takes
comma lists, ranges (`01..10`), repetitions (`05/10`, `*/4`, `8..18/2`) and `*`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPECIAL = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "weekly": "mon *-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
    "semi-annually": "*-01,07-01 00:00:00",
}
# How far ahead schedules are examined: four years covers every leap-year pattern.
HORIZON_DAYS = 4 * 365 + 1


class CalendarEventError(ValueError):
    """Text that is not a calendar event."""


def _field(text: str, low: int, high: int, what: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, _, step_text = part.partition("/")
            step = _number(step_text, 1, high - low + 1 if high > low else 1, f"{what} step")
            if part != "*" and ".." not in part:
                start = _number(part, low, high, what)
                values.update(range(start, high + 1, step))
                continue
        if part == "*":
            start, end = low, high
        elif ".." in part:
            first, _, last = part.partition("..")
            start, end = _number(first, low, high, what), _number(last, low, high, what)
            if end < start:
                raise CalendarEventError(f"range {part!r} of {what} runs backwards")
        else:
            start = end = _number(part, low, high, what)
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, low: int, high: int, what: str) -> int:
    if not (text.isascii() and text.isdigit()):  # str.isdigit alone takes "²" and "١"
        raise CalendarEventError(f"{text!r} is not a number for {what}")
    value = int(text)
    if not low <= value <= high:
        raise CalendarEventError(f"{what} {value} is outside {low}..{high}")
    return value


def _weekdays(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        first, dots, last = part.partition("..")
        if first not in WEEKDAYS or (dots and last not in WEEKDAYS):
            raise CalendarEventError(f"{part!r} is not a weekday (mon, tue, ... sun)")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if last else start
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return frozenset(days)


@dataclass(frozen=True)
class CalendarEvent:
    text: str
    weekdays: frozenset[int]
    years: frozenset[int] | None
    months: frozenset[int]
    days: frozenset[int]
    times: tuple[int, ...]  # seconds since midnight, sorted

    @classmethod
    def parse(cls, text: str) -> CalendarEvent:
        spec = SPECIAL.get(text.strip().lower(), text.strip().lower())
        tokens = spec.split()
        if not tokens or len(tokens) > 3:
            raise CalendarEventError(f"{text!r} is not a calendar event")
        weekdays = frozenset(range(7))
        years: frozenset[int] | None = None
        months, days = frozenset(range(1, 13)), frozenset(range(1, 32))
        times: tuple[int, ...] = (0,)
        order = 0  # weekday, date, time: each at most once and in that order
        for token in tokens:
            if token[0].isalpha():
                kind, weekdays = 0, _weekdays(token)
            elif "-" in token and ":" not in token:
                kind = 1
                years, months, days = cls._date(token)
            else:  # HOURS:MINUTES[:SECONDS], or MINUTES alone (`*/5`: every five minutes)
                kind, times = 2, cls._times(token)
            if kind < order:
                raise CalendarEventError(f"{text!r}: write weekday, then date, then time")
            order = kind + 1
        return cls(text, weekdays, years, months, days, times)

    @staticmethod
    def _date(token: str) -> tuple[frozenset[int] | None, frozenset[int], frozenset[int]]:
        parts = token.split("-")
        if len(parts) not in (2, 3):
            raise CalendarEventError(f"{token!r} is not a date ([YEARS-]MONTHS-DAYS)")
        years = None if len(parts) == 2 or parts[0] == "*" else _field(parts[0], 1970, 9999, "year")
        return years, _field(parts[-2], 1, 12, "month"), _field(parts[-1], 1, 31, "day")

    @staticmethod
    def _times(token: str) -> tuple[int, ...]:
        parts = token.split(":")
        if len(parts) > 3:
            raise CalendarEventError(f"{token!r} is not a time ([HOURS:]MINUTES[:SECONDS])")
        if len(parts) == 1:  # minutes alone run every hour, as in PVE
            parts = ["*", *parts]
        hours = _field(parts[0], 0, 23, "hour")
        minutes = _field(parts[1], 0, 59, "minute")
        seconds = _field(parts[2], 0, 59, "second") if len(parts) == 3 else frozenset({0})
        return tuple(sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds))

    def runs_on(self, day: dt.date) -> bool:
        return (day.weekday() in self.weekdays and day.month in self.months
                and day.day in self.days and (self.years is None or day.year in self.years))

    def _days(self, start: dt.date) -> Iterator[dt.date]:
        for offset in range(HORIZON_DAYS):
            day = start + dt.timedelta(days=offset)
            if self.runs_on(day):
                yield day

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """First run strictly after `moment` (naive local time), or None within the horizon."""
        for day in self._days(moment.date()):
            midnight = dt.datetime.combine(day, dt.time())
            for second in self.times:
                run = midnight + dt.timedelta(seconds=second)
                if run > moment:
                    return run
        return None

    def longest_gap(self, start: dt.date | None = None) -> dt.timedelta | None:
        """Longest time between two consecutive runs over the horizon; None if it runs < twice.

        The time from the last run to the end of the horizon counts too: it is shorter than the
        gap to the next run, so it never overstates a schedule that repeats, and it shows one
        that stops (`2024-*-* 02:00`, or two runs on a single date)."""
        start = start or dt.date(2024, 1, 1)
        run_days = list(self._days(start))
        if not run_days or (len(run_days) == 1 and len(self.times) == 1):
            return None
        within = max((b - a for a, b in pairwise(self.times)), default=0)
        across = max(((d2 - d1).days * 86400 + self.times[0] - self.times[-1]
                      for d1, d2 in pairwise(run_days)), default=0)
        tail = (start + dt.timedelta(days=HORIZON_DAYS) - run_days[-1]).days * 86400 - self.times[-1]
        return dt.timedelta(seconds=max(within, across, tail))
