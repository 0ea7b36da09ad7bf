from datetime import datetime, time
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.config.rules import parse_duration
from reconcile.judge.periods import (
    in_clock_range,
    in_clock_range_expr,
    period_end,
    period_end_expr,
    window_start,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def at(text: str, zone: ZoneInfo = SH) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("start", "duration", "end"),
    [
        ("2026-11-01 10:00", "30d", "2026-12-01 00:00"),  # SPEC §6.3
        ("2026-11-15 09:00", "2mo", "2027-01-15 00:00"),
        ("2026-01-31 09:00", "1mo", "2026-02-28 00:00"),  # clamped to the month's end
        ("2026-11-18 17:20", "same_day", "2026-11-19 00:00"),
        ("2026-11-18 18:30", "next_day", "2026-11-20 00:00"),
        ("2026-11-18 10:00", "48h", "2026-11-20 10:00"),
        ("2026-11-18 10:00", "30m", "2026-11-18 10:30"),
        ("2026-11-18 00:00", "7d", "2026-11-25 00:00"),
    ],
)
def test_period_end(start: str, duration: str, end: str) -> None:
    assert period_end(at(start), parse_duration(duration), SH) == at(end)


def test_forever_has_no_end() -> None:
    assert period_end(at("2026-11-18 10:00"), parse_duration("forever"), SH) is None


def test_calendar_days_cross_a_dst_change_at_midnight() -> None:
    assert period_end(at("2026-11-01 10:00", NY), parse_duration("1d"), NY) == at(
        "2026-11-02 00:00", NY
    )


@pytest.mark.parametrize(
    ("end", "window", "start"),
    [
        ("2026-12-01 00:00", "7d", "2026-11-24 00:00"),
        ("2026-12-01 10:00", "7d", "2026-11-25 00:00"),  # the last 7 calendar days
        ("2026-12-01 10:00", "24h", "2026-11-30 10:00"),
    ],
)
def test_window_start(end: str, window: str, start: str) -> None:
    assert window_start(at(end), parse_duration(window), SH) == at(start)


@pytest.mark.parametrize(
    ("clock", "inside"),
    [("08:00", True), ("18:00", True), ("07:59", False), ("18:01", False), ("12:00", True)],
)
def test_hours_include_both_ends(clock: str, inside: bool) -> None:
    moment = at(f"2026-11-18 {clock}")
    assert in_clock_range(moment, time(8), time(18), SH) is inside


def test_hours_over_midnight() -> None:
    assert in_clock_range(at("2026-11-18 23:30"), time(22), time(2), SH)
    assert not in_clock_range(at("2026-11-18 12:00"), time(22), time(2), SH)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    st.sampled_from(["30m", "1h", "48h", "1d", "7d", "30d", "1mo", "2mo", "same_day"]),
)
def test_vectorised_end_equals_the_pure_function(start: datetime, text: str) -> None:
    duration = parse_duration(text)
    moment = start.replace(tzinfo=SH)
    series = pl.Series([moment]).dt.convert_time_zone("Asia/Shanghai")
    vectorised = pl.select(period_end_expr(pl.lit(series), duration, "Asia/Shanghai")).item()
    assert vectorised == period_end(moment, duration, SH)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    st.times(),
    st.times(),
)
def test_vectorised_clock_range_equals_the_pure_function(start: datetime, low: time, high: time):
    moment = start.replace(tzinfo=SH)
    series = pl.Series([moment]).dt.convert_time_zone("Asia/Shanghai")
    vectorised = pl.select(in_clock_range_expr(pl.lit(series), low, high)).item()
    assert vectorised == in_clock_range(moment, low, high, SH)
