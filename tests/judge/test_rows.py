"""The judge reads each repeated value of a column once (a million reports: names, masked
numbers, times on the minute, a few protection ends), yet every row keeps its own value."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from reconcile.judge import _rows


def test_repeated_values_are_one_object_and_each_row_keeps_its_own():
    frame = pl.DataFrame(
        {"customer_name": ["王芳", "李明", "王芳", None], "phone_pattern": ["138****0001"] * 4}
    )
    rows = list(_rows(frame, "customer_name", "phone_pattern"))
    assert [name for name, _ in rows] == ["王芳", "李明", "王芳", None]
    assert rows[0][0] is rows[2][0]
    assert rows[0][1] is rows[3][1]


def test_the_two_equal_wall_times_of_a_night_the_clocks_go_back_stay_two_moments():
    """02:30 comes twice in Berlin on 2026-10-25 (+02:00, then +01:00): equal as wall
    times, they are not one value to share."""
    moments = [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        None,
    ]
    frame = pl.DataFrame({"at": moments}).with_columns(
        pl.col("at").dt.convert_time_zone("Europe/Berlin")
    )
    read = [at for (at,) in _rows(frame, "at")]
    assert [None if at is None else at.isoformat() for at in read] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T02:30:00+02:00",
        None,
    ]
    assert read[0] is read[2]
