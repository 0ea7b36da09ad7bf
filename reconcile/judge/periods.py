"""Time arithmetic of SPEC §6.3: when a period that starts at an instant ends.

Clock durations (`m`, `h`) are exact. Calendar durations (`d`, `mo`) count days in the
project timezone with the start day as day 1 and end at 24:00 of the last day.
`forever` has no end (None). Every end is exclusive.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import polars as pl

from reconcile.config.rules import Duration


@lru_cache(maxsize=4096)
def midnight(day: date, zone: ZoneInfo) -> datetime:
    """00:00 of `day`; where a DST change skips it, the first instant of the day (01:00
    after an hour's gap: a wall time that exists, so it compares as the instant it is).

    Remembered: every protection and hold ends at one of a few hundred midnights, asked
    for again and again (a night at 200,000 reports asked ~37,000 times for 132)."""
    return datetime.combine(day, time(0), zone).astimezone(UTC).astimezone(zone)


def _exactly(moment: datetime, minutes: int) -> datetime:
    """`moment` plus exact clock time. Python adds wall-clock time to an aware datetime,
    so the sum is taken in UTC: 48h across a DST change still lasts 48 hours."""
    return (moment.astimezone(UTC) + _MINUTE * minutes).astimezone(moment.tzinfo)


_MINUTE = timedelta(minutes=1)  # multiplied: a third faster than timedelta(minutes=…)


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(start: datetime, duration: Duration, zone: ZoneInfo) -> datetime | None:
    """The exclusive end of a period of `duration` that starts at `start`.

    `30d` from 2026-11-01 10:00 ends 2026-12-01 00:00; `2mo` from 11-15 ends 01-15 00:00.
    """
    if duration.forever:
        return None
    minutes = duration.minutes
    if minutes is not None:
        return _exactly(start, minutes)
    local = start.astimezone(zone).date()
    if duration.unit == "d":
        return midnight(local + timedelta(days=duration.amount), zone)
    return midnight(add_months(local, duration.amount), zone)


def window_start(end: datetime, duration: Duration, zone: ZoneInfo) -> datetime:
    """The start of the last `duration` before `end`, included: a renewal window, or the
    latest report time that keeps a lead time before a visit (both inclusive).

    For calendar durations the window is whole days: the last 7 days before an end at
    12-01 00:00 start 11-24 00:00, and `1d` before a visit at 11-20 10:00 is any time
    before 11-20 00:00.
    """
    minutes = duration.minutes
    if minutes is not None:
        return _exactly(end, -minutes)
    if duration.forever:
        return datetime.min.replace(tzinfo=zone)
    # The day of the period's last instant (an end at 24:00 is its day's own end).
    last_instant = end.astimezone(UTC) - timedelta(microseconds=1)
    last_day = last_instant.astimezone(zone).date() + timedelta(days=1)
    if duration.unit == "d":
        return midnight(last_day - timedelta(days=duration.amount), zone)
    return midnight(add_months(last_day, -duration.amount), zone)


def in_clock_range(moment: datetime, start: time, end: time, zone: ZoneInfo) -> bool:
    """Whether the local clock time of `moment` lies in [start, end] (both ends included).

    A range whose end is before its start runs over midnight (22:00–02:00).
    """
    clock = moment.astimezone(zone).time().replace(tzinfo=None)
    if start <= end:
        return start <= clock <= end
    return clock >= start or clock <= end


def in_clock_range_expr(moment: pl.Expr, start: time, end: time) -> pl.Expr:
    """:func:`in_clock_range` for a column of zone-aware datetimes (local clock time)."""
    clock = moment.dt.time()
    if start <= end:
        return (clock >= start) & (clock <= end)
    return (clock >= start) | (clock <= end)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def end_of_day(moment: datetime, zone: ZoneInfo) -> datetime:
    """24:00 of the moment's local day (00:00 of the next)."""
    return midnight(local_day(moment, zone) + timedelta(days=1), zone)


def period_end_expr(start: pl.Expr, duration: Duration, zone: str) -> pl.Expr:
    """:func:`period_end` for a column of zone-aware datetimes (null for `forever`)."""
    if duration.forever:
        return pl.lit(None).cast(pl.Datetime("us", zone))
    minutes = duration.minutes
    if minutes is not None:
        return start + pl.duration(minutes=minutes)
    unit = "d" if duration.unit == "d" else "mo"
    # Days are counted on the local calendar, then each midnight is placed as `midnight`
    # places it: polars would move a midnight a DST change skips an hour early.
    local = (
        start.dt.replace_time_zone(None).dt.truncate("1d").dt.offset_by(f"{duration.amount}{unit}")
    )

    def zoned(naive: pl.Expr) -> pl.Expr:
        return naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")

    return zoned(local).fill_null(zoned(local + pl.duration(hours=1)))
