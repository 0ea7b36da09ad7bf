"""Shared openpyxl helpers for the workbooks people receive (settlement, receipts).

One table layout everywhere: a bold, shaded header row that stays frozen and carries
an autofilter, columns sized to their content, money in yuan, times in the project's
local time, landscape pages that fit the width. Every text cell passes through
`neutralise` (a cell is never a formula unless the code built one as a `Formula`),
and `save_workbook` writes byte-identical files for the same night.
"""

from __future__ import annotations

import io
import operator
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from reconcile.publish.text import FORMULA_START, neutralise
from reconcile.store.files import write_atomic

MONEY_FORMAT = '"¥"#,##0.00;-"¥"#,##0.00'
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "0"
# Days of protection left (SPEC 6.8 reminders): red under 3, in Excel's own number format,
# so both engines show it alike.
DAYS_FORMAT = '[Red][<3]0" 天";0" 天"'
FORMATS = {
    "money": MONEY_FORMAT,
    "datetime": DATETIME_FORMAT,
    "date": DATE_FORMAT,
    "percent": PERCENT_FORMAT,
    "count": COUNT_FORMAT,
    "days": DAYS_FORMAT,
}
EMPTY_TEXT = "无"
CREATOR = "reconcile"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
TOTAL_FONT = Font(bold=True)
_WRAPPED = Alignment(vertical="top", wrap_text=True)
_TOP = Alignment(vertical="top")
_LINE_HEIGHT = 15  # points: one line of the default 11-point font

_MAX_CELL_TEXT = 32_767  # Excel's limit; longer text makes Excel "repair" the file
_AS_IS = (*FORMULA_START, "'")  # first characters `cell_text` changes text for
_MAX_HEADER = 60  # characters of one page-header part (three parts share Excel's 255)
_MIN_WIDTH = 6
_MAX_WIDTH = 50
# Rendered widths of values whose text is not the cell's value (formats, formulas).
_KIND_WIDTH = {"money": 16, "datetime": 17, "date": 11, "percent": 8, "count": 8}
# A fixed moment inside zip entries when none is given (zip cannot store dates before 1980).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class Formula(str):
    """Formula text that the code built itself; the only text written unneutralised."""


@dataclass(frozen=True)
class Column:
    """One table column: its Chinese title, how its cells look, and its widest width."""

    title: str
    kind: str = "text"  # text | money | datetime | date | percent | count | days
    max_width: int = _MAX_WIDTH
    # Long text wraps inside the column (rows grow to show it) instead of running over
    # the next column when printed.
    wrap: bool = False


def changed_texts(texts: set[str]) -> dict[str, str]:
    """Those of `texts` that `cell_text` changes, with what it makes of them; all of them
    checked at once when none needs a change (a column of 200,000 names or numbers is one
    call, not 200,000)."""
    if (
        "".join(texts).isprintable()
        and max(map(len, texts), default=0) <= _MAX_CELL_TEXT
        and not any(map(operator.methodcaller("startswith", _AS_IS), texts))
    ):
        return {}
    return {text: made for text in texts if (made := cell_text(text)) != text}


def cell_text(value: str) -> str:
    """Text as it may go into a cell: no control characters, never a formula, not too long.

    A text that starts with `'` gets a second one, so that neutralising stays one to
    one: `=x` is shown as `'=x` and `'=x` as `''=x`. The settlement's formulas match
    明细 against the names 汇总 shows, so two channels must never share a cell text.
    """
    if value.isprintable() and len(value) <= _MAX_CELL_TEXT and not value.startswith(_AS_IS):
        return value  # most text: no control character, line break or formula start
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)
    cleaned = neutralise("'" + cleaned if cleaned.startswith("'") else cleaned)
    # A bare CR is read back as LF from the XML: store what every reader will see.
    return cleaned.replace("\r\n", "\n").replace("\r", "\n")[:_MAX_CELL_TEXT]


def cell_value(value: object, zone: ZoneInfo) -> bool | int | float | str | date | None:
    """A Python value as a cell holds it: text neutralised, aware times as local naive times."""
    if value is None:
        return None
    if isinstance(value, Formula):
        return str(value)
    if isinstance(value, str):
        return cell_text(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return value
    if isinstance(value, bool | int | float | date):
        return value
    return cell_text(str(value))


WIDE = ("W", "F")  # the East Asian widths of characters two columns wide


def display_width(text: str) -> int:
    """Columns a text needs on screen: CJK and full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(char) in WIDE else 1 for char in text)


def _width_of(value: object, column: Column) -> int:
    if value is None:
        return 0
    if column.kind in _KIND_WIDTH or isinstance(value, Formula):
        return _KIND_WIDTH.get(column.kind, 10)
    text = value if isinstance(value, str) else str(value)
    return max(display_width(line) for line in text.split("\n"))


def put(ws: Worksheet, row: int, col: int, value: object, kind: str, zone: ZoneInfo) -> Cell:
    """Write one cell with the number format of its kind (a time in a date column: its day)."""
    if kind == "date" and isinstance(value, datetime):
        value = value.astimezone(zone).date() if value.tzinfo else value.date()
    cell = ws.cell(row=row, column=col, value=cell_value(value, zone))
    computed = isinstance(value, Formula) or not isinstance(value, str | None)
    if kind in FORMATS and computed:
        cell.number_format = FORMATS[kind]
    return cell


def write_table(
    ws: Worksheet,
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    zone: ZoneInfo,
    *,
    empty: str = EMPTY_TEXT,
) -> int:
    """Header in row 1 (bold, shaded, frozen, filterable), then the rows; returns the last row.

    An empty table keeps its header and says `empty` in the row below, so a reader
    knows the sheet was considered and had nothing.
    """
    widths = [display_width(column.title) + 2 for column in columns]
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index, value=cell_text(column.title))
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
    last = 1
    for last, values in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            put(ws, last, index, value, column.kind, zone)
            widths[index - 1] = max(widths[index - 1], _width_of(value, column) + 2)
    if last == 1:
        last = 2
        ws.cell(row=2, column=1, value=cell_text(empty))
    capped = [max(_MIN_WIDTH, min(w, c.max_width)) for c, w in zip(columns, widths, strict=True)]
    for index, width in enumerate(capped, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    if any(column.wrap for column in columns):
        _wrap(ws, columns, capped, last)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"
    ws.print_title_rows = "1:1"
    return last


def _wrap(ws: Worksheet, columns: Sequence[Column], widths: list[int], last: int) -> None:
    """Wrapped columns' cells wrap; each row is as tall as its longest wrapped text.

    The height is set here rather than left to the viewer, so that print shows every
    line however the file is opened: lines at the column's width, 15 points a line.
    Every cell of the table is top-aligned so that a tall row still reads as one line.
    """
    for row in range(2, last + 1):
        lines = 1
        for index, column in enumerate(columns, start=1):
            cell = ws.cell(row=row, column=index)
            cell.alignment = _WRAPPED if column.wrap else _TOP
            if column.wrap and isinstance(cell.value, str):
                room = max(widths[index - 1] - 1, 1)
                needed = sum(
                    -(-display_width(part) // room) or 1 for part in cell.value.split("\n")
                )
                lines = max(lines, needed)
        if lines > 1:
            ws.row_dimensions[row].height = _LINE_HEIGHT * lines


def write_notes(ws: Worksheet, first_row: int, notes: Sequence[str]) -> int:
    """Explanations below a table, one per row in column A; returns the last row used."""
    row = first_row - 1
    for row, note in enumerate(notes, start=first_row):
        ws.cell(row=row, column=1, value=cell_text(note))
    return row


def setup_page(ws: Worksheet, project: str, title: str, as_of: date) -> None:
    """Landscape A4 that fits the table's width, header row repeated, project and night printed."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    header, footer = ws.oddHeader, ws.oddFooter
    assert header is not None and footer is not None  # every new worksheet has both
    header.left.text = _header_text(project)
    header.center.text = _header_text(title)
    header.right.text = _header_text(f"截至 {as_of.isoformat()}")
    footer.center.text = "第 &P 页，共 &N 页"


def _header_text(text: str) -> str:
    """Page header text: `&` starts a field code there, so a literal one is doubled.

    Excel refuses a header longer than 255 characters in all, so each part is cut.
    """
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:_MAX_HEADER].replace("&", "&&")


def new_workbook() -> Workbook:
    """An empty workbook (its default sheet removed): sheets are added in reading order."""
    wb = Workbook()
    wb.remove(wb.worksheets[0])
    return wb


def night_moment(as_of: date, zone: ZoneInfo) -> datetime:
    """The instant a night's workbooks are stamped with: the end of the as-of day."""
    return datetime(as_of.year, as_of.month, as_of.day, 23, 59, 59, tzinfo=zone)


def save_workbook(wb: Workbook, path: Path, moment: datetime) -> Path:
    """Write `wb` so that the same content always gives the same bytes, atomically.

    openpyxl stamps the wall clock into the document properties and every zip entry;
    both are replaced by `moment`, and the entries are written in a fixed order.
    The file appears under its name only when complete (temporary file, fsync, rename).
    """
    utc = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    wb.properties.creator = CREATOR
    wb.properties.lastModifiedBy = CREATOR
    wb.properties.created = utc
    wb.properties.modified = utc
    buffer = io.BytesIO()
    # ExcelWriter, not Workbook.save: save() overwrites `modified` with the current time.
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    local = moment.replace(tzinfo=None)
    stamp = (local.year, local.month, local.day, local.hour, local.minute, local.second)
    data = stable_zip(buffer.getvalue(), max(stamp, _ZIP_EPOCH))
    return write_atomic(path, data)


def stable_zip(data: bytes, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The zip re-written with fixed entry times, attributes and order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(source.namelist(), key=lambda name: (name != "[Content_Types].xml", name))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(name))
    return out.getvalue()
