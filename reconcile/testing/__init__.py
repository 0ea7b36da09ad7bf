"""Test support: input files as clerks produce them, and nights judged in memory.

This module writes `.xlsx`, `.xls` and `.csv` files; the demo workspace, the test
suites and the benchmarks all write their inputs with it. Files are byte-for-byte
reproducible: xlsxwriter is given a fixed creation time, and the CSV and `.xls`
writers embed no clock. `reconcile.testing.nights` judges the same sheets without
writing any file or ledger.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import xlsxwriter
import xlwt

FIXED_CREATED = datetime(2026, 11, 1, 9, 0, 0)

Cell = str | int | float | datetime | date | time | None


@dataclass
class SheetSpec:
    """One sheet as an agency would type it: optional title rows, a header, data rows."""

    name: str
    header: list[str]
    rows: list[list[Cell]]
    title: list[list[Cell]] = field(default_factory=list)  # rows above the header
    merges: list[tuple[int, int, int, int]] = field(
        default_factory=list
    )  # data-relative r1,c1,r2,c2
    footer: list[list[Cell]] = field(default_factory=list)  # totals / notes rows
    hidden: bool = False
    # Group header rows above `header` (易居's 业绩归属 | 基本信息 over 序号 | 客户姓名 …), and
    # the merged ranges of the header block, as sheet-absolute 0-based r1,c1,r2,c2.
    header_above: list[list[Cell]] = field(default_factory=list)
    header_merges: list[tuple[int, int, int, int]] = field(default_factory=list)

    def all_rows(self) -> list[list[Cell]]:
        return [*self.title, *self.header_above, [*self.header], *self.rows, *self.footer]

    @property
    def first_data_row(self) -> int:
        """0-based sheet row of the first data row."""
        return len(self.title) + len(self.header_above) + 1

    def cell(self, r: int, c: int) -> Cell:
        """The value at a sheet-absolute 0-based position (None past a short row)."""
        rows = self.all_rows()
        return rows[r][c] if r < len(rows) and c < len(rows[r]) else None


def write_xlsx(path: Path, sheets: list[SheetSpec]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    workbook.set_properties({"created": FIXED_CREATED, "author": "reconcile demo"})
    formats = {
        datetime: workbook.add_format({"num_format": "yyyy/mm/dd hh:mm"}),
        date: workbook.add_format({"num_format": "yyyy-mm-dd"}),
        time: workbook.add_format({"num_format": "hh:mm"}),
    }
    bold = workbook.add_format({"bold": True, "align": "center"})
    for spec in sheets:
        sheet = workbook.add_worksheet(spec.name)
        covered = _covered(spec)
        for r, row in enumerate(spec.all_rows()):
            for c, value in enumerate(row):
                if (r, c) not in covered:
                    _write_xlsx_cell(sheet, r, c, value, formats)
        for r1, c1, r2, c2 in spec.merges:
            offset = spec.first_data_row
            sheet.merge_range(r1 + offset, c1, r2 + offset, c2, None)
            _write_xlsx_cell(sheet, r1 + offset, c1, spec.rows[r1][c1], formats)
        for r1, c1, r2, c2 in spec.header_merges:
            sheet.merge_range(r1, c1, r2, c2, None)
            _write_xlsx_cell(sheet, r1, c1, spec.cell(r1, c1), formats)
        if spec.title:
            sheet.merge_range(0, 0, 0, max(len(spec.header) - 1, 1), spec.title[0][0], bold)
        if spec.hidden:
            sheet.hide()
    workbook.close()
    return path


def _covered(spec: SheetSpec) -> set[tuple[int, int]]:
    """Sheet cells under a merged range but its top-left one: Excel keeps them empty."""
    offset = spec.first_data_row
    data = {
        (r + offset, c)
        for r1, c1, r2, c2 in spec.merges
        for r in range(r1, r2 + 1)
        for c in range(c1, c2 + 1)
        if (r, c) != (r1, c1)
    }
    return data | {
        (r, c)
        for r1, c1, r2, c2 in spec.header_merges
        for r in range(r1, r2 + 1)
        for c in range(c1, c2 + 1)
        if (r, c) != (r1, c1)
    }


def _write_xlsx_cell(sheet, r: int, c: int, value: Cell, formats: dict) -> None:
    if value is None:
        return
    if isinstance(value, datetime):
        sheet.write_datetime(r, c, value, formats[datetime])
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime.combine(value, time()), formats[date])
    elif isinstance(value, time):
        sheet.write_datetime(r, c, value, formats[time])
    elif isinstance(value, bool):
        sheet.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value)
    else:
        sheet.write_string(r, c, value)


def write_xls(path: Path, sheets: list[SheetSpec]) -> Path:
    """Legacy Excel 97-2003, as old CRM systems and some agencies still send."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlwt.Workbook(encoding="utf-8")
    styles = {
        datetime: xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm"),
        date: xlwt.easyxf(num_format_str="yyyy-mm-dd"),
        time: xlwt.easyxf(num_format_str="hh:mm"),
    }
    for spec in sheets:
        sheet = workbook.add_sheet(spec.name)
        offset = spec.first_data_row
        merged = {
            (r1 + offset, c1): (r1 + offset, c1, r2 + offset, c2) for r1, c1, r2, c2 in spec.merges
        } | {(r1, c1): (r1, c1, r2, c2) for r1, c1, r2, c2 in spec.header_merges}
        covered = _covered(spec)
        for r, row in enumerate(spec.all_rows()):
            for c, value in enumerate(row):
                if (r, c) in merged:
                    r1, c1, r2, c2 = merged[(r, c)]
                    sheet.write_merge(r1, r2, c1, c2, value)
                elif (r, c) not in covered and value is not None:
                    style = styles.get(type(value))
                    if isinstance(value, time):
                        value = (value.hour * 60 + value.minute) / 1440
                    sheet.write(r, c, value, style) if style else sheet.write(r, c, value)
        if spec.hidden:
            sheet.visibility = 1
    workbook.save(str(path))
    return path


def write_csv(path: Path, spec: SheetSpec, encoding: str = "utf-8") -> Path:
    """`encoding` 'utf-8-sig' for Excel's "CSV UTF-8", 'gbk' for the legacy Chinese default."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_document(spec.all_rows()).encode(encoding))
    return path


def csv_document(rows: list[list[Cell]]) -> str:
    """The text `write_csv` writes for a sheet's rows."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else _csv_text(v) for v in row])
    return buffer.getvalue()


def _csv_text(value: Cell) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y/%m/%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_truncated(path: Path, source: Path, keep: float = 0.5) -> Path:
    """A file cut off mid-copy, as an interrupted upload leaves it."""
    data = source.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path
