"""PVE calendar events, `[WEEKDAY] [[YEARS-]MONTHS-DAYS] [[HOURS:]MINUTES[:SECONDS]]`: the
examples of PVE's documentation (Schedule Format) and what backup tiers check against their RPO."""

from __future__ import annotations

import datetime as dt

import pytest

from partilha.calendar_event import CalendarEvent, CalendarEventError

FRIDAY_NOON = dt.datetime(2024, 1, 5, 12, 0)  # a Friday, the 5th


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def next_runs(text: str, count: int = 3, after: dt.datetime = FRIDAY_NOON) -> list[dt.datetime | None]:
    event, runs = CalendarEvent.parse(text), list[dt.datetime | None]()
    moment: dt.datetime | None = after
    while moment is not None and len(runs) < count:
        moment = event.next_after(moment)
        runs.append(moment)
    return runs


@pytest.mark.parametrize(("text", "runs"), [
    ("daily", ["2024-01-06 00:00", "2024-01-07 00:00", "2024-01-08 00:00"]),
    ("mon..fri 02:00", ["2024-01-08 02:00", "2024-01-09 02:00", "2024-01-10 02:00"]),
    ("*/4:00", ["2024-01-05 16:00", "2024-01-05 20:00", "2024-01-06 00:00"]),
    ("sat,sun 01:30", ["2024-01-06 01:30", "2024-01-07 01:30", "2024-01-13 01:30"]),
    ("*-*-01 00:00", ["2024-02-01 00:00", "2024-03-01 00:00", "2024-04-01 00:00"]),
    ("0/15:00", ["2024-01-05 15:00", "2024-01-06 00:00", "2024-01-06 15:00"]),  # hours 0 and 15
    ("*/5", ["2024-01-05 12:05", "2024-01-05 12:10", "2024-01-05 12:15"]),  # minutes alone
    ("mon..wed 30/10", ["2024-01-08 00:30", "2024-01-08 00:40", "2024-01-08 00:50"]),
    ("mon..fri 8..17,22:0/15", ["2024-01-05 12:15", "2024-01-05 12:30", "2024-01-05 12:45"]),
    ("fri 12..13:5/20", ["2024-01-05 12:05", "2024-01-05 12:25", "2024-01-05 12:45"]),
    ("12/2:5", ["2024-01-05 12:05", "2024-01-05 14:05", "2024-01-05 16:05"]),
    ("Sat *-1..7 15:00", ["2024-01-06 15:00", "2024-02-03 15:00", "2024-03-02 15:00"]),  # first Saturday
    ("*-05", ["2024-02-05 00:00", "2024-03-05 00:00", "2024-04-05 00:00"]),
    ("2024-01-05..07 12:00:30", ["2024-01-05 12:00:30", "2024-01-06 12:00:30", "2024-01-07 12:00:30"]),
    ("weekly", ["2024-01-08 00:00", "2024-01-15 00:00", "2024-01-22 00:00"]),
    ("quarterly", ["2024-04-01 00:00", "2024-07-01 00:00", "2024-10-01 00:00"]),
    ("yearly", ["2025-01-01 00:00", "2026-01-01 00:00", "2027-01-01 00:00"]),
])
def test_parse_and_next_runs(text: str, runs: list[str]) -> None:
    assert next_runs(text) == [at(run) for run in runs]


def test_next_after_is_strictly_after() -> None:
    assert next_runs("02:00", 1, after=at("2024-01-05 02:00")) == [at("2024-01-06 02:00")]


def test_a_date_in_the_past_never_runs() -> None:
    assert next_runs("2015-10-21") == [None]
    assert next_runs("2024-01-06 01:00") == [at("2024-01-06 01:00"), None]


@pytest.mark.parametrize(("text", "same"), [  # the alternatives PVE's documentation gives
    ("mon,tue,wed,thu,fri", "mon..fri"),
    ("sat,sun", "sat..sun"),
    ("*/5", "0/5"),
    ("*", "*/1"),
    ("mon..wed 30/10", "mon,tue,wed 30/10"),
    ("fri 12..13:5/20", "fri 12,13:5/20"),
    ("12,14,16,18,20,22:5", "12/2:5"),
    ("daily", "*-*-* 00:00:00"),
    ("monthly", "*-*-01 00:00:00"),
    ("fri..mon", "fri,sat,sun,mon"),
])
def test_alternative_spellings_mean_the_same(text: str, same: str) -> None:
    def meaning(event: CalendarEvent) -> tuple[object, ...]:
        return event.weekdays, event.years, event.months, event.days, event.times
    assert meaning(CalendarEvent.parse(text)) == meaning(CalendarEvent.parse(same))


@pytest.mark.parametrize(("text", "message"), [
    ("", "'' is not a calendar event"),
    ("mon 02:00 *-*-* extra", "is not a calendar event"),
    ("every day", "'every' is not a weekday"),
    ("daily 02:30", "'daily' is not a weekday"),
    ("Mon-Fri 02:30", "'mon-fri' is not a weekday"),  # ranges are written `..`
    ("mon.. 02:00", "'mon..' is not a weekday"),
    ("02:30 mon", "write weekday, then date, then time"),
    ("mon mon", "write weekday, then date, then time"),
    ("mon 02:70", "minute 70 is outside 0..59"),
    ("25:00", "hour 25 is outside 0..23"),
    ("*-13-01", "month 13 is outside 1..12"),
    ("*-*-32", "day 32 is outside 1..31"),
    ("10..2:00", "range '10..2' of hour runs backwards"),
    ("*/0:00", "hour step 0 is outside"),
    ("²:00", "'²' is not a number for hour"),
    ("1:2:3:4", "'1:2:3:4' is not a time"),
    ("2024-01-01-01", "'2024-01-01-01' is not a date"),
])
def test_rejections_say_why(text: str, message: str) -> None:
    with pytest.raises(CalendarEventError) as caught:
        CalendarEvent.parse(text)
    assert message in str(caught.value)


HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.mark.parametrize(("text", "gap"), [
    ("daily", DAY),
    ("21:00", DAY),
    ("mon..fri 21:00", 3 * DAY),  # Friday night to Monday night
    ("*/4:00", 4 * HOUR),
    ("sun 01:30", 7 * DAY),
    ("monthly", 31 * DAY),
    ("yearly", 366 * DAY),  # over a leap year
    ("*/5", dt.timedelta(minutes=5)),
    ("mon..fri 8..17,22:0/15", 2 * DAY + 9 * HOUR + dt.timedelta(minutes=15)),  # Fri 22:45 to Mon 8:00
    ("sat *-1..7 15:00", 5 * 7 * DAY),
    ("2024-06-01 02:00", None),  # runs once
    ("2015-10-21", None),  # never runs again
])
def test_longest_gap(text: str, gap: dt.timedelta | None) -> None:
    assert CalendarEvent.parse(text).longest_gap() == gap


@pytest.mark.parametrize("text", ["2024-*-* 02:00", "2024-06-01 02,14:00"])
def test_a_schedule_that_stops_has_a_gap_to_the_end_of_the_horizon(text: str) -> None:
    gap = CalendarEvent.parse(text).longest_gap()
    assert gap is not None and gap > 365 * DAY
