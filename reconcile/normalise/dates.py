"""Date and time parsing for agency registration sheets.

Cells arrive as text: datetime cells as ``2026-11-18 17:20:00``, date cells as
``2026-11-19 00:00:00``, numeric cells as Excel serials (``46344.5``), and typed
values in every local style (``11月18日下午3点``). Results are naive wall-clock
datetimes in the project timezone; failures carry an error code and a Chinese
reason quoting the offending text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import polars as pl

from reconcile.normalise.errors import RowError

_EXCEL_EPOCH = datetime(1899, 12, 30)
_SERIAL_MIN = 20000.0
_SERIAL_MAX = 80000.0
# Years outside this window are typos (0226, 2226) rather than real registrations.
_YEAR_MIN = 1900
_YEAR_MAX = 2199
_MIDNIGHT = time(0)
_SECONDS_PER_DAY = 86400
_MICRO_DIGITS = 6
_SHOWN_MAX = 40

_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))
# Excel and web exports smuggle zero-width characters into cells that look clean.
_INVISIBLE = str.maketrans(dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff"))

_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DAY_FRACTION_RE = re.compile(r"0?\.[0-9]+")
# Readers render a time-only cell on Excel's day zero, which libraries spell as
# 1899-12-30, 1899-12-31 or Excel's own 1900-01-00.
_EPOCH_DAY_RE = re.compile(r"(?:1899[-/.]12[-/.]3[01]|1900[-/.]0?1[-/.]0?0)(?:[ t](?P<clock>.*))?")
_DATED_RES = (
    re.compile(
        r"(?P<y>[0-9]{4}) ?(?P<sep>[-/.]) ?(?P<m>[0-9]{1,2}) ?(?P=sep) ?(?P<d>[0-9]{1,2})"
        r"(?![0-9])(?P<rest>.*)"
    ),
    re.compile(
        r"(?P<y>[0-9]{4}) ?年 ?(?P<m>[0-9]{1,2}) ?月 ?(?P<d>[0-9]{1,2}) ?"
        r"(?:[日号]|(?![0-9]))(?P<rest>.*)"
    ),
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})(?![0-9])(?P<rest>.*)"),
    # yyyyMMddHHmm(ss), a system's stamp in one number
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})(?P<rest>[0-9]{4}|[0-9]{6})"),
)
_YEARLESS_RES = (
    re.compile(r"(?P<m>[0-9]{1,2}) ?月 ?(?P<d>[0-9]{1,2}) ?(?:[日号]|(?![0-9]))(?P<rest>.*)"),
    re.compile(r"(?P<m>[0-9]{1,2})[-/](?P<d>[0-9]{1,2})(?![0-9])(?P<rest>.*)"),
    # 12.1 and 11.30 are month.day (a numeric cell 12.1 arrives as the same text),
    # but 0.75 is a day fraction and 13.45 no date at all, so only a month of 1-12
    # makes a dotted number a date. Serials are taken before this is tried.
    re.compile(r"(?P<m>0?[1-9]|1[0-2])\.(?P<d>[0-9]{1,2})(?![0-9])(?P<rest>.*)"),
)
# Systems that cannot leave a date blank write a placeholder day instead: MySQL's
# zero date 0000-00-00 and the 1900-01-01 that SQL Server stores for ''. Excel's
# day zero (see _EPOCH_DAY_RE) is the third; with no clock it is an empty cell.
_PLACEHOLDER_DAYS = frozenset({(0, 0, 0), (1900, 1, 1)})

_PERIOD = "(?P<period>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|夜间|晚间)"
_PERIOD_RE = re.compile(_PERIOD)
_AMPM = r"(?P<ampm>am|pm|a\.m\.|p\.m\.)"
_CN_NUMBER = "[0-9]{1,2}|[零〇一二两三四五六七八九十]{1,3}"
_COLON_CLOCK_RE = re.compile(
    rf"{_PERIOD}? ?(?P<h>[0-9]{{1,2}}):(?P<m>[0-9]{{2}})"
    rf"(?::(?P<s>[0-9]{{2}})(?:\.(?P<f>[0-9]+))?)? ?{_AMPM}?"
)
_HANZI_CLOCK_RE = re.compile(
    rf"{_PERIOD}? ?(?P<h>{_CN_NUMBER}) ?[点时]"
    rf"(?: ?(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<m>{_CN_NUMBER}) ?分?"
    rf"(?: ?(?P<s>{_CN_NUMBER}) ?秒)?))? ?[钟整]? ?{_AMPM}?"
)
_BARE_HOUR_RE = re.compile(rf"(?P<h>[0-9]{{1,2}}) ?{_AMPM}")

_MORNING = frozenset({"凌晨", "早上", "早晨", "上午", "am", "a.m."})
_AFTERNOON = frozenset({"下午", "pm", "p.m."})
_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DateParse:
    """Outcome of parsing a date/time cell.

    ``has_time`` is False when no time of day is known; a midnight written in
    digits counts as unknown because readers render plain date cells as
    ``00:00:00``, while a worded one (凌晨12点, 0点) is a real time.
    For ``date_time_only`` the value is None but ``has_time`` is True.
    """

    value: datetime | None
    has_date: bool
    has_time: bool
    year_inferred: bool
    error_code: str | None
    error: str | None


_MISSING = DateParse(None, False, False, False, RowError.DATE_MISSING, "缺少日期")


class _Clock(NamedTuple):
    time: time
    day_offset: int
    # False for a midnight written in digits (00:00:00, a whole serial): that is
    # how readers render a plain date cell, so it says nothing about the time.
    known: bool


_NO_CLOCK = _Clock(_MIDNIGHT, 0, False)


def _shown(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SHOWN_MAX else flat[:_SHOWN_MAX] + "…"


def _invalid(text: str) -> DateParse:
    reason = f"无法识别的日期（{_shown(text)}）"
    return DateParse(None, False, False, False, RowError.DATE_INVALID, reason)


def _time_only(text: str) -> DateParse:
    # A time-only Excel cell reads as 1899-12-31 17:20:00: show the clerk what they typed.
    epoch_day = _EPOCH_DAY_RE.fullmatch(text.strip())
    shown = epoch_day.group("clock") if epoch_day and epoch_day.group("clock") else text
    reason = f"只有时间没有日期（{_shown(shown)}）"
    return DateParse(None, False, True, False, RowError.DATE_TIME_ONLY, reason)


# The weekday hand-kept registers write beside a date (11月18日（周三）, 星期三): it adds
# nothing to the date it follows.
_WEEKDAY_RE = re.compile(r"\(?(?:星期|礼拜|周)[一二三四五六日天]\)?")


# Dates with English month names, as Java and JavaScript print them and as English
# locales export: `Wed Nov 18 10:20:00 CST 2026` (Java's Date.toString), `Wed Nov 18 2026
# 10:20:00 GMT+0800 (中国标准时间)` (JavaScript's), `Nov 18, 2026 10:20:00 AM`, `18-Nov-2026`.
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_LATIN_RE = re.compile("[a-z]{3}")
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WD = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? )?"
_EN_CLOCK = r"(?P<clock>[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?: ?(?:am|pm|a\.m\.|p\.m\.))?)"
_EN_OFFSET = r"(?:gmt|utc)?(?P<off>[+-][0-9]{1,2}(?::?[0-9]{2})?)"
_ENGLISH_RES = (
    # Java: the zone (a name, or GMT+08:00) between the clock and the year
    re.compile(
        rf"{_WD}{_MON} (?P<d>[0-9]{{1,2}}) {_EN_CLOCK} (?:{_EN_OFFSET}|(?P<zone>[a-z]{{1,5}})) "
        r"(?P<y>[0-9]{4})"
    ),
    # month first, year before the clock: JavaScript, and English locales' exports
    re.compile(
        rf"{_WD}{_MON} (?P<d>[0-9]{{1,2}}),? (?P<y>[0-9]{{4}})(?:,? {_EN_CLOCK})?"
        rf"(?: {_EN_OFFSET}| (?P<zone>[a-z]{{1,5}}))?(?: \(.*\))?"
    ),
    # day first (Oracle's 18-NOV-26, 18 Nov 2026 10:20)
    re.compile(
        rf"{_WD}(?P<d>[0-9]{{1,2}})[- ]{_MON}[- ,]+(?P<y>[0-9]{{4}}|[0-9]{{2}})"
        rf"(?: {_EN_CLOCK})?(?: {_EN_OFFSET}| (?P<zone>[a-z]{{1,5}}))?"
    ),
)
# Zone names printed by the systems above. CST is China Standard Time in a Chinese
# system (Java's name for Asia/Shanghai); any other name is not guessed.
_ZONE_OFFSETS = {
    "utc": "+00:00", "gmt": "+00:00", "z": "+00:00",
    "cst": "+08:00", "bjt": "+08:00", "hkt": "+08:00", "sgt": "+08:00", "awst": "+08:00",
    "jst": "+09:00", "kst": "+09:00",
}  # fmt: skip


# A moment with its zone's name after it, as a system prints its local time
# (2026-11-18 10:20:00 CST).
_ZONE_NAMED_RE = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})[ t]"
    r"(?P<clock>[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?) (?P<zone>[a-z]{2,5})"
)


def _english(text: str) -> str | None:
    """A normalised English-month date rewritten as `YYYY-MM-DD[ HH:MM:SS]`, with its
    offset (`YYYY-MM-DDTHH:MM:SS+HH:MM`) when the text names one; a numeric moment naming
    its zone the same way; None when it is neither (or names a zone that is not guessed)."""
    match = _ZONE_NAMED_RE.fullmatch(text) or next(
        (m for p in _ENGLISH_RES if (m := p.fullmatch(text))), None
    )
    if match is None:
        return None
    parts = match.groupdict()
    year = int(parts["y"]) + (2000 if len(parts["y"]) == 2 else 0)
    month = int(parts["m"]) if parts.get("m") else _MONTHS[parts["mon"][:3]]
    day = f"{year:04d}-{month:02d}-{int(parts['d']):02d}"
    if parts["clock"] is None:
        return day
    clock = _single_clock(parts["clock"])
    if clock is None:
        return None
    moment = f"{day} {clock.time.isoformat(timespec='seconds')}"
    written, zone = parts.get("off"), parts.get("zone")
    if written is not None:
        sign, digits = written[0], written[1:].replace(":", "")
        hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "00")
        offset: str | None = f"{sign}{int(hours):02d}:{minutes}"
    else:
        offset = _ZONE_OFFSETS.get(zone) if zone is not None else ""
    if offset is None:  # a zone name that is not guessed
        return None
    return moment.replace(" ", "t") + offset if offset else moment


def _prepared(value: str) -> str:
    """A cell as the parsers read it: folded, weekdays dropped, English months and named
    zones spelled out (`_english`)."""
    text = " ".join(_WEEKDAY_RE.sub(" ", _normalise(value)).split())
    return (_english(text) or text) if _LATIN_RE.search(text) else text


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).translate(_DASHES).lower()
    return " ".join(folded.split())


def _cn_number(text: str) -> int | None:
    if text.isascii():
        return int(text)
    if "十" not in text:
        if len(text) == 2 and text[0] in "零〇":
            text = text[1]
        return _CN_DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    tens_value = _CN_DIGITS[tens] if tens else 1
    ones_value = _CN_DIGITS[ones] if ones else 0
    return tens_value * 10 + ones_value


def _to_24h(hour: int, period: str | None) -> tuple[int, int] | None:
    """Hour on the 24-hour clock plus a day offset, or None when contradictory."""
    if hour > 23:
        return None
    if period is None or hour > 12:
        return (hour, 0) if period is None or period not in _MORNING else None
    if period in _MORNING:
        return (0 if hour == 12 else hour, 0)
    if period == "中午":
        return (hour + 12 if 1 <= hour <= 5 else hour, 0)
    if period in _AFTERNOON:
        return (hour if hour == 12 else hour + 12, 0) if hour else None
    # Only evening words remain. 晚上12点 and 晚上1点 belong to the night that
    # follows the written date.
    if hour == 12 or hour < 5:
        return (hour % 12, 1)
    return (hour + 12, 0)


# Hand-kept registers write when a visit began as a span or an approximation
# (14:00-15:00, 下午2点~3点, 10:30左右, 约10点): the start, as written, is the time.
_APPROXIMATE_RE = re.compile(r"^(?:大约|大概|约)\s*|\s*(?:左右|前后)$")
_SPAN_RE = re.compile(r"(?P<start>[^-~至到]+?)\s*(?:-|~|至|到)\s*(?P<end>[^-~至到]+)")
_SECONDS_RE = re.compile(r"[0-9]:[0-9]{2}:[0-9]{2}")
# A part of the day alone (2026-11-18 下午) names no time: the date is known, the time not.
_PERIOD_ONLY = frozenset(
    {"凌晨", "早上", "早晨", "上午", "中午", "下午", "傍晚", "晚上", "夜里", "夜间", "晚间"}
)


def _parse_clock(text: str) -> _Clock | None:
    plain = _single_clock(text)
    if plain is not None:  # most cells: a clock as it is, no span or approximation to read
        return plain
    bare = _APPROXIMATE_RE.sub("", text)
    span = _SPAN_RE.fullmatch(bare)
    # A start with seconds is a system's moment, and `-05:00` after it an offset, no span.
    if span is not None and not _SECONDS_RE.search(span["start"]):
        start, end = span["start"], span["end"]
        period = _PERIOD_RE.match(start)
        # 下午2点-3点: the end's period is the start's.
        ends = _single_clock(end) or (period and _single_clock(period.group(0) + end))
        return _single_clock(start) if ends else None
    return _single_clock(bare)


def _single_clock(text: str) -> _Clock | None:
    match = (
        _COLON_CLOCK_RE.fullmatch(text)
        or _HANZI_CLOCK_RE.fullmatch(text)
        or _BARE_HOUR_RE.fullmatch(text)
    )
    if match is None:
        return None
    groups = match.groupdict()
    period, ampm = groups.get("period"), groups.get("ampm")
    if period and ampm:
        return None
    hour = _cn_number(groups["h"])
    if groups.get("half"):
        minute: int | None = 30
    elif groups.get("quarter"):
        minute = 15 if groups["quarter"] == "一刻" else 45
    else:
        minute = _cn_number(groups["m"]) if groups.get("m") else 0
    second = _cn_number(groups["s"]) if groups.get("s") else 0
    if hour is None or minute is None or second is None or minute > 59 or second > 59:
        return None
    clock = _to_24h(hour, period or ampm)
    if clock is None:
        return None
    # Fractional seconds (10:15:32.247, SQL Server's milliseconds) are kept to the
    # microsecond; further digits are dropped.
    fraction = groups.get("f")
    micro = int(fraction[:_MICRO_DIGITS].ljust(_MICRO_DIGITS, "0")) if fraction else 0
    value = time(clock[0], minute, second, micro)
    in_words = match.re is not _COLON_CLOCK_RE or period is not None or ampm is not None
    return _Clock(value, clock[1], value != _MIDNIGHT or in_words)


def _parse_time_of_day(text: str) -> _Clock | None:
    """Parse a normalised time-only cell (clock text, day fraction, day-zero datetime)."""
    if _DAY_FRACTION_RE.fullmatch(text):
        seconds = math.floor(float(text) * _SECONDS_PER_DAY + 0.5) % _SECONDS_PER_DAY
        value = time(seconds // 3600, seconds // 60 % 60, seconds % 60)
        return _Clock(value, 0, value != _MIDNIGHT)
    epoch = _EPOCH_DAY_RE.fullmatch(text)
    if epoch is not None:
        clock = epoch.group("clock")
        return _NO_CLOCK if clock is None else _parse_clock(clock)
    return _parse_clock(text)


def parse_time(value: str | None) -> time | None:
    """Parse a time-only cell; None when blank or not a time of day.

    Accepts clock text (``17:20``, ``下午3点半``, ``3:00 PM``), Excel day fractions
    (``0.7222``) and time cells rendered on Excel's day zero
    (``1899-12-30 17:20:00``). A full datetime is not a time-only cell: None.
    """
    if value is None:
        return None
    parsed = _parse_time_of_day(_normalise(value))
    return None if parsed is None else parsed.time


def infer_year(month: int, day: int, ref: date) -> int:
    """The year (ref.year - 1, ref.year or ref.year + 1) putting month/day nearest to ref.

    Distances use the day clamped to the month's length, so 2月29日 picks a year
    even when it is not a leap year (the caller then finds the date impossible).
    Ties go to the earlier year: registrations are recorded after the fact.
    """
    if not 1 <= month <= 12:
        return ref.year
    best: tuple[int, int] | None = None
    for year in (ref.year - 1, ref.year, ref.year + 1):
        if not MINYEAR <= year <= MAXYEAR:
            continue
        candidate = date(year, month, min(max(day, 1), monthrange(year, month)[1]))
        distance = abs((candidate - ref).days)
        if best is None or distance < best[0]:
            best = (distance, year)
    return ref.year if best is None else best[1]


def excel_serial_to_datetime(serial: float) -> datetime:
    """Convert an Excel 1900-system serial to a datetime, to the nearest second.

    Serials are binary floats (17:20 is 0.72222…), so rounding to whole seconds
    recovers the time that was typed instead of 17:19:59.999998.
    """
    seconds = math.floor(serial * _SECONDS_PER_DAY + 0.5)
    return _EXCEL_EPOCH + timedelta(seconds=seconds)


def to_iso(value: datetime, tz: str) -> str:
    """Render a wall-clock datetime in zone ``tz`` as ISO 8601 with its offset."""
    zone = ZoneInfo(tz)
    local = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    return local.isoformat()


# A clock without colons after a date (20261118 1010, 2026-11-18 101530), as some
# systems stamp a moment.
_COMPACT_CLOCK_RE = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})?")
# ... or with dots, as hands type it after a dotted date (2026.11.18 10.20)
_DOTTED_CLOCK_RE = re.compile(r"([0-9]{1,2})\.([0-9]{2})(?:\.([0-9]{2}))?")


def _rest_clock(rest: str) -> _Clock | None:
    rest = rest.strip().removeprefix("t").strip()
    if not rest or rest in _PERIOD_ONLY:
        return _NO_CLOCK
    compact = _COMPACT_CLOCK_RE.fullmatch(rest) or _DOTTED_CLOCK_RE.fullmatch(rest)
    if compact is not None:
        rest = ":".join(part for part in compact.groups() if part is not None)
    return _parse_clock(rest)


def _dated(year: int, month: int, day: int, rest: str, text: str, *, inferred: bool) -> DateParse:
    if not _YEAR_MIN <= year <= _YEAR_MAX:
        return _invalid(text)
    try:
        day_value = date(year, month, day)
    except ValueError:
        return _invalid(text)
    clock = _rest_clock(rest)
    if clock is None:
        return _invalid(text)
    value = datetime.combine(day_value, clock.time) + timedelta(days=clock.day_offset)
    return DateParse(value, True, clock.known, inferred, None, None)


def _is_placeholder(year: int, month: int, day: int, rest: str) -> bool:
    """A placeholder day with no clock or a digit midnight: the cell was empty.

    With a real clock (1900-01-01 10:15) the cell held something, so it is left
    to the ordinary rules rather than silently emptied.
    """
    if (year, month, day) not in _PLACEHOLDER_DAYS:
        return False
    clock = _rest_clock(rest)
    return clock is not None and not clock.known


def _from_serial(serial: float) -> DateParse:
    value = excel_serial_to_datetime(serial)
    return DateParse(value, True, value.time() != _MIDNIGHT, False, None, None)


def parse_datetime(value: str | None, *, ref: date | None = None) -> DateParse:
    """Parse a date or datetime cell; never raises.

    ``ref`` (the row's other dates or the file date) supplies the year for
    dates written without one (``11月18日``, ``11-18``, ``12.1``). Error codes:
    ``date_missing`` (blank, or a placeholder such as ``0000-00-00``,
    ``1900-01-01`` or Excel's day zero at midnight),
    ``date_time_only`` (a time with no date), ``date_invalid`` (anything else,
    including impossible dates and year-less dates without ``ref``).
    """
    if value is None:
        return _MISSING
    s = _prepared(value)
    text = value.strip()
    if not s:  # blank, or a weekday alone (周三), which is no date
        return _invalid(text) if _normalise(value) else _MISSING

    if _NUMBER_RE.fullmatch(s):
        number = float(s)
        if _SERIAL_MIN <= number <= _SERIAL_MAX:
            return _from_serial(number)
    if _EPOCH_DAY_RE.fullmatch(s):
        clock = _parse_time_of_day(s)
        if clock is None:
            return _invalid(text)
        # Day zero at a digit midnight is serial 0: an empty date cell, whereas
        # day zero with a real clock is a time-only cell.
        return _time_only(text) if clock.known else _MISSING

    for pattern in _DATED_RES:
        match = pattern.fullmatch(s)
        if match is not None:
            year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
            if _is_placeholder(year, month, day, match["rest"]):
                return _MISSING
            return _dated(year, month, day, match["rest"], text, inferred=False)

    if _SLASHED_SCALAR_RE.match(s):  # its column did not say which is the month
        reason = (
            f"日期的月、日顺序无法确定（{_shown(text)}，本列没有大于 12 的月或日），"
            "请写成 2026-11-18 这样的年月日"
        )
        return DateParse(None, False, False, False, RowError.DATE_INVALID, reason)

    for pattern in _YEARLESS_RES:
        match = pattern.fullmatch(s)
        if match is not None:
            month, day = int(match["m"]), int(match["d"])
            try:
                date(2000, month, day)
            except ValueError:
                return _invalid(text)
            if _rest_clock(match["rest"]) is None:
                return _invalid(text)
            if ref is None:
                reason = f"缺少年份且无法推断（{_shown(text)}）"
                return DateParse(None, False, False, False, RowError.DATE_INVALID, reason)
            year = infer_year(month, day, ref)
            return _dated(year, month, day, match["rest"], text, inferred=True)

    if _parse_time_of_day(s) is not None:
        return _time_only(text)
    return _invalid(text)


def combine(
    date_value: str | None, time_value: str | None, *, ref: date | None = None
) -> DateParse:
    """Parse a date column and a time column of the same row into one result.

    A blank time cell leaves the date cell's own time (if any). A time cell
    holding a full datetime wins. An unreadable time cell leaves the date alone,
    since the date is still known; a time with a blank date is ``date_time_only``.
    """
    return _joined(parse_datetime(date_value, ref=ref), _time_cell(time_value, ref))


class _TimeCell(NamedTuple):
    text: str  # normalised, not blank
    full: DateParse  # the cell read as a date (a time cell holding a whole datetime)
    clock: _Clock | None  # the cell read as a time of day


def _time_cell(time_value: str | None, ref: date | None) -> _TimeCell | None:
    time_text = "" if time_value is None else _normalise(time_value)
    if not time_text:
        return None
    return _TimeCell(time_text, parse_datetime(time_value, ref=ref), _parse_time_of_day(time_text))


def _joined(day: DateParse, cell: _TimeCell | None) -> DateParse:
    if cell is None:
        return day
    full = cell.full
    if full.has_date and (full.has_time or day.value is None):
        return full
    clock = cell.clock
    if clock is None:
        return day
    if day.value is None:
        return _time_only(cell.text) if day.error_code == RowError.DATE_MISSING else day
    value = datetime.combine(day.value.date(), clock.time) + timedelta(days=clock.day_offset)
    return DateParse(value, True, clock.known, day.year_inferred, None, None)


# Vectorised fast path. It only ever claims rows it parses successfully; every
# other row goes through parse_datetime, so both paths agree by construction.
# The year and serial ranges are spelt out in the patterns (1900-2199 and
# 20000-80000) so that no further range checks are needed per row.
_FAST_DATE_RE = (
    r"^(?:19|20|21)[0-9]{2}(?:-[0-9]{2}-[0-9]{2}|/[0-9]{2}/[0-9]{2}|\.[0-9]{2}\.[0-9]{2})"
    r"(?: (?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?)?$"
)
_FAST_SERIAL_RE = r"^(?:[2-7][0-9]{4}(?:\.[0-9]{1,15})?|80000(?:\.0{1,15})?)$"
_FAST_DATE_LEN = len("2026-11-18")
_FAST_MINUTE_LEN = len("2026-11-18 17:20")
_FAST_SECOND_LEN = len("2026-11-18 17:20:00")
# Placeholder days go to parse_datetime, which reads them as empty cells.
_FAST_PLACEHOLDER = datetime(1900, 1, 1)
_EPOCH_US = int((_EXCEL_EPOCH - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
_RESULT_SCHEMA = {
    "value": pl.Datetime("us"),
    "has_date": pl.Boolean(),
    "has_time": pl.Boolean(),
    "year_inferred": pl.Boolean(),
    "error_code": pl.String(),
    "error": pl.String(),
}


def _fast_value(text: pl.Expr) -> pl.Expr:
    length = text.str.len_bytes()
    dashed = text.str.replace_all("/", "-", literal=True).str.replace_all(".", "-", literal=True)
    # str.to_datetime takes one format, so pad every accepted shape to full seconds
    # and cut off fractional seconds (a "%.f" format is three times slower).
    padded = (
        pl.when(length == _FAST_DATE_LEN)
        .then(dashed + " 00:00:00")
        .when(length == _FAST_MINUTE_LEN)
        .then(dashed + ":00")
        .otherwise(dashed.str.slice(0, _FAST_SECOND_LEN))
    )
    # Nearly every value is distinct, so to_datetime's per-string cache only costs time.
    whole = padded.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", strict=False, cache=False)
    # Digits past the sixth are dropped, as _parse_clock drops them. Eager polars
    # does not share subexpressions, so ``whole`` appears once.
    micro = (
        pl.when(length > _FAST_SECOND_LEN)
        .then(
            text.str.slice(_FAST_SECOND_LEN + 1, _MICRO_DIGITS)
            .str.pad_end(_MICRO_DIGITS, "0")
            .cast(pl.Int64, strict=False)
        )
        .otherwise(0)
    )
    calendar = whole + pl.duration(microseconds=micro)
    seconds = (text.cast(pl.Float64, strict=False) * _SECONDS_PER_DAY + 0.5).floor().cast(pl.Int64)
    serial = (seconds * 1_000_000 + _EPOCH_US).cast(pl.Datetime("us"))
    return (
        pl.when(text.str.contains(_FAST_DATE_RE))
        .then(calendar)
        .when(text.str.contains(_FAST_SERIAL_RE))
        .then(serial)
    )


def combine_series(days: pl.Series, times: pl.Series, refs: pl.Series) -> pl.DataFrame:
    """Vectorised :func:`combine` of a date column and a time column, each row read
    against its own `refs` date; element-wise identical to it, with the columns of
    :func:`parse_datetime_series`. Each distinct date cell and time cell is parsed once:
    a sheet's date-time pairs are nearly all distinct, its dates and its times are few.
    """
    frame = pl.DataFrame(
        {"d": days.cast(pl.String), "t": times.cast(pl.String), "r": refs.cast(pl.Date)}
    )
    day_keys = frame.select("d", "r").unique()
    day = day_keys.hstack(
        parse_datetime_series(day_keys["d"], ref_dates=day_keys["r"]).select(
            pl.all().name.prefix("day_")
        )
    )
    time_keys = frame.select("t", "r").unique()
    frame = frame.join(day, on=["d", "r"], how="left", nulls_equal=True, maintain_order="left")
    frame = frame.join(
        time_keys.hstack(_time_cells(time_keys.iter_rows())),
        on=["t", "r"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    no_day = pl.col("day_value").is_null()
    # Which parse each row ends with, in the order `_joined` decides it.
    pick = (
        pl.when(pl.col("blank"))
        .then(pl.lit("day"))
        .when(pl.col("full_has_date") & (pl.col("full_has_time") | no_day))
        .then(pl.lit("full"))
        .when(~pl.col("clock_ok"))
        .then(pl.lit("day"))
        .when(no_day & (pl.col("day_error_code") == RowError.DATE_MISSING).fill_null(False))
        .then(pl.lit("time_only"))
        .when(no_day)
        .then(pl.lit("day"))
        .otherwise(pl.lit("joined"))
    )
    frame = frame.with_columns(pick=pick)
    joined_value = (
        pl.col("day_value").dt.date().cast(pl.Datetime("us"))
        + pl.duration(microseconds=pl.col("clock_us"))
        + pl.duration(days=pl.col("clock_offset"))
    )

    def chosen(field: str, time_only: pl.Expr, joined: pl.Expr) -> pl.Expr:
        return (
            pl.when(pl.col("pick") == "day")
            .then(pl.col(f"day_{field}"))
            .when(pl.col("pick") == "full")
            .then(pl.col(f"full_{field}"))
            .when(pl.col("pick") == "time_only")
            .then(time_only)
            .otherwise(joined)
            .cast(_RESULT_SCHEMA[field])
            .alias(field)
        )

    none = pl.lit(None, dtype=pl.String)
    return frame.select(
        chosen("value", pl.lit(None, dtype=pl.Datetime("us")), joined_value),
        chosen("has_date", pl.lit(False), pl.lit(True)),
        chosen("has_time", pl.lit(True), pl.col("clock_known")),
        chosen("year_inferred", pl.lit(False), pl.col("day_year_inferred")),
        chosen("error_code", pl.lit(RowError.DATE_TIME_ONLY), none),
        chosen("error", pl.col("time_only_error"), none),
    )


# Every sheet of a night writes the same few hundred times of day (09:30, 14:00 …).
@lru_cache(maxsize=1 << 14)
def _time_row(time_value: str | None, ref: date | None) -> tuple[object, ...]:
    cell = _time_cell(time_value, ref)
    if cell is None:
        return (True, None, None, None, None, None, None, None, None, None, None, None)
    full, clock = cell.full, cell.clock
    micros = (
        None
        if clock is None
        else ((clock.time.hour * 60 + clock.time.minute) * 60 + clock.time.second) * 1_000_000
        + clock.time.microsecond
    )
    return (
        False,
        full.value,
        full.has_date,
        full.has_time,
        full.year_inferred,
        full.error_code,
        full.error,
        clock is not None,
        micros,
        None if clock is None else clock.day_offset,
        None if clock is None else clock.known,
        _time_only(cell.text).error,
    )


@lru_cache(maxsize=1 << 14)
def _reads_ref(value: str) -> bool:
    """Whether `parse_datetime(value, ref=…)` can depend on `ref`: only a year-less date
    reads it, so a clock cell (09:30) is the same against every row's date."""
    text = _normalise(value)
    return any(pattern.fullmatch(text) for pattern in _YEARLESS_RES)


def _time_cells(keys: Iterable[tuple[str | None, date | None]]) -> pl.DataFrame:
    """Each distinct (time cell, ref): blank or not, read as a date (`full_*`), as a
    time of day (`clock_*`), and the error of a time cell with no date."""
    rows = [
        _time_row(value, ref if value is not None and _reads_ref(value) else None)
        for value, ref in keys
    ]
    schema = {
        "blank": pl.Boolean(),
        **{f"full_{name}": dtype for name, dtype in _RESULT_SCHEMA.items()},
        "clock_ok": pl.Boolean(),
        "clock_us": pl.Int64(),
        "clock_offset": pl.Int64(),
        "clock_known": pl.Boolean(),
        "time_only_error": pl.String(),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


# ISO 8601 with its offset, as systems' APIs and some exports write a moment
# (`2026-11-18T10:20:00+08:00`, `2026-11-18T02:20:00Z`).
_ISO_OFFSET_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:\.[0-9]+)?"
    r" ?(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)


# A zone named before its offset, or alone (`2026-11-18 10:20:00 GMT+08:00`, `… UTC+8`,
# `… UTC`): how Java's and JavaScript's date texts, and exports made from them, end a
# moment. Read as the ISO offset (`+08:00`, `Z`).
_NAMED_OFFSET_RE = (
    r"^(?<moment>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.]+?)\s*(?:GMT|UTC)\s*"
    r"(?:(?<sign>[+-])(?<hour>[0-9]{1,2})(?::?(?<minute>[0-9]{2}))?)?$"
)
# Milliseconds (13 digits) or seconds (10) since 1970: how a system's API gives a moment,
# and exports made from its JSON keep it. No date cell holds such a number otherwise (an
# Excel serial has at most 6 digits, a compact date 8 or 14); read from 2000 to 2100 only.
_EPOCH_RE = r"^(?<digits>[0-9]{10}|[0-9]{13})(?:\.0+)?$"
_EPOCH_MS = (946_684_800_000, 4_102_444_800_000)


def _zone_named(text: pl.Series) -> pl.Series:
    """`_NAMED_OFFSET_RE`'s moments with their offset in ISO form; every other text as it is."""
    parts = text.str.extract_groups(_NAMED_OFFSET_RE)
    offset = (
        pl.when(parts.struct.field("sign").is_null())
        .then(pl.lit("Z"))
        .otherwise(
            pl.concat_str(
                parts.struct.field("sign"),
                parts.struct.field("hour").str.zfill(2),
                pl.lit(":"),
                parts.struct.field("minute").fill_null("00"),
            )
        )
    )
    named = pl.select(pl.concat_str(parts.struct.field("moment"), offset)).to_series()
    return pl.select(pl.coalesce(named, text)).to_series()


def _from_epoch(text: pl.Series, zone: str) -> pl.Series:
    """`_EPOCH_RE`'s numbers as the wall clock of `zone`; null for every other text."""
    digits = text.str.extract(_EPOCH_RE, 1)
    ms = pl.select(
        pl.when(digits.str.len_chars() == 10)
        .then(digits.cast(pl.Int64) * 1000)
        .otherwise(digits.cast(pl.Int64))
    ).to_series()
    ms = pl.select(pl.when(ms.is_between(*_EPOCH_MS, closed="left")).then(ms)).to_series()
    return (
        pl.from_epoch(ms, time_unit="ms")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(zone)
        .dt.strftime("%Y-%m-%d %H:%M:%S")
    )


def _local_wall_clock(text: pl.Series, zone: str) -> pl.Series:
    """Moments written with an offset (or as a count since 1970) as the wall clock of
    `zone` (`YYYY-MM-DD HH:MM:SS`, which the fast path reads); every other text as it is."""
    named = _zone_named(text.str.strip_chars())
    text = pl.select(pl.coalesce(_from_epoch(named, zone), text)).to_series()
    offset = named.str.contains(_ISO_OFFSET_RE).fill_null(False)
    if not offset.any():
        return text
    found = named.filter(offset)
    parts = found.str.extract_groups(
        r"^([0-9-]{10})[Tt ]([0-9]{2}:[0-9]{2})(:[0-9]{2})?(?:\.[0-9]+)? ?([Zz]|[+-][0-9:]+)$"
    )
    # Kept to the second: a fraction after a system's timestamp is no clerk's time.
    normal = pl.select(
        pl.concat_str(
            parts.struct.field("1"),
            pl.lit("T"),
            parts.struct.field("2"),
            parts.struct.field("3").fill_null(":00"),
            parts.struct.field("4").str.replace(r"^[Zz]$", "+00:00"),
        )
    ).to_series()
    local = (
        normal.str.to_datetime("%Y-%m-%dT%H:%M:%S%z", time_unit="us", strict=False)
        .dt.convert_time_zone(zone)
        .dt.strftime("%Y-%m-%d %H:%M:%S")
    )
    # A text the pattern matched but no calendar holds (2026-13-40) stays as written.
    return text.scatter(offset.arg_true(), local.fill_null(text.filter(offset)))


# A date written with slashes and the year last (11/18/2026, 18/11/2026): English
# locales' Excel writes its CSVs so, month first (en-US) or day first (en-GB). Which is
# decided by the column, never by one cell: a first number above 12 makes it day first, a
# second above 12 month first. A column where neither shows (or both) is left as written,
# its cells an error, rather than a guess that could move a date by months.
_SLASHED_RE = r"^\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(.*)$"


_SLASHED_SCALAR_RE = re.compile(_SLASHED_RE)


def slashed_in_order(column: pl.Series) -> pl.Series:
    """One sheet column with its `a/b/yyyy` dates as `yyyy-mm-dd`, when the column says
    which of a and b is the month; every other cell as written."""
    text = column.cast(pl.String, strict=False)
    parts = text.str.extract_groups(_SLASHED_RE)
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    if first.is_null().all():
        return column
    second = parts.struct.field("2").cast(pl.Int32, strict=False)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first == month_first:
        return column
    month, day = (second, first) if day_first else (first, second)
    iso = pl.select(
        pl.format(
            "{}-{}-{}{}",
            parts.struct.field("3"),
            month.cast(pl.String).str.zfill(2),
            day.cast(pl.String).str.zfill(2),
            parts.struct.field("4"),
        )
    ).to_series()
    return pl.select(pl.coalesce(iso, text)).to_series().alias(column.name)


def _english_moment(value: str) -> str | None:
    """An English-month moment that names its offset or zone, spelled as ISO 8601."""
    spelled = _prepared(value)
    if "t" not in spelled or not spelled[:4].isdigit():
        return None
    try:  # a day no calendar holds stays as written, for its error to show
        datetime.fromisoformat(spelled.upper())
    except ValueError:
        return None
    return spelled


def _offsets_spelled(text: pl.Series) -> pl.Series:
    """Texts for `_local_wall_clock`: English-month moments with an offset as ISO 8601,
    every other text as written (so its error shows what the clerk wrote). Only texts with
    Latin words are looked at in Python."""
    worded = text.str.contains("[A-Za-z]{3}").fill_null(False)
    if not worded.any():
        return text
    found = text.filter(worded).to_list()
    spelled = pl.Series([_english_moment(value) or value for value in found], dtype=pl.String)
    return text.scatter(worded.arg_true(), spelled)


def parse_datetime_series(
    values: pl.Series,
    *,
    ref: date | None = None,
    ref_dates: pl.Series | None = None,
    zone: str | None = None,
) -> pl.DataFrame:
    """Vectorised :func:`parse_datetime`, element-wise identical to it; with `zone` (the
    project's), a moment written with its offset is also read, as that zone's wall clock.

    ``ref_dates`` gives a per-row reference date; rows where it is null (or all
    rows when it is absent) use ``ref``. Common machine-written forms are parsed
    with polars expressions; the rest is parsed once per distinct (value, ref).
    """
    frame = pl.DataFrame({"text": values.cast(pl.String, strict=False)})
    scalar_ref = pl.lit(ref, dtype=pl.Date)
    if ref_dates is None:
        frame = frame.with_columns(ref=scalar_ref)
    else:
        frame = frame.with_columns(ref=ref_dates.cast(pl.Date, strict=False)).with_columns(
            pl.col("ref").fill_null(scalar_ref)
        )
    frame = frame.with_columns(fast_value=_fast_value(pl.col("text").str.strip_chars()))
    # A separate step, so the fast expression is not evaluated twice.
    placeholder = pl.col("fast_value") == _FAST_PLACEHOLDER
    frame = frame.with_columns(fast_value=pl.when(~placeholder).then(pl.col("fast_value")))
    fast = pl.col("fast_value").is_not_null()
    fast_has_time = pl.col("fast_value").dt.time() != _MIDNIGHT

    pending = frame.filter(~fast).select("text", "ref").unique()
    if not pending.height:
        return frame.select(
            value=pl.col("fast_value"),
            has_date=pl.lit(True),
            has_time=fast_has_time,
            year_inferred=pl.lit(False),
            error_code=pl.lit(None, dtype=pl.String),
            error=pl.lit(None, dtype=pl.String),
        )

    # Only texts the fast path did not read can hold an offset: those few are looked at.
    read = (
        pending["text"]
        if zone is None
        else _local_wall_clock(_offsets_spelled(pending["text"]), zone)
    )
    rows = [
        (p.value, p.has_date, p.has_time, p.year_inferred, p.error_code, p.error)
        for p in (
            parse_datetime(text, ref=row_ref)
            for text, row_ref in zip(read, pending["ref"], strict=True)
        )
    ]
    slow = pending.hstack(pl.DataFrame(rows, schema=_RESULT_SCHEMA, orient="row"))
    frame = frame.join(
        slow, on=["text", "ref"], how="left", nulls_equal=True, maintain_order="left"
    )
    # Kleene logic: True | null is True and False & null is False, so fast rows
    # need no when/then on the boolean flags.
    return frame.select(
        value=pl.coalesce("fast_value", "value"),
        has_date=fast | pl.col("has_date"),
        has_time=pl.when(fast).then(fast_has_time).otherwise(pl.col("has_time")),
        year_inferred=~fast & pl.col("year_inferred"),
        error_code=pl.col("error_code"),
        error=pl.col("error"),
    )


_STATED_DAY = re.compile(r"(20\d{2})\s*[年\-_./]\s*(\d{1,2})\s*[月\-_./]\s*(\d{1,2})\s*日?")


def stated_day(text: str) -> date | None:
    """The one day a text names with its year (a title 来访登记 2026年11月18日, a corner
    cell, a file name 群聊_2026-11-18.txt), if exactly one."""
    found = set()
    for year, month, day in _STATED_DAY.findall(text):
        try:
            found.add(date(int(year), int(month), int(day)))
        except ValueError:
            continue
    return found.pop() if len(found) == 1 else None
