from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalise.dates import (
    DateParse,
    combine,
    combine_series,
    excel_serial_to_datetime,
    infer_year,
    parse_datetime,
    parse_datetime_series,
    parse_time,
    to_iso,
)
from reconcile.normalise.errors import RowError

REF = date(2026, 11, 20)
MISSING, INVALID, TIME_ONLY = RowError.DATE_MISSING, RowError.DATE_INVALID, RowError.DATE_TIME_ONLY


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
    ("2026-11-18 10:15:32.247", None, dt(2026, 11, 18, 10, 15, 32, 247000), True, False, None),
    ("2026/11/18 10:15:32.2474449", None, dt(2026, 11, 18, 10, 15, 32, 247444), True, False, None),
    ("2026.11.18 10:15:32.5", None, dt(2026, 11, 18, 10, 15, 32, 500000), True, False, None),
    ("2026-11-18T10:15:32.247", None, dt(2026, 11, 18, 10, 15, 32, 247000), True, False, None),
    ("2026-11-18 00:00:00.000", None, dt(2026, 11, 18), False, False, None),
    ("2026-11-18 00:00:00.001", None, dt(2026, 11, 18, 0, 0, 0, 1000), True, False, None),
    ("2026-11-18 10:15:32.", None, None, False, False, INVALID),
    ("2026-11-18 10:15.5", None, None, False, False, INVALID),
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
    ("11月18日 10:15:32.247", REF, dt(2026, 11, 18, 10, 15, 32, 247000), True, True, None),
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
    # dotted and dashed dates without a year (SPEC 4.1, "More date shapes")
    ("12.1", REF, dt(2026, 12, 1), False, True, None),
    ("11.30", REF, dt(2026, 11, 30), False, True, None),
    ("12.01", REF, dt(2026, 12, 1), False, True, None),
    ("12-01", REF, dt(2026, 12, 1), False, True, None),
    ("12/1", REF, dt(2026, 12, 1), False, True, None),
    ("11.30 17:20", REF, dt(2026, 11, 30, 17, 20), True, True, None),
    ("12.1 下午3点", REF, dt(2026, 12, 1, 15), True, True, None),
    ("12.1下午3点", REF, dt(2026, 12, 1, 15), True, True, None),
    ("12.1 00:00:00", REF, dt(2026, 12, 1), False, True, None),
    ("１２．１", REF, dt(2026, 12, 1), False, True, None),
    ("1.5", date(2026, 12, 30), dt(2027, 1, 5), False, True, None),
    ("12.1", date(2027, 1, 3), dt(2026, 12, 1), False, True, None),
    ("2.29", date(2028, 3, 1), dt(2028, 2, 29), False, True, None),
    ("2.29", REF, None, False, False, INVALID),
    ("12.1", None, None, False, False, INVALID),
    ("11.30 17:20", None, None, False, False, INVALID),
    ("13.45", REF, None, False, False, INVALID),
    ("2.30", REF, None, False, False, INVALID),
    ("11.31", REF, None, False, False, INVALID),
    ("12.0", REF, None, False, False, INVALID),
    ("12.123", REF, None, False, False, INVALID),
    ("3.14159", REF, None, False, False, INVALID),
    ("12.1.5", REF, None, False, False, INVALID),
    ("12.1 25:00", REF, None, False, False, INVALID),
    ("12.1 明天", REF, None, False, False, INVALID),
    ("12-32", REF, None, False, False, INVALID),
    # decimals that are not month.day keep their old meaning
    ("46344.5", REF, dt(2026, 11, 18, 12), True, False, None),
    ("0.75", REF, None, True, False, TIME_ONLY),
    (".5", REF, None, True, False, TIME_ONLY),
    ("0.5", REF, None, True, False, TIME_ONLY),
    ("12345.5", REF, None, False, False, INVALID),
    # times without a date
    ("17:20", None, None, True, False, TIME_ONLY),
    ("17:20:00", REF, None, True, False, TIME_ONLY),
    ("下午3点", None, None, True, False, TIME_ONLY),
    ("3:00 PM", None, None, True, False, TIME_ONLY),
    ("0.7222", None, None, True, False, TIME_ONLY),
    ("1899-12-30 17:20:00", None, None, True, False, TIME_ONLY),
    ("1899-12-31 17:20:00", None, None, True, False, TIME_ONLY),
    ("1900-01-00 17:20:00", None, None, True, False, TIME_ONLY),
    ("1899-12-30 凌晨12点", None, None, True, False, TIME_ONLY),
    ("1899-12-30 10:15:32.247", None, None, True, False, TIME_ONLY),
    ("10:15:32.247", None, None, True, False, TIME_ONLY),
    # blanks
    ("", None, None, False, False, MISSING),
    ("   ", None, None, False, False, MISSING),
    ("\u3000", None, None, False, False, MISSING),
    (None, None, None, False, False, MISSING),
    # placeholder days mean an empty cell (SPEC 4.1)
    ("1900-01-01", None, None, False, False, MISSING),
    ("1900-01-01", REF, None, False, False, MISSING),
    ("1900/1/1", None, None, False, False, MISSING),
    ("1900.01.01", None, None, False, False, MISSING),
    ("1900年1月1日", None, None, False, False, MISSING),
    ("19000101", None, None, False, False, MISSING),
    ("1900-01-01 00:00:00", None, None, False, False, MISSING),
    ("1900-01-01 00:00", None, None, False, False, MISSING),
    ("1900-01-01 00:00:00.000", None, None, False, False, MISSING),
    ("1900-01-01T00:00:00", None, None, False, False, MISSING),
    ("0000-00-00", None, None, False, False, MISSING),
    ("0000-00-00 00:00:00", None, None, False, False, MISSING),
    ("0000/00/00", None, None, False, False, MISSING),
    ("1899-12-30 00:00:00", None, None, False, False, MISSING),
    ("1899-12-30", REF, None, False, False, MISSING),
    ("1899-12-31 00:00:00", None, None, False, False, MISSING),
    ("1900-01-00", None, None, False, False, MISSING),
    # ... but not with a real clock, nor on a neighbouring day
    ("1900-01-01 10:15", None, dt(1900, 1, 1, 10, 15), True, False, None),
    ("1900-01-01 00:00:01", None, dt(1900, 1, 1, 0, 0, 1), True, False, None),
    ("1900-01-01 凌晨12点", None, dt(1900, 1, 1), True, False, None),
    ("1900-01-02", None, dt(1900, 1, 2), False, False, None),
    ("1月1日", date(1900, 1, 2), dt(1900, 1, 1), False, True, None),
    ("0000-00-00 10:00", None, None, False, False, INVALID),
    ("0000-01-01", None, None, False, False, INVALID),
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
    # a weekday beside the date (hand-kept registers) adds nothing; alone it is no date
    ("2026-11-18 10:20:00 星期三", None, dt(2026, 11, 18, 10, 20), True, False, None),
    ("2026-11-18(周三) 10:20", None, dt(2026, 11, 18, 10, 20), True, False, None),
    ("2026/11/18 礼拜三 下午3点", None, dt(2026, 11, 18, 15), True, False, None),
    ("11月18日（周三）", REF, dt(2026, 11, 18), False, True, None),
    ("周三", None, None, False, False, INVALID),
    # a visit's span or an approximate time is its start, as written
    ("2026-11-18 14:00-15:00", None, dt(2026, 11, 18, 14), True, False, None),
    ("2026-11-18 14:00~15:00", None, dt(2026, 11, 18, 14), True, False, None),
    ("2026-11-18 下午3点到5点", None, dt(2026, 11, 18, 15), True, False, None),
    ("2026-11-18 晚上7点-9点", None, dt(2026, 11, 18, 19), True, False, None),
    ("2026-11-18 10:30左右", None, dt(2026, 11, 18, 10, 30), True, False, None),
    ("2026-11-18 约10点", None, dt(2026, 11, 18, 10), True, False, None),
    ("2026-11-18 10:30-", None, None, False, False, INVALID),
    ("2026-11-18 10:30-xx", None, None, False, False, INVALID),
    # ... never a system's moment with a negative offset, which no wall clock gives
    ("2026-11-18 10:20:00-05:00", None, None, False, False, INVALID),
    # a part of the day alone: the date is known, the time not
    ("2026-11-18 下午", None, dt(2026, 11, 18), False, False, None),
    ("2026-11-18 中午", None, dt(2026, 11, 18), False, False, None),
    # English month names, as English locales export them
    ("Nov 18, 2026 10:20:00 AM", None, dt(2026, 11, 18, 10, 20), True, False, None),
    ("Nov 18, 2026 2:05:00 PM", None, dt(2026, 11, 18, 14, 5), True, False, None),
    ("November 18, 2026", None, dt(2026, 11, 18), False, False, None),
    ("Wednesday, November 18, 2026", None, dt(2026, 11, 18), False, False, None),
    ("18-Nov-2026", None, dt(2026, 11, 18), False, False, None),
    ("18-NOV-26", None, dt(2026, 11, 18), False, False, None),
    ("18 Nov 2026 10:20", None, dt(2026, 11, 18, 10, 20), True, False, None),
    ("Feb 30, 2026", None, None, False, False, INVALID),
    ("Nov 18, 2026 25:00", None, None, False, False, INVALID),
    # ... a moment naming its zone is a moment with an offset: without the project's
    # zone it is not guessed (see the series test below)
    ("Wed Nov 18 10:20:00 CST 2026", None, None, False, False, INVALID),
    ("Wed Nov 18 10:20:00 PST 2026", None, None, False, False, INVALID),
    # a clock without colons after a date, and a stamp in one number
    ("20261118 1010", None, dt(2026, 11, 18, 10, 10), True, False, None),
    ("2026-11-18 101530", None, dt(2026, 11, 18, 10, 15, 30), True, False, None),
    ("20261118101000", None, dt(2026, 11, 18, 10, 10), True, False, None),
    ("202611181010", None, dt(2026, 11, 18, 10, 10), True, False, None),
    ("2026-11-18 2561", None, None, False, False, INVALID),
    ("2026111810", None, None, False, False, INVALID),
    # a dotted clock after a date, as hands type it
    ("2026.11.18 10.20", None, dt(2026, 11, 18, 10, 20), True, False, None),
    ("2026.11.18 10.20.30", None, dt(2026, 11, 18, 10, 20, 30), True, False, None),
    ("2026.11.18 25.20", None, None, False, False, INVALID),
    # a slashed date with the year last: one cell cannot say which is the month
    ("11/18/2026", None, None, False, False, INVALID),
    # a moment naming its zone: read with the project's zone only (the series test)
    ("2026-11-18 10:20:00 CST", None, None, False, False, INVALID),
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
        ("12.1", None, "缺少年份且无法推断（12.1）"),
        ("13.45", REF, "无法识别的日期（13.45）"),
        ("2.30", REF, "无法识别的日期（2.30）"),
        ("1900-01-01", None, "缺少日期"),
        ("0000-00-00 00:00:00", None, "缺少日期"),
        ("1899-12-30 00:00:00", None, "缺少日期"),
        ("1899-12-30 17:20:00", None, "只有时间没有日期（17:20:00）"),
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
        ("10:15:32.247", time(10, 15, 32, 247000)),
        ("10:15:32.2474449", time(10, 15, 32, 247444)),
        ("1899-12-30 10:15:32.247", time(10, 15, 32, 247000)),
        ("1900-01-01", None),
        ("12.1", None),
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
    ("12.1", "17:20", REF, dt(2026, 12, 1, 17, 20), True, True, None),
    ("11.30", "下午3点", REF, dt(2026, 11, 30, 15), True, True, None),
    ("2026-11-19", "10:15:32.247", None, dt(2026, 11, 19, 10, 15, 32, 247000), True, False, None),
    ("2026-11-19", "1899-12-30 00:00:00", None, dt(2026, 11, 19), False, False, None),
    ("2026-11-19", "0000-00-00 00:00:00", None, dt(2026, 11, 19), False, False, None),
    # a placeholder date cell is an empty one
    ("1900-01-01", "17:20", None, None, True, False, TIME_ONLY),
    ("0000-00-00", "", None, None, False, False, MISSING),
    ("1899-12-30 00:00:00", None, None, None, False, False, MISSING),
    ("1899-12-30 00:00:00", "17:20", None, None, True, False, TIME_ONLY),
    ("1900-01-01 00:00:00", "2026-11-19 10:00:00", None, dt(2026, 11, 19, 10), True, False, None),
    # a span or an approximate time in the time column: its start
    ("2026-11-18", "14:00-15:00", None, dt(2026, 11, 18, 14), True, False, None),
    ("2026-11-18", "下午2点-3点", None, dt(2026, 11, 18, 14), True, False, None),
    ("2026-11-18", "上午10:00左右", None, dt(2026, 11, 18, 10), True, False, None),
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


def test_combine_series_is_combine_of_each_row():
    # Every date cell of the cases against every time cell and each ref: the shared
    # parses of a date or a time cell must not leak from one row into another.
    days = sorted({case[0] for case in COMBINE_CASES}, key=str)
    clocks = sorted({case[1] for case in COMBINE_CASES}, key=str)
    rows = [(d, t, ref) for d in days for t in clocks for ref in (REF, date(2027, 1, 3))]
    rows += rows[::-1]
    frame = combine_series(
        pl.Series([d for d, _, _ in rows], dtype=pl.String),
        pl.Series([t for _, t, _ in rows], dtype=pl.String),
        pl.Series([r for _, _, r in rows], dtype=pl.Date),
    )
    expected = [combine(d, t, ref=r) for d, t, r in rows]
    assert frame.to_dicts() == [
        {
            "value": p.value,
            "has_date": p.has_date,
            "has_time": p.has_time,
            "year_inferred": p.year_inferred,
            "error_code": p.error_code,
            "error": p.error,
        }
        for p in expected
    ]


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
        "2026-11-18 10:15:32.247",
        "2026/11/18 10:15:32.2474449",
        "2026.11.18 00:00:00.000",
        "2026-11-18 00:00:00.5",
    ]
    assert_series_matches(cells, None, None)


def test_fractional_seconds_stay_on_the_fast_path(monkeypatch):
    from reconcile.normalise import dates as module

    def per_row(*args, **kwargs):
        raise AssertionError(f"per-row parser called for {args!r}")

    monkeypatch.setattr(module, "parse_datetime", per_row)
    out = parse_datetime_series(
        pl.Series(
            ["2026-11-18 10:15:32.247", "2026/11/18 10:15:32.2474449", "2026-11-18 00:00:00.000"]
        )
    )
    assert out["value"].to_list() == [
        dt(2026, 11, 18, 10, 15, 32, 247000),
        dt(2026, 11, 18, 10, 15, 32, 247444),
        dt(2026, 11, 18),
    ]
    assert out["has_time"].to_list() == [True, True, False]


def test_series_reads_placeholders_as_missing():
    """1900-01-01 fits the fast pattern, yet it must come back as an empty cell."""
    cells = ["1900-01-01", "1900-01-01 00:00:00", "1900/01/01 00:00", "1900.01.01", "0000-00-00"]
    out = parse_datetime_series(pl.Series([*cells, "1900-01-01 10:15:00", "2026-11-18"]), ref=REF)
    assert out["error_code"].to_list() == [MISSING] * len(cells) + [None, None]
    assert out["value"].to_list() == [None] * len(cells) + [
        dt(1900, 1, 1, 10, 15),
        dt(2026, 11, 18),
    ]


def test_series_infers_the_year_of_dotted_dates():
    out = parse_datetime_series(
        pl.Series(["12.1", "12.1", "11.30 17:20", "13.45"]),
        ref=date(2026, 11, 20),
        ref_dates=pl.Series([None, date(2027, 10, 1), None, None], dtype=pl.Date),
    )
    assert out["value"].to_list() == [
        dt(2026, 12, 1),
        dt(2027, 12, 1),
        dt(2026, 11, 30, 17, 20),
        None,
    ]
    assert out["year_inferred"].to_list() == [True, True, True, False]


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
        "12.1", "11.30", "0.75", "1900-01-01", "0000-00-00", "00:00:00", ".247",
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


# ------------------------------------------------- more date shapes (SPEC 4.1)


def _yearless(month: int, day: int, sep: str, pad: bool, clock: str) -> str:
    return f"{month:02}{sep}{day:02}{clock}" if pad else f"{month}{sep}{day}{clock}"


CLOCKS = st.sampled_from(
    ["", " 17:20", " 00:00:00", " 9:05:07.1", "下午3点", " 10:15:32.247", " 25:00", " 上午15点"]
)
# Months and days a little past the valid range, so that errors are generated too.
YEARLESS = st.builds(
    _yearless,
    st.integers(0, 14),
    st.integers(0, 33),
    st.sampled_from([".", "-", "/"]),
    st.booleans(),
    CLOCKS,
)
PLACEHOLDERS = st.builds(
    str.__add__,
    st.sampled_from(
        [
            "1900-01-01", "1900/1/1", "1900.01.01", "1900年1月1日", "19000101", "0000-00-00",
            "0000/00/00", "1899-12-30", "1899-12-31", "1900-01-00", "1900-01-02",
        ]
    ),
    st.sampled_from(
        ["", " 00:00:00", " 00:00", " 00:00:00.000", "T00:00:00", " 10:15", " 凌晨12点"]
    ),
)  # fmt: skip
FRACTIONS = st.text("0123456789", min_size=1, max_size=9)
PRECISE = st.datetimes(min_value=datetime(1955, 1, 1), max_value=datetime(2118, 12, 31))
FRACTIONAL = st.builds(
    lambda d, sep, fraction, with_date: (
        (f"{d.year}{sep}{d.month:02}{sep}{d.day:02} " if with_date else "")
        + f"{d:%H:%M:%S}.{fraction}"
    ),
    PRECISE,
    st.sampled_from(["-", "/", "."]),
    FRACTIONS,
    st.booleans(),
)
DECIMALS = st.builds(
    lambda whole, fraction: f"{whole}.{fraction}",
    st.one_of(st.integers(0, 40), st.integers(19990, 80010)),
    st.text("0123456789", min_size=1, max_size=4),
)
NEW_SHAPES = st.one_of(YEARLESS, PLACEHOLDERS, FRACTIONAL, DECIMALS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NEW_SHAPES, REFS), max_size=25), REFS)
def test_series_equals_scalar_on_new_shapes(rows, ref):
    assert_series_matches([cell for cell, _ in rows], ref, [row_ref for _, row_ref in rows])


@settings(max_examples=300, deadline=None)
@given(YEARLESS, st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_dotted_and_dashed_dates_read_like_chinese_month_day(cell, ref):
    """12.1 and 12-01 take their year exactly as 12月1日 does; 0.x stays a day fraction."""
    match = re.fullmatch(r"([0-9]+)[-./]([0-9]+)(.*)", cell)
    assert match is not None
    month, day, clock = int(match[1]), int(match[2]), match[3]
    parsed = parse_datetime(cell, ref=ref)
    if month == 0 and "." in cell:
        assert parsed.value is None
        return
    chinese = parse_datetime(f"{month}月{day}日{clock}", ref=ref)
    # Everything but the reason, which quotes the cell as written.
    assert parsed == replace(chinese, error=parsed.error)
    assert (parsed.error is None) is (chinese.error is None)
    if parsed.value is not None:
        assert parsed.year_inferred
        assert (parsed.value.month, parsed.value.day) == (month, day) or clock.strip() == "25:00"


@settings(max_examples=200, deadline=None)
@given(PLACEHOLDERS, REFS)
def test_placeholders_without_a_real_clock_are_empty(cell, ref):
    parsed = parse_datetime(cell, ref=ref)
    clock = re.sub(r"^[0-9./\-年月日]+[ t]?", "", cell.lower())
    real_clock = clock not in ("", "00:00:00", "00:00", "00:00:00.000")
    if cell.startswith("1900-01-02"):
        assert parsed.value is not None
    elif real_clock:
        assert parsed.error_code != MISSING
    else:
        assert parsed == parse_datetime("", ref=ref)


@settings(max_examples=200, deadline=None)
@given(PRECISE, FRACTIONS)
def test_fractional_seconds_are_kept_to_the_microsecond(d, fraction):
    cell = f"{d:%Y-%m-%d %H:%M:%S}.{fraction}"
    expected = d.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    parsed = parse_datetime(cell)
    assert parsed.value == expected
    assert parsed.has_time is (expected.time() != time(0))
    assert parse_time(cell.split(" ")[1]) == expected.time()
    assert parse_datetime_series(pl.Series([cell]))["value"].to_list() == [expected]


# A time column holds clock text mostly, and sometimes a whole (year-less) date.
TIME_CELLS = st.one_of(
    CELLS, YEARLESS, CLOCKS.map(str.strip), st.sampled_from(["0.75", "1899-12-30 17:20:00"])
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(CELLS, YEARLESS), TIME_CELLS, REFS), max_size=25))
def test_combine_series_equals_combine(rows):
    # Each distinct time cell is read once for every row's date unless it is a year-less
    # date: the rows of one time cell against different dates must still each be right.
    rows = rows + [(d, t, other) for d, t, _ in rows for other in (REF, None)]
    frame = combine_series(
        pl.Series([d for d, _, _ in rows], dtype=pl.String),
        pl.Series([t for _, t, _ in rows], dtype=pl.String),
        pl.Series([r for _, _, r in rows], dtype=pl.Date),
    )
    assert frame.height == len(rows)
    for (d, t, r), row in zip(rows, frame.iter_rows(named=True), strict=True):
        assert row == as_row(combine(d, t, ref=r)), (d, t, r)


@settings(max_examples=200, deadline=None)
@given(st.one_of(CELLS, YEARLESS, TIME_CELLS), REFS, REFS)
def test_a_cell_that_reads_no_ref_parses_alike_against_any(cell, first, second):
    from reconcile.normalise.dates import _reads_ref

    if cell is not None and not _reads_ref(cell):
        assert parse_datetime(cell, ref=first) == parse_datetime(cell, ref=second)


@pytest.mark.parametrize(
    ("text", "zone", "wall_clock"),
    [
        ("2026-11-18T10:20:00+08:00", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18T02:20:00Z", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18 10:20+0800", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18t10:20:00.999+08:00", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18T10:20:00+08:00", "Europe/London", datetime(2026, 11, 18, 2, 20)),
        # the morning the clocks go forward: 01:30 UTC is 02:30 BST
        ("2026-03-29T01:30:00Z", "Europe/London", datetime(2026, 3, 29, 2, 30)),
        ("2026-11-18T23:30:00-05:00", "Asia/Shanghai", datetime(2026, 11, 19, 12, 30)),
        ("2026-13-40T10:20:00+08:00", "Asia/Shanghai", None),
        # Java's Date.toString: CST is China Standard Time in a Chinese system
        ("Wed Nov 18 10:20:00 CST 2026", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("Wed Nov 18 02:20:00 UTC 2026", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("Wed Nov 18 10:20:00 GMT+08:00 2026", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        # JavaScript's Date.toString and RFC 2822 (mail and HTTP dates)
        (
            "Wed Nov 18 2026 10:20:00 GMT+0800 (中国标准时间)",
            "Asia/Shanghai",
            datetime(2026, 11, 18, 10, 20),
        ),
        ("Wed, 18 Nov 2026 02:20:00 GMT", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("Wed, 18 Nov 2026 10:20:00 +0800", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        # a system's local time with its zone's name
        ("2026-11-18 10:20:00 CST", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18 02:20 UTC", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        # the zone named before the offset, after an ISO date (Java's and JavaScript's
        # formatters with a zone pattern, and SaaS exports made from them)
        ("2026-11-18 10:20:00 GMT+08:00", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18 10:20:00 UTC+8", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18T10:20 GMT+0800", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-11-18 02:20:00.000 GMT", "Asia/Shanghai", datetime(2026, 11, 18, 10, 20)),
        ("2026-13-40 10:20:00 GMT+08:00", "Asia/Shanghai", None),
        # milliseconds or seconds since 1970, as an API's JSON gives a moment
        ("1763432400000", "Asia/Shanghai", datetime(2025, 11, 18, 10, 20)),
        ("1763432400123", "Asia/Shanghai", datetime(2025, 11, 18, 10, 20)),
        ("1763432400", "Asia/Shanghai", datetime(2025, 11, 18, 10, 20)),
        ("1763432400000.0", "Europe/London", datetime(2025, 11, 18, 2, 20)),
        # ... only from 2000 to 2100, and never a number of another length (a phone)
        ("9999999999999", "Asia/Shanghai", None),
        ("0946684799", "Asia/Shanghai", None),
        ("13812345678", "Asia/Shanghai", None),
        # a zone name that is not guessed, and a day no calendar holds
        ("Wed Nov 18 10:20:00 PST 2026", "Asia/Shanghai", None),
        ("Feb 30, 2026 10:00 UTC", "Asia/Shanghai", None),
    ],
)
def test_a_moment_with_its_offset_is_read_as_the_projects_wall_clock(text, zone, wall_clock):
    parsed = parse_datetime_series(pl.Series([text, "2026-11-18 09:00"]), zone=zone)
    assert parsed["value"].to_list() == [wall_clock, datetime(2026, 11, 18, 9, 0)]
    assert parsed["has_time"][0] is (wall_clock is not None)
    # Without the project's zone an offset is not guessed: the cell is an error.
    assert parse_datetime_series(pl.Series([text]))["value"].to_list() == [None]
    if wall_clock is None:  # the error shows the cell as the clerk wrote it
        assert text in parsed["error"][0]


@pytest.mark.parametrize(
    ("column", "read"),
    [
        # en-US Excel: month first, shown by a day above 12
        (["11/18/2026 10:20", "5/1/2026"], ["2026-11-18 10:20", "2026-05-01"]),
        # en-GB: day first, shown by a first number above 12
        (["18/11/2026 10:20", "5/1/2026"], ["2026-11-18 10:20", "2026-01-05"]),
        # nothing shows the order, or the column contradicts itself: left as written
        (["5/1/2026", "6/2/2026"], ["5/1/2026", "6/2/2026"]),
        (["13/1/2026", "1/13/2026"], ["13/1/2026", "1/13/2026"]),
        # other cells untouched
        (["11/18/2026", None, "2026-11-18", "x"], ["2026-11-18", None, "2026-11-18", "x"]),
    ],
)
def test_a_column_of_slashed_dates_says_which_is_the_month(column, read):
    from reconcile.normalise.dates import slashed_in_order

    assert slashed_in_order(pl.Series("c", column, dtype=pl.String)).to_list() == read


def test_an_undecided_slashed_date_says_how_to_write_it():
    parsed = parse_datetime("5/1/2026")
    assert parsed.error_code == INVALID and "月、日顺序" in (parsed.error or "")
