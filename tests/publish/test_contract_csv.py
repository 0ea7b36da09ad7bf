"""The contract's CSV bytes (SPEC §7) are Python's csv module's, for any cell text: polars
writes them, and where the two writers differ (an empty cell, a carriage return) the
contract keeps the csv module's bytes."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.publish.contract import SLICE, _IsoTexts, csv_bytes, csv_parts, iso, report_rows

HEADER = ("a", "b", "c")
# Characters the two writers could treat differently, and text that needs no quotes.
CELL = st.one_of(
    st.none(),
    st.text(alphabet=[",", '"', "\n", "\r", " ", "\t", "'", ";", "\x00", "\u2028", "链", "x"]),
    st.booleans(),
    st.integers(-5, 5),
)


class Status(StrEnum):
    VALID = "valid"


def _csv_module(header: tuple[str, ...], rows: list[tuple]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(CELL, CELL, CELL), max_size=4))
def test_bytes_are_the_csv_modules(rows):
    assert csv_bytes(HEADER, rows) == _csv_module(HEADER, rows)


def test_empty_text_and_none_are_an_unquoted_empty_cell():
    assert csv_bytes(HEADER, [("", None, "x")]) == b"a,b,c\n,,x\n"


def test_quotes_only_where_a_reader_needs_them():
    rows = [("链家,我爱我家", 'say "hi"', "two\nlines"), ("plain", "a;b", " space ")]
    assert csv_bytes(HEADER, rows) == (
        'a,b,c\n"链家,我爱我家","say ""hi""","two\nlines"\nplain,a;b, space \n'.encode()
    )


def test_a_carriage_return_stays_bare():
    assert csv_bytes(HEADER, [("a\rb", "", None)]) == b"a,b,c\na\rb,,\n"


def test_enum_values_and_booleans_are_written_as_text():
    assert csv_bytes(HEADER, [(Status.VALID, True, None)]) == b"a,b,c\nvalid,True,\n"


def test_no_rows_is_the_header_alone():
    assert csv_bytes(HEADER, []) == b"a,b,c\n"


def test_parts_of_a_large_file_are_the_csv_modules_whole():
    """A file longer than a part: each part is written on its own (one with a carriage
    return by the csv module, one with a boolean column as text), and together they are
    the csv module's bytes of the whole."""
    rows: list[tuple] = [(f"r{i}", "" if i % 3 else None, "链,家") for i in range(2 * SLICE + 5)]
    rows[SLICE + 1] = ("a\rb", "x", None)
    rows[2 * SLICE + 2] = (True, "y", "z")
    parts = list(csv_parts(HEADER, rows))
    assert len(parts) == 4  # the header, then three parts
    assert b"".join(parts) == _csv_module(HEADER, rows)


ZONES = ("Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe")
# The project's zones, whose clocks go back (a wall time twice, `fold` tells which) and
# forward (a wall time never), and offsets `isoformat` writes with seconds and microseconds.
TIMEZONE: st.SearchStrategy[tzinfo] = st.one_of(
    st.sampled_from([ZoneInfo(zone) for zone in ZONES]),
    st.builds(
        timezone,
        st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23)),
    ),
)
EARLIEST, LATEST = datetime(1, 1, 2), datetime(9999, 12, 30)
MOMENT = st.one_of(
    st.none(),
    st.datetimes(EARLIEST, LATEST),  # naive
    st.datetimes(EARLIEST, LATEST, timezones=TIMEZONE, allow_imaginary=True).flatmap(
        lambda moment: st.sampled_from([moment, moment.replace(fold=1)])
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(MOMENT, max_size=12), st.data())
def test_moments_are_written_as_iso_writes_each(moments, data):
    """A column of moments, some the same object and some equal wall times of either fold,
    is what `iso` writes of each."""
    repeated = moments + [data.draw(st.sampled_from(moments)) for _ in moments[:3]]
    texts = _IsoTexts()
    assert texts.of(repeated) == [iso(moment) for moment in repeated]
    again = [moment.replace(microsecond=7) if moment else moment for moment in repeated]
    assert texts.of(again) == [iso(moment) for moment in again]


def test_report_rows_are_in_place_order_however_the_judge_lists_its_reports(night):
    """By file, sheet and row (then masked phone), unreadable rows among them: the same
    rows whether the judge's reports come in that order or not."""
    judgement = night.judgement
    errors = judgement.error_reports
    assert errors.height and len(judgement.reports) > 2
    places = [(r.order, r.phone_pattern, r.row_id) for r in judgement.reports]
    places += [
        ((e["path"], e["sheet"], e["row_no"]), "", e["row_id"])
        for e in errors.iter_rows(named=True)
    ]
    expected = [row_id for *_, row_id in sorted(places)]
    rows = list(report_rows(judgement))
    assert [row[0] for row in rows] == expected
    unreadable = next(row for row in rows if row[0] == errors["row_id"][0])
    assert unreadable[4:] == (
        "",
        iso(errors["reported_at"][0]),
        errors["report_type"][0],
        "invalid",
        "R02",
        None,
        errors["source"][0],  # as the ledger spells its place
    )
    sources = {r.row_id: r.source for r in judgement.reports}
    assert [row[10] for row in rows if row[0] in sources] == [
        sources[i] for i in expected if i in sources
    ]
    reversed_ = replace(judgement, reports=judgement.reports[::-1])
    assert list(report_rows(reversed_)) == rows
    judged = [row for row in rows if row[0] not in set(errors["row_id"])]
    for reports in (judgement.reports, judgement.reports[::-1]):
        assert (
            list(report_rows(replace(judgement, reports=reports, error_reports=errors.clear())))
            == judged
        )
