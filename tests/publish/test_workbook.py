"""The shared workbook helpers: safe cells, table layout, page setup, deterministic saves."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.publish.workbook import (
    DATETIME_FORMAT,
    MONEY_FORMAT,
    Column,
    Formula,
    cell_text,
    changed_texts,
    display_width,
    new_workbook,
    night_moment,
    save_workbook,
    setup_page,
    write_table,
)
from tests.publish.conftest import sheets

ZONE = ZoneInfo("Asia/Shanghai")
NIGHT = date(2026, 11, 20)
HOSTILE = ["=1+1", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']
COLUMNS = (
    Column("文本"),
    Column("金额", "money"),
    Column("时间", "datetime"),
    Column("日期", "date"),
    Column("比例", "percent"),
)


def book(rows: list[list[object]], columns=COLUMNS):
    wb = new_workbook()
    sheet = wb.create_sheet("表")
    write_table(sheet, columns, rows, ZONE)
    setup_page(sheet, "山湖&一号", "结算", NIGHT)
    return wb


def save(tmp_path: Path, rows: list[list[object]], name: str = "t.xlsx", columns=COLUMNS) -> Path:
    return save_workbook(book(rows, columns), tmp_path / name, night_moment(NIGHT, ZONE))


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    rows = [[text, None, None, None, None] for text in HOSTILE]
    rows.append([Formula("=1+1"), None, None, None, None])
    path = save(tmp_path, rows)
    cells = openpyxl.load_workbook(path)["表"]
    for index, text in enumerate(HOSTILE, start=2):
        cell = cells.cell(row=index, column=1)
        assert cell.data_type == "s", text
        assert cell.value.startswith("'"), text
    assert cells.cell(row=len(HOSTILE) + 2, column=1).data_type == "f"
    read = [row[0] for row in sheets(path)["表"][1 : len(HOSTILE) + 1]]
    assert read == ["'" + text.replace("\r", "\n") for text in HOSTILE]


def test_cell_text_drops_control_characters_and_neutralises() -> None:
    assert cell_text("a\x01b\x1fc") == "abc"
    assert cell_text("\x01=1+1") == "'=1+1"
    assert cell_text("张三") == "张三"
    assert cell_text("\r=1") == "'\n=1"  # XML readers turn a bare CR into LF anyway
    assert cell_text("a\r\nb") == "a\nb"
    assert len(cell_text("x" * 40_000)) == 32_767


@given(
    st.sets(
        st.one_of(
            st.text(alphabet="张三a1 ", max_size=8),
            st.sampled_from(HOSTILE + ["'x", "a\x01b", "x" * 32_768]),
            st.text(max_size=8),
        ),
        max_size=12,
    )
)
def test_changed_texts_are_the_texts_cell_text_changes(texts: set[str]) -> None:
    made = {text: cell_text(text) for text in texts}
    assert changed_texts(texts) == {text: safe for text, safe in made.items() if safe != text}


def test_cells_have_formats_and_local_times(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 20, 6, 5, tzinfo=UTC)  # 14:05 in Shanghai
    path = save(tmp_path, [["甲", 1234.5, moment, moment, 0.5], ["乙", -20.0, None, None, None]])
    cells = openpyxl.load_workbook(path)["表"]
    assert cells["B2"].number_format == MONEY_FORMAT
    assert cells["B3"].value == -20.0
    assert cells["C2"].number_format == DATETIME_FORMAT
    assert cells["C2"].value == datetime(2026, 11, 20, 14, 5)
    assert cells["D2"].value == datetime(2026, 11, 20)  # a time in a date column: its day
    assert cells["E2"].number_format.endswith("%")


def test_table_layout_header_freeze_filter_widths(tmp_path: Path) -> None:
    columns = (Column("渠道"), Column("说明", max_width=20), Column("编号"))
    rows = [["链家地产有限公司", "很长的说明" * 20, "ab"], ["x", "y", "abcdefghij"]]
    path = save(tmp_path, rows, columns=columns)
    sheet = openpyxl.load_workbook(path)["表"]
    assert sheet["A1"].value == "渠道" and sheet["A1"].font.b
    assert sheet["A1"].fill.fill_type == "solid"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    assert widths["A"] == display_width("链家地产有限公司") + 2 == 18  # CJK counts twice
    assert widths["B"] == 20  # capped
    assert widths["C"] == 12
    assert display_width("链家ab") == 6


def test_empty_table_keeps_its_header_and_says_none(tmp_path: Path) -> None:
    rows = sheets(save(tmp_path, []))["表"]
    assert rows == [["文本", "金额", "时间", "日期", "比例"], ["无", "", "", "", ""]]


def test_page_setup_landscape_fit_to_width_with_header_and_footer(tmp_path: Path) -> None:
    sheet = openpyxl.load_workbook(save(tmp_path, [["a", 1.0, None, None, None]]))["表"]
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.fitToWidth) == 1
    assert int(sheet.page_setup.fitToHeight) == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.oddHeader.left.text == "山湖&&一号"  # a literal & is doubled
    assert "2026-11-20" in sheet.oddHeader.right.text
    assert "&P" in sheet.oddFooter.center.text


def test_same_content_gives_the_same_bytes(tmp_path: Path) -> None:
    rows = [["甲", 1.0, datetime(2026, 11, 20, 9, 0, tzinfo=ZONE), None, 1.0]]
    first = save(tmp_path, rows, "a.xlsx")
    second = save(tmp_path, rows, "b.xlsx")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        assert names[0] == "[Content_Types].xml"
        assert names[1:] == sorted(names[1:])
        # Zip times have 2-second steps: 23:59:59 is stored as 23:59:58.
        assert {info.date_time[:5] for info in archive.infolist()} == {(2026, 11, 20, 23, 59)}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-11-20T15:59:59Z" in core  # the night's end, in UTC
    assert "reconcile" in core


def test_save_replaces_atomically_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "t.xlsx"
    target.parent.mkdir()
    target.write_bytes(b"old")
    save_workbook(book([["新", None, None, None, None]]), target, night_moment(NIGHT, ZONE))
    assert sheets(target)["表"][1][0] == "新"
    assert sorted(p.name for p in target.parent.iterdir()) == ["t.xlsx"]


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "t.xlsx"
    target.write_bytes(b"old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError):
        save_workbook(book([["新", None, None, None, None]]), target, night_moment(NIGHT, ZONE))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
