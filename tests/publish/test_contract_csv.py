"""The contract's CSV bytes (SPEC §7) are Python's csv module's, for any cell text: polars
writes them, and where the two writers differ (an empty cell, a carriage return) the
contract keeps the csv module's bytes."""

from __future__ import annotations

import csv
import io
from enum import StrEnum

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.publish.contract import SLICE, csv_bytes, csv_parts

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
