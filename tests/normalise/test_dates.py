from __future__ import annotations

from datetime import date, datetime, time, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalise.dates import (
    DateParse,
    combine,
    excel_serial_to_datetime,
    infer_year,
    parse_datetime,
    parse_datetime_series,
    parse_time,
    to_iso,
)

REF = date(2026, 11, 20)
MISSING, INVALID, TIME_ONLY = "date_missing", "date_invalid", "date_time_only"


def dt(*parts: int) -> datetime:
    return datetime(*parts)


# (cell, ref, value, has_time, year_inferred, error_code)
PARSE_CASES = [
    # cells as the reader renders them
    ("2026-11-18 17:20:00", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-19 00:00:00", None, dt(2026, 11, 19), False, False, None),
    ("46344.5", None, dt(2026, 11, 18, 12), True, False, None),
    ("46344", None, dt(2026, 11, 18), False, False, None),
    ("46344.0", None, dt(2026, 11, 18), False, False, None),
    ("46344.72222222222", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("20000", None, dt(1954, 10, 3), False, False, None),
    ("80000", None, dt(2119, 1, 11), False, False, None),
    # typed forms with a year
    ("2026/11/18 17:20", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18 17:20", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18", None, dt(2026, 11, 18), False, False, None),
    ("2026.11.18", None, dt(2026, 11, 18), False, False, None),
    ("2026.11.18 17:20:05", None, dt(2026, 11, 18, 17, 20, 5), True, False, None),
    ("2026/1/5 7:05", None, dt(2026, 1, 5, 7, 5), True, False, None),
    ("2026-1-5", None, dt(2026, 1, 5), False, False, None),
    ("2026-11-18T17:20", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18T17:20:30", None, dt(2026, 11, 18, 17, 20, 30), True, False, None),
    ("2026-11-18 17:20:00.000", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18 17:20:00.250", None, dt(2026, 11, 18, 17, 20, 0, 250000), True, False, None),
    ("2026年11月18日", None, dt(2026, 11, 18), False, False, None),
    ("2026年11月18日 17:20", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026年11月18号", None, dt(2026, 11, 18), False, False, None),
    ("2026年11月18日下午3点", None, dt(2026, 11, 18, 15), True, False, None),
    ("2026年11月18日17时20分", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("20261118", None, dt(2026, 11, 18), False, False, None),
    ("20261118 17:20", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18 3:00 PM", None, dt(2026, 11, 18, 15), True, False, None),
    ("2026-11-18 9:30am", None, dt(2026, 11, 18, 9, 30), True, False, None),
    ("2026-11-18 12:00 AM", None, dt(2026, 11, 18), True, False, None),
    ("2026-11-18 下午三点半", None, dt(2026, 11, 18, 15, 30), True, False, None),
    ("2026-11-18 00:00", None, dt(2026, 11, 18), False, False, None),
    ("2026-11-18 0点", None, dt(2026, 11, 18), True, False, None),
    ("  2026-11-18 17:20  ", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18\u200b", None, dt(2026, 11, 18), False, False, None),
    # full-width digits and punctuation
    ("２０２６－１１－１８　１７：２０", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("２０２６／１１／１８", None, dt(2026, 11, 18), False, False, None),
    ("２０２６年１１月１８日", None, dt(2026, 11, 18), False, False, None),
    # periods of the day
    ("2026-11-18 上午9点", None, dt(2026, 11, 18, 9), True, False, None),
    ("2026-11-18 中午12点", None, dt(2026, 11, 18, 12), True, False, None),
    ("2026-11-18 中午1点", None, dt(2026, 11, 18, 13), True, False, None),
    ("2026-11-18 凌晨12点", None, dt(2026, 11, 18), True, False, None),
    ("2026-11-18 上午12点", None, dt(2026, 11, 18), True, False, None),
    ("2026-11-18 凌晨2点", None, dt(2026, 11, 18, 2), True, False, None),
    ("2026-11-18 晚上8点", None, dt(2026, 11, 18, 20), True, False, None),
    ("2026-11-18 晚上12点", None, dt(2026, 11, 19), True, False, None),
    ("2026-11-18 下午3点20分", None, dt(2026, 11, 18, 15, 20), True, False, None),
    ("2026-11-18 下午3点20", None, dt(2026, 11, 18, 15, 20), True, False, None),
    ("2026-11-18 下午3点一刻", None, dt(2026, 11, 18, 15, 15), True, False, None),
    ("2026-11-18 下午15点", None, dt(2026, 11, 18, 15), True, False, None),
    ("2026-11-18 15点30分", None, dt(2026, 11, 18, 15, 30), True, False, None),
    ("2026-11-18 17时20分30秒", None, dt(2026, 11, 18, 17, 20, 30), True, False, None),
    ("2026-11-18 十点二十分", None, dt(2026, 11, 18, 10, 20), True, False, None),
    # dates without a year
    ("11月18日", REF, dt(2026, 11, 18), False, True, None),
    ("11月18日 17:20", REF, dt(2026, 11, 18, 17, 20), True, True, None),
    ("11月18日下午3点", REF, dt(2026, 11, 18, 15), True, True, None),
    ("11月18日下午3点半", REF, dt(2026, 11, 18, 15, 30), True, True, None),
    ("11月18号", REF, dt(2026, 11, 18), False, True, None),
    ("11-18 17:20", REF, dt(2026, 11, 18, 17, 20), True, True, None),
    ("11/18", REF, dt(2026, 11, 18), False, True, None),
    ("12月30日", date(2027, 1, 2), dt(2026, 12, 30), False, True, None),
    ("1月2日", date(2026, 12, 30), dt(2027, 1, 2), False, True, None),
    ("11月18日", None, None, False, False, INVALID),
    ("11月18日 17:20", None, None, False, False, INVALID),
    ("2月29日", REF, None, False, False, INVALID),
    ("2月29日", date(2028, 3, 1), dt(2028, 2, 29), False, True, None),
    ("13月1日", REF, None, False, False, INVALID),
    # times without a date
    ("17:20", None, None, True, False, TIME_ONLY),
    ("17:20:00", REF, None, True, False, TIME_ONLY),
    ("下午3点", None, None, True, False, TIME_ONLY),
    ("3:00 PM", None, None, True, False, TIME_ONLY),
    ("0.7222", None, None, True, False, TIME_ONLY),
    ("1899-12-30 17:20:00", None, None, True, False, TIME_ONLY),
    ("1899-12-31 17:20:00", None, None, True, False, TIME_ONLY),
    ("1900-01-00 17:20:00", None, None, True, False, TIME_ONLY),
    # blanks
    ("", None, None, False, False, MISSING),
    ("   ", None, None, False, False, MISSING),
    ("\u3000", None, None, False, False, MISSING),
    (None, None, None, False, False, MISSING),
    # junk and impossible values
    ("abc", None, None, False, False, INVALID),
    ("待定", None, None, False, False, INVALID),
    ("2026-02-30", None, None, False, False, INVALID),
    ("2026-13-01", None, None, False, False, INVALID),
    ("2026-11-18 24:00", None, None, False, False, INVALID),
    ("2026-11-18 17:60", None, None, False, False, INVALID),
    ("2026-11-18 17:20:60", None, None, False, False, INVALID),
    ("2026-11-18 上午15点", None, None, False, False, INVALID),
    ("2026-11/18", None, None, False, False, INVALID),
    ("2026-11-18 明天", None, None, False, False, INVALID),
    ("0226-11-18", None, None, False, False, INVALID),
    ("12345", None, None, False, False, INVALID),
    ("80000.5", None, None, False, False, INVALID),
    ("1.5", None, None, False, False, INVALID),
    ("2026", None, None, False, False, INVALID),
]


@pytest.mark.parametrize(("cell", "ref", "value", "has_time", "year_inferred", "code"), PARSE_CASES)
def test_parse_datetime(cell, ref, value, has_time, year_inferred, code):
    parsed = parse_datetime(cell, ref=ref)
    assert parsed.value == value
    assert parsed.has_date is (value is not None)
    assert parsed.has_time is has_time
    assert parsed.year_inferred is year_inferred
    assert parsed.error_code == code
    assert (parsed.error is None) is (code is None)


@pytest.mark.parametrize(
    ("cell", "ref", "reason"),
    [
        ("", None, "缺少日期"),
        (None, None, "缺少日期"),
        ("abc", None, "无法识别的日期（abc）"),
        (" 2026-02-30 ", None, "无法识别的日期（2026-02-30）"),
        ("17:20", None, "只有时间没有日期（17:20）"),
        ("下午3点", REF, "只有时间没有日期（下午3点）"),
        ("11月18日", None, "缺少年份且无法推断（11月18日）"),
        ("x" * 60, None, f"无法识别的日期（{'x' * 40}…）"),
    ],
)
def test_error_reasons_quote_the_cell(cell, ref, reason):
    assert parse_datetime(cell, ref=ref).error == reason


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("17:20", time(17, 20)),
        ("17:20:00", time(17, 20)),
        ("7:05", time(7, 5)),
        ("下午3点", time(15)),
        ("下午3点半", time(15, 30)),
        ("15点30分", time(15, 30)),
        ("17时20分", time(17, 20)),
        ("3:00 PM", time(15)),
        ("3pm", time(15)),
        ("12:30 am", time(0, 30)),
        ("中午12点", time(12)),
        ("凌晨12点", time(0)),
        ("上午12点", time(0)),
        ("晚上8点", time(20)),
        ("晚上12点", time(0)),
        ("三点零五分", time(3, 5)),
        ("0.7222", time(17, 19, 58)),
        ("0.5", time(12)),
        (".75", time(18)),
        ("1899-12-30 17:20:00", time(17, 20)),
        ("1900-01-00 17:20:00", time(17, 20)),
        ("1899-12-30", time(0)),
        ("１７：２０", time(17, 20)),
        ("", None),
        (None, None),
        ("2026-11-18 17:20", None),
        ("abc", None),
        ("25:00", None),
        ("下午3点半pm", None),
        ("17", None),
    ],
)
def test_parse_time(cell, expected):
    assert parse_time(cell) == expected


# (date cell, time cell, ref, value, has_time, year_inferred, error_code)
COMBINE_CASES = [
    ("2026-11-19 00:00:00", "17:20", None, dt(2026, 11, 19, 17, 20), True, False, None),
    ("2026-11-19", "下午3点", None, dt(2026, 11, 19, 15), True, False, None),
    ("46345", "0.7222222222", None, dt(2026, 11, 19, 17, 20), True, False, None),
    ("2026-11-19", "1899-12-30 17:20:00", None, dt(2026, 11, 19, 17, 20), True, False, None),
    ("2026-11-18 17:20:00", None, None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18 17:20:00", "  ", None, dt(2026, 11, 18, 17, 20), True, False, None),
    ("2026-11-18 17:20:00", "18:00", None, dt(2026, 11, 18, 18), True, False, None),
    ("2026-11-18", "2026-11-19 10:00:00", None, dt(2026, 11, 19, 10), True, False, None),
    ("", "2026-11-19 10:00:00", None, dt(2026, 11, 19, 10), True, False, None),
    ("2026-11-18", "2026-11-19 00:00:00", None, dt(2026, 11, 18), False, False, None),
    ("2026-11-18", None, None, dt(2026, 11, 18), False, False, None),
    ("2026-11-18", "不详", None, dt(2026, 11, 18), False, False, None),
    ("2026-11-18", "00:00", None, dt(2026, 11, 18), False, False, None),
    ("2026-11-18", "晚上12点", None, dt(2026, 11, 19), True, False, None),
    ("11月18日", "17:20", REF, dt(2026, 11, 18, 17, 20), True, True, None),
    ("", "17:20", None, None, True, False, TIME_ONLY),
    (None, "下午3点", None, None, True, False, TIME_ONLY),
    ("", "", None, None, False, False, MISSING),
    ("abc", "17:20", None, None, False, False, INVALID),
    ("11月18日", "17:20", None, None, False, False, INVALID),
]


@pytest.mark.parametrize(
    ("date_cell", "time_cell", "ref", "value", "has_time", "year_inferred", "code"),
    COMBINE_CASES,
)
def test_combine(date_cell, time_cell, ref, value, has_time, year_inferred, code):
    parsed = combine(date_cell, time_cell, ref=ref)
    assert parsed.value == value
    assert parsed.has_date is (value is not None)
    assert parsed.has_time is has_time
    assert parsed.year_inferred is year_inferred
    assert parsed.error_code == code


@pytest.mark.parametrize(
    ("month", "day", "ref", "year"),
    [
        (11, 18, date(2026, 11, 20), 2026),
        (12, 30, date(2027, 1, 2), 2026),
        (1, 2, date(2026, 12, 30), 2027),
        (6, 1, date(2026, 1, 1), 2026),
        (7, 10, date(2026, 1, 1), 2025),
        (2, 29, date(2028, 3, 1), 2028),
        (13, 1, date(2026, 1, 1), 2026),
    ],
)
def test_infer_year(month, day, ref, year):
    assert infer_year(month, day, ref) == year


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (0.0, dt(1899, 12, 30)),
        (1.0, dt(1899, 12, 31)),
        (61.0, dt(1900, 3, 1)),
        (46344.0, dt(2026, 11, 18)),
        (46344.72222222222, dt(2026, 11, 18, 17, 20)),
        (46344.999999999, dt(2026, 11, 19)),
    ],
)
def test_excel_serial_to_datetime(serial, expected):
    assert excel_serial_to_datetime(serial) == expected


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        (dt(2026, 11, 18, 17, 20), "Asia/Shanghai", "2026-11-18T17:20:00+08:00"),
        (dt(2026, 7, 1, 9), "Europe/London", "2026-07-01T09:00:00+01:00"),
        (dt(2026, 1, 1), "UTC", "2026-01-01T00:00:00+00:00"),
    ],
)
def test_to_iso(value, tz, expected):
    assert to_iso(value, tz) == expected


# ---------------------------------------------------------------- series


def as_row(parsed: DateParse) -> dict:
    return {
        "value": parsed.value,
        "has_date": parsed.has_date,
        "has_time": parsed.has_time,
        "year_inferred": parsed.year_inferred,
        "error_code": parsed.error_code,
        "error": parsed.error,
    }


def assert_series_matches(cells: list, ref: date | None, refs: list | None) -> None:
    ref_dates = None if refs is None else pl.Series(refs, dtype=pl.Date)
    out = parse_datetime_series(pl.Series(cells, dtype=pl.String), ref=ref, ref_dates=ref_dates)
    assert out.schema == pl.Schema(
        {
            "value": pl.Datetime("us"),
            "has_date": pl.Boolean,
            "has_time": pl.Boolean,
            "year_inferred": pl.Boolean,
            "error_code": pl.String,
            "error": pl.String,
        }
    )
    assert out.height == len(cells)
    row_refs = [ref] * len(cells) if refs is None else [r or ref for r in refs]
    for cell, row_ref, row in zip(cells, row_refs, out.iter_rows(named=True), strict=True):
        assert row == as_row(parse_datetime(cell, ref=row_ref)), cell


def test_series_matches_scalar_on_every_table_case():
    cells = [case[0] for case in PARSE_CASES]
    assert_series_matches(cells, REF, None)
    assert_series_matches(cells, None, None)
    assert_series_matches(cells, None, [case[1] for case in PARSE_CASES])


def test_series_fast_forms_only():
    cells = [
        "2026-11-18 17:20:00",
        "2026-11-19 00:00:00",
        "2026-11-18 17:20",
        "2026/11/18 17:20",
        "2026.11.18",
        "2026-11-18",
        "46344.5",
        "46344",
        "80000.0",
        "1900-01-01 00:00:01",
        "2199-12-31 23:59:59",
    ]
    assert_series_matches(cells, None, None)


def test_series_handles_empty_and_all_null():
    assert parse_datetime_series(pl.Series([], dtype=pl.String)).height == 0
    out = parse_datetime_series(pl.Series([None, None], dtype=pl.String))
    assert out["error_code"].to_list() == [MISSING, MISSING]


def test_series_per_row_ref_overrides_scalar():
    out = parse_datetime_series(
        pl.Series(["12月30日", "12月30日", "12月30日"]),
        ref=date(2026, 12, 1),
        ref_dates=pl.Series([date(2027, 1, 2), None, date(2026, 6, 1)]),
    )
    assert out["value"].to_list() == [dt(2026, 12, 30), dt(2026, 12, 30), dt(2025, 12, 30)]
    out = parse_datetime_series(
        pl.Series(["1月2日", "1月2日"]),
        ref=date(2026, 6, 1),
        ref_dates=pl.Series([date(2026, 12, 30), None]),
    )
    assert out["value"].to_list() == [dt(2027, 1, 2), dt(2026, 1, 2)]


def test_common_forms_never_reach_the_per_row_parser(monkeypatch):
    """The hot path: datetime cells and the usual typed forms are parsed vectorised."""
    from reconcile.normalise import dates as module

    def per_row(*args, **kwargs):
        raise AssertionError(f"per-row parser called for {args!r}")

    monkeypatch.setattr(module, "parse_datetime", per_row)
    start_at = datetime(2026, 1, 1)
    cells = [
        (start_at + timedelta(minutes=7 * i)).strftime(fmt)
        for i, fmt in enumerate(
            ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y.%m.%d"] * 50
        )
    ]
    out = parse_datetime_series(pl.Series([*cells, "46344.5"]))
    assert out["value"].null_count() == 0


# ---------------------------------------------------------------- properties

DATETIMES = st.datetimes(min_value=datetime(1955, 1, 1), max_value=datetime(2118, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
FULL_WIDTH = str.maketrans("0123456789-/:. ", "０１２３４５６７８９－／：．\u3000")


def _worded(d: datetime) -> str:
    hour = d.hour
    if hour == 0:
        spoken = "凌晨12点"
    elif hour < 12:
        spoken = f"上午{hour}点"
    elif hour == 12:
        spoken = "中午12点"
    elif hour < 18:
        spoken = f"下午{hour - 12}点"
    else:
        spoken = f"晚上{hour - 12}点"
    return f"{d.year}年{d.month}月{d.day}日{spoken}{d.minute}分"


# (name, render, precision); precision truncates the expected value.
FORMATS = [
    ("iso seconds", lambda d: d.strftime("%Y-%m-%d %H:%M:%S"), "second"),
    ("iso minutes", lambda d: d.strftime("%Y-%m-%d %H:%M"), "minute"),
    ("slash minutes", lambda d: d.strftime("%Y/%m/%d %H:%M"), "minute"),
    ("slash unpadded", lambda d: f"{d.year}/{d.month}/{d.day} {d.hour}:{d.minute:02}", "minute"),
    ("dot seconds", lambda d: d.strftime("%Y.%m.%d %H:%M:%S"), "second"),
    ("T separator", lambda d: d.strftime("%Y-%m-%dT%H:%M:%S"), "second"),
    ("milliseconds", lambda d: d.strftime("%Y-%m-%d %H:%M:%S.000"), "second"),
    ("chinese minutes", lambda d: d.strftime("%Y年%m月%d日 %H:%M"), "minute"),
    ("chinese 时分", lambda d: f"{d.year}年{d.month}月{d.day}日{d.hour}时{d.minute}分", "minute"),
    ("chinese period", _worded, "minute"),
    ("am/pm", lambda d: d.strftime("%Y-%m-%d %I:%M %p"), "minute"),
    ("full width", lambda d: d.strftime("%Y-%m-%d %H:%M:%S").translate(FULL_WIDTH), "second"),
    ("iso date", lambda d: d.strftime("%Y-%m-%d"), "day"),
    ("dot date", lambda d: d.strftime("%Y.%m.%d"), "day"),
    ("compact date", lambda d: d.strftime("%Y%m%d"), "day"),
    ("chinese date", lambda d: f"{d.year}年{d.month}月{d.day}日", "day"),
    ("excel serial", lambda d: repr((d - datetime(1899, 12, 30)) / timedelta(days=1)), "second"),
]
FORMAT_INDEX = st.integers(min_value=0, max_value=len(FORMATS) - 1)


def _truncate(d: datetime, precision: str) -> datetime:
    if precision == "day":
        return datetime.combine(d.date(), time(0))
    if precision == "minute":
        return d.replace(second=0)
    return d


@settings(max_examples=300, deadline=None)
@given(DATETIMES, FORMAT_INDEX)
def test_rendered_datetimes_parse_back(d, index):
    name, render, precision = FORMATS[index]
    parsed = parse_datetime(render(d))
    expected = _truncate(d, precision)
    assert parsed.value == expected, name
    assert parsed.error_code is None
    assert not parsed.year_inferred
    if precision == "day":
        assert not parsed.has_time
    elif expected.time() != time(0):
        assert parsed.has_time


@settings(max_examples=200, deadline=None)
@given(DATETIMES)
def test_yearless_dates_take_the_year_of_a_nearby_ref(d):
    parsed = parse_datetime(f"{d.month}月{d.day}日 {d.hour}:{d.minute:02}", ref=d.date())
    assert parsed.value == d.replace(second=0)
    assert parsed.year_inferred


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(2023, 1, 1), max_value=date(2023, 12, 31)),
    st.dates(min_value=date(1901, 1, 1), max_value=date(2198, 12, 31)),
)
def test_infer_year_is_within_half_a_year_of_ref(month_day, ref):
    year = infer_year(month_day.month, month_day.day, ref)
    assert ref.year - 1 <= year <= ref.year + 1
    assert abs((date(year, month_day.month, month_day.day) - ref).days) <= 183


DATE_PIECES = st.sampled_from(
    [
        "2026", "11", "18", "1", "5", "00", "24", "60", "46344", ".5", "0.", "1899-12-30",
        "-", "/", ".", ":", " ", "T", "t", "年", "月", "日", "号", "点", "时", "分", "秒", "半",
        "上午", "下午", "晚上", "中午", "凌晨", "am", "PM", "三", "十", "两", "一刻",
        "２", "：", "－", "\u3000", "\u200b", "待定", "x",
    ]
)  # fmt: skip
DATE_TEXT = st.lists(DATE_PIECES, max_size=10).map("".join)
RENDERED = st.builds(lambda d, i: FORMATS[i][1](d), DATETIMES, FORMAT_INDEX)
CELLS = st.one_of(st.none(), st.text(max_size=25), DATE_TEXT, RENDERED)
REFS = st.one_of(st.none(), st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=40), DATE_TEXT), REFS)
def test_parse_datetime_never_raises(cell, ref):
    parsed = parse_datetime(cell, ref=ref)
    assert (parsed.value is None) is (parsed.error_code is not None)
    assert parsed.error_code in (None, MISSING, INVALID, TIME_ONLY)
    assert parse_time(cell) is None or isinstance(parse_time(cell), time)
    assert isinstance(combine(cell, cell, ref=ref), DateParse)


@settings(max_examples=150, deadline=None)
@given(st.lists(CELLS, max_size=25), REFS)
def test_series_equals_scalar_with_scalar_ref(cells, ref):
    assert_series_matches(cells, ref, None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(CELLS, REFS), max_size=25), REFS)
def test_series_equals_scalar_with_per_row_refs(rows, ref):
    assert_series_matches([cell for cell, _ in rows], ref, [row_ref for _, row_ref in rows])
