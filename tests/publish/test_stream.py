"""The streaming writer of the big workbooks: safe cells, layout, page setup, stable bytes.

Read back by openpyxl (styles, page setup) and python-calamine (values), the readers
finance and agencies' tools resemble; LibreOffice recalculates a formula.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reconcile.publish.stream import (
    EXCEL_ROWS,
    Extra,
    Sheet,
    SheetTooLong,
    _fast_book,
    _LineCounter,
    _lines,
    _measure,
    _Plan,
    _streamed_book,
    _text_width,
    write_book,
)
from reconcile.publish.workbook import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    MONEY_FORMAT,
    Column,
    Formula,
    display_width,
    night_moment,
)
from tests.publish.conftest import alignment, column_width, recalculate, sheets

ZONE = ZoneInfo("Asia/Shanghai")
NIGHT = date(2026, 11, 20)
HOSTILE = ["=1+1", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")', "'=x"]
COLUMNS = (
    Column("文本"),
    Column("金额", "money"),
    Column("时间", "datetime"),
    Column("日期", "date"),
    Column("说明", max_width=12, wrap=True),
)


def write(tmp_path: Path, sheet_list: list[Sheet], project: str = "山湖&一号", name="t.xlsx"):
    return write_book(tmp_path / name, sheet_list, project, "结算", NIGHT, ZONE)


def test_text_is_never_a_formula_and_formulas_are_computed_on_load(tmp_path: Path) -> None:
    rows: list[list[object]] = [[text, None, None, None, None] for text in HOSTILE]
    rows.append(["总计", Formula("=1+1"), None, None, None])
    path = write(tmp_path, [Sheet("表", COLUMNS, rows)], name="formulas.xlsx")
    cells = openpyxl.load_workbook(path)["表"]
    for index, text in enumerate(HOSTILE, start=2):
        cell = cells.cell(row=index, column=1)
        assert cell.data_type == "s" and cell.value.startswith("'"), text
    assert cells["A9"].value == "''=x"  # one to one: `'=x` is not shown as `=x`
    assert cells["B10"].value == "=1+1" and cells["B10"].number_format == MONEY_FORMAT
    # No cached result is stored, so LibreOffice computes it instead of showing 0.
    assert recalculate({"t": path}, tmp_path)["t"]["表"][9][1] == 2


def test_values_formats_times_in_local_time(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    rows: list[list[object]] = [["a", 1234.5, moment, moment, "x"]]
    path = write(tmp_path, [Sheet("表", COLUMNS, rows)])
    cells = openpyxl.load_workbook(path)["表"]
    assert cells["B2"].value == 1234.5 and cells["B2"].number_format == MONEY_FORMAT
    assert cells["C2"].value == datetime(2026, 11, 20, 14, 30)
    assert cells["C2"].number_format == DATETIME_FORMAT
    assert cells["D2"].value == datetime(2026, 11, 20) and cells["D2"].number_format == DATE_FORMAT


def test_layout_widths_wrapped_rows_and_rows_below(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["链家地产有限公司", 1.0, None, None, "很长的说明" * 4],
        ["x", None, None, None, "短"],
    ]
    below = [[Extra("合计", bold=True), Extra(Formula("=SUM(B2:B3)"), "money", bold=True)], []]
    below.append([Extra("说明：一行注释")])
    path = write(tmp_path, [Sheet("表", COLUMNS, rows, below=below)])
    sheet = openpyxl.load_workbook(path)["表"]
    assert sheet["A1"].value == "文本" and sheet["A1"].font.b
    assert sheet["A1"].fill.fill_type == "solid"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E3"
    assert int(column_width(sheet, "A")) == display_width("链家地产有限公司") + 2 == 18
    assert int(column_width(sheet, "E")) == 12  # capped
    # 40 columns of text at 11 a line: 4 lines; every cell of the table top-aligned
    assert sheet.row_dimensions[2].height == 60 and not sheet.row_dimensions[3].height
    assert sheet["E2"].alignment.wrap_text and sheet["B3"].alignment.vertical == "top"
    assert sheet["A4"].font.b and sheet["B4"].value == "=SUM(B2:B3)"
    assert sheet["A6"].value == "说明：一行注释"


def test_empty_table_says_none_and_page_setup(tmp_path: Path) -> None:
    path = write(tmp_path, [Sheet("表", COLUMNS, [], empty="本期没有")], "A&G&[Picture]" * 10)
    assert sheets(path)["表"] == [
        ["文本", "金额", "时间", "日期", "说明"],
        ["本期没有", "", "", "", ""],
    ]
    sheet = openpyxl.load_workbook(path)["表"]
    assert sheet["A2"].alignment.vertical == "top" and alignment(sheet, sheet["E2"]).wrap_text
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9
    assert int(sheet.page_setup.fitToHeight) == 0 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    # A literal & is doubled, and `&G` is not taken for an image: the header stays;
    # `&[` would spell a code out, so its bracket is full-width.
    header = sheet.oddHeader
    assert header.left.text.startswith("A&&G&&［Picture]") and header.center.text == "结算·表"
    assert "2026-11-20" in header.right.text and sheet.oddFooter.center.text
    raw = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert len(raw.split("<oddHeader>")[1].split("</oddHeader>")[0]) <= 255


def test_same_sheets_same_bytes_stamped_with_the_night(tmp_path: Path) -> None:
    rows: list[list[object]] = [["a", 1.0, datetime(2026, 11, 20, 8, tzinfo=UTC), None, "b"]]
    first = write(tmp_path, [Sheet("表", COLUMNS, rows)], name="1.xlsx").read_bytes()
    second = write(tmp_path, [Sheet("表", COLUMNS, rows)], name="2.xlsx").read_bytes()
    assert first == second
    book = openpyxl.load_workbook(tmp_path / "1.xlsx")
    assert book.properties.created == datetime(2026, 11, 20, 15, 59, 59)  # 23:59:59 local
    assert book.properties.creator == "reconcile"
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, nothing left behind
    # The restamp copied the sheets' compressed bytes: every entry still checks out and
    # is dated 1980 in both its headers; core.xml alone was compressed again.
    archive = zipfile.ZipFile(tmp_path / "1.xlsx")
    assert archive.testzip() is None
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    local_dates = {first[o + 10 : o + 14] for o in (i.header_offset for i in archive.infolist())}
    assert local_dates == {bytes([0, 0, 0x21, 0])}
    assert b"2026-11-20T15:59:59Z" in archive.read("docProps/core.xml")


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30))
def test_text_width_counts_like_display_width(text: str) -> None:
    expected = max(display_width(line) for line in text.split("\n"))
    assert _text_width(text) == expected


@given(st.lists(st.one_of(st.none(), st.text(alphabet="a中 \n=", max_size=40)), max_size=20))
@example(["a" * 10, "a" * 12])  # the widest text overflows; one a little narrower does not
@example(["a" * 12, "a" * 10])
def test_the_tall_rows_of_a_wrapped_column_are_its_cells_of_more_than_one_line(
    cells: list[str | None],
) -> None:
    width, tall = _measure(Column("说明", max_width=12, wrap=True), list(cells))
    room = max(width - 1, 1)
    assert tall == {
        index: _lines(cell, room)
        for index, cell in enumerate(cells)
        if cell is not None and _lines(cell, room) > 1
    }


@given(
    st.lists(st.text(alphabet="a中/#!\n", max_size=12).map(lambda t: t + "!"), max_size=4),
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=6),
    st.integers(min_value=1, max_value=20),
)
def test_lines_counted_by_stem_are_lines_counted_whole(
    stems: list[str], rows: list[int], room: int
) -> None:
    # A source column holds `path#sheet!row` again and again: the counter measures what
    # precedes the digits once, and must count what `_lines` counts.
    count = _LineCounter(room)
    for text in [f"{stem}{row}" for stem in stems or [""] for row in rows]:
        assert count(text) == _lines(text, room), text


def test_both_engines_write_one_layout(tmp_path: Path) -> None:
    """Plain tables go through rust_xlsxwriter, the rest through xlsxwriter: a reader
    sees the same cells, looks, sizes and pages either way."""
    moment = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    rows: list[list[object]] = [
        ["链家地产有限公司", 1234.5, moment, moment, "很长的说明" * 4],
        ["=1+1", None, None, None, ""],
        ["x", -2.0, None, moment, "短\n两行"],
    ]
    sheets_in = [
        Sheet("表", COLUMNS, rows),
        Sheet("空", COLUMNS, [], empty="本期没有"),
        Sheet("简", (Column("项目"), Column("数量", "count")), [["报备总数", 3], ["无", None]]),
    ]
    plans = [_Plan.of(sheet, ZONE) for sheet in sheets_in]
    assert all(plan.plain for plan in plans)
    stamp = night_moment(NIGHT, ZONE)
    paths = {}
    for name, data in (
        ("fast", _fast_book(plans, "山湖&一号", "结算", NIGHT, stamp)),
        ("streamed", _streamed_book(plans, "山湖&一号", "结算", NIGHT, stamp, ZONE)),
    ):
        paths[name] = tmp_path / f"{name}.xlsx"
        paths[name].write_bytes(data)
    assert sheets(paths["fast"]) == sheets(paths["streamed"])
    fast, streamed = (openpyxl.load_workbook(paths[name]) for name in ("fast", "streamed"))
    assert fast.properties.created == streamed.properties.created
    assert fast.properties.creator == streamed.properties.creator == "reconcile"
    for name in fast.sheetnames:
        one, other = fast[name], streamed[name]
        assert one.freeze_panes == other.freeze_panes == "A2"
        assert one.auto_filter.ref == other.auto_filter.ref
        assert one.print_title_rows == other.print_title_rows == "$1:$1"
        assert one.oddHeader.left.text == other.oddHeader.left.text
        assert one.oddHeader.right.text == other.oddHeader.right.text
        assert one.page_setup.orientation == other.page_setup.orientation == "landscape"
        assert one.max_column == other.max_column
        for row in range(1, other.max_row + 1):
            assert one.row_dimensions[row].height == other.row_dimensions[row].height
            for col in range(1, other.max_column + 1):
                a, b = one.cell(row, col), other.cell(row, col)
                assert a.value == b.value, (name, a.coordinate)
                if b.value is not None:
                    assert a.number_format == b.number_format, (name, a.coordinate)
                    assert a.font.b == b.font.b, (name, a.coordinate)
                look, expected = alignment(one, a), alignment(other, b)
                assert look.wrap_text == expected.wrap_text, (name, a.coordinate)
                assert look.vertical == expected.vertical, (name, a.coordinate)
        for col in range(1, other.max_column + 1):
            letter = openpyxl.utils.get_column_letter(col)
            assert int(column_width(one, letter)) == int(column_width(other, letter))


def test_a_formula_or_a_time_outside_its_column_takes_the_cell_by_cell_engine() -> None:
    assert not _Plan.of(Sheet("表", COLUMNS, [["a", Formula("=1"), None, None, None]]), ZONE).plain
    odd_time = [[datetime(2026, 11, 20, 8, tzinfo=UTC), None, None, None, None]]
    assert not _Plan.of(Sheet("表", COLUMNS, odd_time), ZONE).plain
    below = [[Extra("合计")]]
    assert not _Plan.of(Sheet("表", COLUMNS, [], below=below), ZONE).plain


def test_a_sheet_longer_than_a_worksheet_is_refused_whole(tmp_path):
    columns = [Column("编号")]
    fits = Sheet("明细", columns, [["x"]] * (EXCEL_ROWS - 1))  # the header and 1,048,575 rows
    too_long = Sheet("明细", columns, [["x"]] * EXCEL_ROWS)
    below = Sheet("汇总", columns, [["x"]] * (EXCEL_ROWS - 2), below=[[None], [None]])
    for sheet in (too_long, below):
        with pytest.raises(SheetTooLong, match="超过 Excel 单个工作表的上限 1,048,576 行"):
            write_book(tmp_path / "a.xlsx", [sheet], "项目", "标题", date(2026, 11, 20), ZONE)
    assert not (tmp_path / "a.xlsx").exists()
    assert fits.last == EXCEL_ROWS
