"""Streaming xlsxwriter helpers for the big workbooks people receive (receipts, settlement).

openpyxl builds every cell as an object and writes about 5,000 rows a second; the
receipts and the settlement's 明细 and 对账 have tens of thousands. Here a workbook is
first planned as `Sheet`s (plain rows of Python values under typed `Column`s), then
streamed by xlsxwriter in `constant_memory` mode: each row is written once, in order,
and leaves memory.

The layout is workbook.py's table (a bold, shaded header row that stays frozen and
carries an autofilter, columns sized to their content with CJK counted twice, money
in yuan, local times, wrapped columns with taller rows, landscape pages that fit the
width with the header row repeated). Every text goes through `cell_text` and is
written with `write_string`, so no text is ever a formula; only a `Formula` the code
built is. The same sheets always give the same bytes: the document is stamped with
the night's moment and every zip entry has a fixed time.

Two engines write that one layout. A workbook of plain tables (no formula, nothing
below a table, every time in a time column: the receipts) goes through
rust_xlsxwriter (`rustpy-xlsxwriter`), about ten times xlsxwriter's speed: it takes
whole sheets, styles per column, and streams rows from Rust. It stamps the document
with the wall clock, so its `docProps/core.xml` is rewritten with the night's moment.
Anything else (the settlement's formulas and totals) goes through xlsxwriter cell by
cell. tests/publish/test_stream.py writes the same sheets through both and compares.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

import rustpy_xlsxwriter as rx
import xlsxwriter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from reconcile.publish.workbook import (
    CREATOR,
    DATE_FORMAT,
    DATETIME_FORMAT,
    EMPTY_TEXT,
    FORMATS,
    WIDE,
    Column,
    Formula,
    cell_text,
    changed_texts,
    display_width,
    night_moment,
)
from reconcile.store.files import write_atomic

if TYPE_CHECKING:
    from rustpy_xlsxwriter.rustpy_xlsxwriter import (
        ColumnFormats,
        ColumnWidths,
        PageSetup,
        SheetEntry,
    )

_LINE_HEIGHT = 15  # points: one line of the default 11-point font
_MIN_WIDTH = 6
_A4 = 9  # the paper code of both engines
_HEADER_PART = 60  # characters of one page-header part before `&` is doubled
_HEADER_ROOM = 80  # … and after: three parts and their codes stay within Excel's 255
_FOOTER = "&C第 &P 页，共 &N 页"
# Rendered widths of values whose text is not the cell's value (formats, formulas).
_KIND_WIDTH = {"money": 16, "datetime": 17, "date": 11, "percent": 8, "count": 8}
_HEADER_STYLE = {
    "bold": True,
    "bg_color": "#DDEBF7",
    "pattern": 1,
    "align": "center",
    "valign": "vcenter",
    "text_wrap": True,
}


@dataclass(frozen=True)
class Extra:
    """A cell below a table (a total, a note): its value, how it looks, whether bold."""

    value: object
    kind: str = "text"
    bold: bool = False


@dataclass(frozen=True)
class Sheet:
    """What goes into one sheet: a table, and the rows written below it.

    `below` starts on the row after the table's last (`last`); an empty list is an
    empty row, and `None` an empty cell.
    """

    name: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[object]]
    empty: str = EMPTY_TEXT  # said below the header of a table without rows
    below: Sequence[Sequence[Extra | None]] = ()

    @property
    def last(self) -> int:
        """The table's last row, 1-based: its `empty` line when it has no rows."""
        return max(len(self.rows) + 1, 2)


EXCEL_ROWS = 1_048_576  # the rows of one worksheet (Excel 2007 and later)


class SheetTooLong(ValueError):
    """A sheet needs more rows than a worksheet holds. It is never written cut short:
    xlsxwriter drops a row beyond the last without a word, and totals over a cut table
    would be wrong."""


def write_book(
    path: Path, sheets: Sequence[Sheet], project: str, title: str, as_of: date, zone: ZoneInfo
) -> Path:
    """Write `sheets` in order to `path`, atomically; every page headed `title·<sheet>`.
    Raises `SheetTooLong` (nothing written) for a sheet longer than Excel's."""
    for sheet in sheets:
        height = sheet.last + len(sheet.below)
        if height > EXCEL_ROWS:
            raise SheetTooLong(
                f"{path.name} 的工作表“{sheet.name}”需要 {height:,} 行，超过 Excel 单个工作表的"
                f"上限 {EXCEL_ROWS:,} 行；为免截断少算，未写出该文件"
            )
    moment = night_moment(as_of, zone)
    plans = [_Plan.of(sheet, zone) for sheet in sheets]
    if all(plan.plain for plan in plans):
        data = _fast_book(plans, project, title, as_of, moment)
    else:
        data = _streamed_book(plans, project, title, as_of, moment, zone)
    return write_atomic(path, data)


@dataclass
class _Plan:
    """A sheet as both engines write it: its cells, its columns' widths, its tall rows."""

    sheet: Sheet
    columns: list[list[object]]  # its cells, column by column
    widths: list[int]
    heights: dict[int, int]  # 0-based sheet row (the header is 0) -> points
    wrapped: bool  # a column wraps, so every cell of the table is top-aligned
    plain: bool  # a table alone, without formulas, its times in time columns

    @classmethod
    def of(cls, sheet: Sheet, zone: ZoneInfo) -> _Plan:
        columns = sheet.columns
        made, distinct, plain = _columns_of(sheet.rows, columns, zone)
        widths: list[int] = []
        lines: dict[int, int] = {}  # 0-based row of the table -> lines of its tallest cell
        for column, cells, values in zip(columns, made, distinct, strict=True):
            width, tall = _measure(column, cells, values)
            widths.append(width)
            for index, count in tall.items():
                if count > lines.get(index, 1):
                    lines[index] = count
        heights = {index + 1: _LINE_HEIGHT * count for index, count in sorted(lines.items())}
        wrapped = any(column.wrap for column in columns)
        plain = plain and not sheet.below
        return cls(sheet, made, widths, heights, wrapped, plain)

    @property
    def row_count(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def cells(self) -> Iterator[tuple[object, ...]]:
        """Its cells, row by row."""
        return zip(*self.columns, strict=True)


def _streamed_book(
    plans: list[_Plan], project: str, title: str, as_of: date, moment: datetime, zone: ZoneInfo
) -> bytes:
    buffer = io.BytesIO()
    # Not `in_memory`: it turns `constant_memory` off. Rows go to temporary files, the
    # zip to `buffer`; xlsxwriter stamps every zip entry with one fixed 1980 date.
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "nan_inf_to_errors": True})
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    book.set_properties({"author": CREATOR, "created": utc})
    formats = _Formats(book)
    for plan in plans:
        worksheet = book.add_worksheet(plan.sheet.name)
        _write_sheet(worksheet, plan, formats, zone)
        _setup_page(worksheet, project, f"{title}·{plan.sheet.name}", as_of)
    book.close()
    return buffer.getvalue()


def _fast_book(
    plans: list[_Plan], project: str, title: str, as_of: date, moment: datetime
) -> bytes:
    """The plain tables of `plans` through rust_xlsxwriter, stamped with `moment`."""
    entries: list[SheetEntry] = []
    formats: dict[str, ColumnFormats] = {}
    widths: dict[str, ColumnWidths] = {}
    heights: dict[str, dict[int, float]] = {}
    pages: dict[str, PageSetup] = {}
    header = _rx_format(_HEADER_STYLE)
    for plan in plans:
        sheet, name = plan.sheet, plan.sheet.name
        titles = [cell_text(column.title) for column in sheet.columns]
        if len(set(titles)) != len(titles):
            raise ValueError(f"sheet {name!r} repeats a column title: {titles!r}")
        records = list(map(dict, map(zip, itertools.repeat(titles), plan.cells())))
        if not records:
            records = [dict.fromkeys(titles)]
            records[0][titles[0]] = cell_text(sheet.empty)
        entries.append((name, records))
        formats[name] = {
            text: _rx_format(_column_style(column, plan.wrapped))
            for text, column in zip(titles, sheet.columns, strict=True)
        }
        widths[name] = [float(width) for width in plan.widths]
        heights[name] = {row: float(points) for row, points in plan.heights.items()}
        pages[name] = {
            "landscape": True,
            "paper_size": _A4,
            "fit_to_pages": (1, 0),
            "repeat_rows": 0,
            "header": _page_header(project, f"{title}·{name}", as_of),
            "footer": _FOOTER,
        }
    buffer = io.BytesIO()
    rx.write_worksheets(
        entries,
        buffer,
        freeze_panes={"general": {"row": 1, "col": 0}},
        column_formats=formats,
        header_format=dict.fromkeys(formats, header),
        column_widths=widths,
        row_heights=heights,
        autofilter=dict.fromkeys(formats, True),
        page_setup=pages,
    )
    return _stamped(buffer.getvalue(), moment)


def _column_style(column: Column, wrapped: bool) -> dict[str, object]:
    """How a column's cells look (the streamed engine's per-cell choice, per column)."""
    style: dict[str, object] = {}
    number = FORMATS.get(column.kind)
    if number:
        style["num_format"] = number
    if wrapped:
        style["valign"] = "top"
        if column.wrap:
            style["text_wrap"] = True
    return style


def _rx_format(style: dict[str, object]) -> rx.Format:
    """xlsxwriter's style keys as a rust_xlsxwriter format."""
    look = rx.Format()
    for key, value in style.items():
        if key == "bold":
            look.set_bold()
        elif key == "bg_color":
            look.set_background_color(str(value)).set_pattern("solid")
        elif key == "align":
            look.set_align(str(value))
        elif key == "valign":
            look.set_align("vcenter" if value == "vcenter" else "top")
        elif key == "text_wrap":
            look.set_text_wrap()
        elif key == "num_format":
            look.set_num_format(str(value))
    return look


_CORE = re.compile(
    rb"<dc:creator>.*?</dc:creator>|<cp:lastModifiedBy>.*?</cp:lastModifiedBy>"
    rb"|(<dcterms:(?:created|modified) [^>]*>)[^<]*"
)


def _stamped(data: bytes, moment: datetime) -> bytes:
    """The workbook with the night's moment and our name in its document properties,
    where rust_xlsxwriter wrote the wall clock: the same sheets, the same bytes.

    Only `docProps/core.xml` is compressed again. Every other entry is copied as it
    is, compressed bytes and data descriptor included, with its date set to 1980 (as
    rust_xlsxwriter already writes it): a copy, not a second deflate of the sheets.
    """
    when = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    creator = CREATOR.encode()

    def stamp(match: re.Match[bytes]) -> bytes:
        found = match.group(0)
        if match.group(1):
            return match.group(1) + when
        tag = found[1 : found.index(b">")]
        return b"<" + tag + b">" + creator + b"</" + tag + b">"

    source = zipfile.ZipFile(io.BytesIO(data))
    entries = source.infolist()
    ends = [entry.header_offset for entry in entries[1:]] + [source.start_dir]
    out = io.BytesIO()
    central = []
    for entry, end in zip(entries, ends, strict=True):
        offset = out.tell()
        name = entry.filename.encode()
        crc, size, packed, flags = entry.CRC, entry.file_size, entry.compress_size, entry.flag_bits
        if entry.filename == _CORE_PART:
            body = _CORE.sub(stamp, source.read(entry))
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw deflate, as zip stores it
            deflated = packer.compress(body) + packer.flush()
            crc, size, packed, flags = zlib.crc32(body), len(body), len(deflated), 0
            out.write(
                _LOCAL.pack(_LOCAL_SIG, 20, 0, flags, zipfile.ZIP_DEFLATED, 0, _DOS_1980,
                            crc, packed, size, len(name), 0)
            )  # fmt: skip
            out.write(name + deflated)
        else:
            record = bytearray(data[entry.header_offset : end])
            record[10:14] = _DATE_1980  # the local header's time and date
            out.write(record)
        central.append(
            _CENTRAL.pack(_CENTRAL_SIG, entry.create_version, entry.create_system,
                          entry.extract_version, 0, flags, entry.compress_type, 0, _DOS_1980,
                          crc, packed, size, len(name), len(entry.extra), 0, 0,
                          entry.internal_attr, entry.external_attr, offset)
            + name + entry.extra
        )  # fmt: skip
    start = out.tell()
    out.write(b"".join(central))
    count = len(central)
    out.write(_END.pack(_END_SIG, 0, 0, count, count, out.tell() - start, start, 0))
    return out.getvalue()


# The zip records `_stamped` writes (APPNOTE 4.3.7, 4.3.12, 4.3.16; zipfile's own layouts).
_CORE_PART = "docProps/core.xml"
_LOCAL, _LOCAL_SIG = struct.Struct("<4s2B4HL2L2H"), b"PK\x03\x04"
_CENTRAL, _CENTRAL_SIG = struct.Struct("<4s4B4HL2L5H2L"), b"PK\x01\x02"
_END, _END_SIG = struct.Struct("<4s4H2LH"), b"PK\x05\x06"
_DOS_1980 = 1 << 5 | 1  # 1980-01-01 as an MS-DOS date (its time: 0)
_DATE_1980 = struct.pack("<2H", 0, _DOS_1980)


class _Formats:
    """One xlsxwriter format per look, made on first use (Excel caps a file's styles)."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self._book = book
        self._cache: dict[tuple[str | None, bool, str | None], Format | None] = {}
        self.header = book.add_format(_HEADER_STYLE)

    def get(
        self, number: str | None, bold: bool = False, align: str | None = None
    ) -> Format | None:
        key = (number, bold, align)
        if key not in self._cache:
            style: dict[str, object] = {}
            if number:
                style["num_format"] = number
            if bold:
                style["bold"] = True
            if align:
                style["valign"] = "top"
            if align == "wrap":
                style["text_wrap"] = True
            self._cache[key] = self._book.add_format(style) if style else None
        return self._cache[key]


def _write_sheet(ws: Worksheet, plan: _Plan, formats: _Formats, zone: ZoneInfo) -> None:
    sheet, widths, wrapped = plan.sheet, plan.widths, plan.wrapped
    columns = sheet.columns
    for index, column in enumerate(columns):
        ws.write_string(0, index, cell_text(column.title), formats.header)
    # A table with a wrapped column has every cell top-aligned, so a tall row still
    # reads as one line; its wrapped cells wrap.
    aligns = [("wrap" if c.wrap else "top") if wrapped else None for c in columns]
    looks = [formats.get(None, align=align) for align in aligns]
    numbers = [
        formats.get(FORMATS.get(c.kind), align=align)
        for c, align in zip(columns, aligns, strict=True)
    ]
    for number, row in enumerate(plan.cells(), start=1):
        if number in plan.heights:
            ws.set_row(number, plan.heights[number])
        for index, value in enumerate(row):
            if value is None or value == "":  # openpyxl wrote no empty text either
                if wrapped:
                    ws.write_blank(number, index, None, looks[index])
            elif type(value) is str:
                ws.write_string(number, index, value, looks[index])
            elif type(value) is float or type(value) is int:  # the common cases first
                ws.write_number(number, index, value, numbers[index])
            else:
                kind, align = columns[index].kind, aligns[index]
                _write_value(ws, number, index, value, kind, numbers[index], formats, align)
    if not plan.row_count:
        ws.write_string(1, 0, cell_text(sheet.empty), looks[0])
        for index in range(1, len(columns) if wrapped else 0):
            ws.write_blank(1, index, None, looks[index])
    last = sheet.last
    for number, extras in enumerate(sheet.below, start=last):
        for index, extra in enumerate(extras):
            if extra is not None:
                _write_extra(ws, number, index, extra, formats, zone)
    for index, width in enumerate(widths):
        ws.set_column(index, index, width)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, last - 1, len(columns) - 1)
    ws.repeat_rows(0)


_TIME_KINDS = frozenset({"datetime", "date"})


def _columns_of(
    rows: Sequence[Sequence[object]], columns: Sequence[Column], zone: ZoneInfo
) -> tuple[list[list[object]], list[set[object] | None], bool]:
    """The rows' cells, column by column; each text column's distinct texts, as its
    cells hold them (None for other columns); and whether a column's own look fits each
    cell (no formula, no time outside a time column): what the fast engine needs,
    having no per-cell style.

    Text repeats down a column (statuses, agents, types), and each distinct text is
    made safe once. An empty text is an empty cell. Pure Python: this runs in the
    forked child that writes the receipts, where polars' thread pool does not exist.
    """
    plain = True
    made: list[list[object]] = []
    distinct: list[set[object] | None] = []
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    for column, values in zip(columns, by_column, strict=True):
        if set(map(type, values)) <= _TEXT_TYPES:
            found = set(values)
            found.discard(None)
            empty = "" in found
            found.discard("")
            texts = cast("set[str]", found)  # nothing else is left
            changed: dict[object, object] = {
                text: safe or None for text, safe in changed_texts(texts).items()
            }
            if not changed and not empty:
                made.append(list(values))  # most columns: every text is its own cell
                distinct.append(found)
                continue
            changed[""] = None
            made.append(list(map(changed.get, values, values)))
            shown = {changed.get(text, text) for text in texts}
            shown.discard(None)
            distinct.append(shown)
            continue
        cells, fits = _column_cells(values, column, zone)
        plain = plain and fits
        made.append(cells)
        distinct.append(None)
    return made, distinct, plain


_TEXT_TYPES = frozenset({str, type(None)})


def _column_cells(
    values: Sequence[object], column: Column, zone: ZoneInfo
) -> tuple[list[object], bool]:
    """One column's cells, value by value, and whether its look fits each of them."""
    plain = True
    safe: dict[str, str | None] = {}
    cells: list[object] = []
    for value in values:
        if type(value) is str:
            text = safe.get(value)
            if text is None and value not in safe:
                text = safe[value] = cell_text(value) or None
            value = text
        elif isinstance(value, Formula):
            plain = False
        elif isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(zone).replace(tzinfo=None)
            if column.kind == "date":
                value = value.date()
            elif column.kind not in _TIME_KINDS:
                plain = False
        elif isinstance(value, date) and column.kind not in _TIME_KINDS:
            plain = False
        cells.append(value)
    return cells, plain


def _cells(row: Sequence[object], columns: Sequence[Column], zone: ZoneInfo) -> list[object]:
    """A row's values as its cells hold them: text made safe, times local, days in date columns."""
    return [cells[0] for cells in _columns_of([row], columns, zone)[0]]


def _measure(
    column: Column, cells: Sequence[object], values: set[object] | None = None
) -> tuple[int, dict[int, int]]:
    """A column's width (its widest cell or title and a margin, within its bounds), and
    for a wrapped column the cells that need more than one line: index -> lines.
    `values`: its distinct cells other than None, when the caller has them.

    The heights are set here rather than left to the viewer, so that print shows every
    line however the file is opened.
    """
    widest = display_width(column.title)
    if column.kind in _KIND_WIDTH:
        # Its cells' width is the kind's: only whether there is one matters.
        if cells.count(None) != len(cells):
            widest = max(widest, _KIND_WIDTH[column.kind])
        return max(_MIN_WIDTH, min(widest + 2, column.max_width)), {}
    if values is None:
        values = set(cells)
        values.discard(None)
    if values:
        # Stopping at the cap itself, not the cap less the margin: a text found that wide
        # settles the width and shows that a wrapped column overflows, whichever text
        # the set gives first.
        widest = max(widest, _widest(values, column.max_width))
    width = max(_MIN_WIDTH, min(widest + 2, column.max_width))
    room = max(width - 1, 1)
    if not column.wrap:
        return width, {}
    broken = any(isinstance(value, str) and "\n" in value for value in values)
    if widest <= room and not broken:
        return width, {}  # every cell fits on one line
    # Each distinct text is measured once; then the cells are only looked up.
    count = _LineCounter(room)
    lines: dict[object, int] = {
        value: found
        for value in values
        if isinstance(value, str)
        and (_width_bound(value) > room or "\n" in value)
        and (found := count(value)) > 1
    }
    if not lines:
        return width, {}
    return width, {index: lines[value] for index, value in enumerate(cells) if value in lines}


class _LineCounter:
    """`_lines` at one `room`, for many texts that differ in their trailing digits only
    (a row's source, `path#sheet!row`): a digit is one wide, so what comes before them
    is measured once."""

    def __init__(self, room: int) -> None:
        self._room = room
        self._stems: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if "\n" in text:
            return _lines(text, self._room)
        stem = text.rstrip(_DIGITS)
        width = self._stems.get(stem)
        if width is None:
            width = self._stems[stem] = _text_width(stem)
        return -(-(width + len(text) - len(stem)) // self._room) or 1


_DIGITS = "0123456789"


def _width_bound(text: str) -> int:
    """No text is wider on screen (`_text_width`): a character of 1, 2, 3 or 4 UTF-8
    bytes is at most 1, 1, 2 or 2 wide, never more than (bytes + 1) / 2. Exact for
    ASCII and CJK alike."""
    return (len(text.encode()) + len(text)) // 2


def _lines(text: str, room: int) -> int:
    """Lines a wrapped cell needs at `room` characters: each of its own lines wraps."""
    return sum(-(-_text_width(part) // room) or 1 for part in text.split("\n"))


def _widest(values: set[object], enough: int) -> int:
    """The widest of `values`, or at least `enough` once one is that wide (the column is
    capped there). Most texts are not measured: `_width_bound` shows they are no wider."""
    widest = 0
    for value in values:
        if type(value) is str and _width_bound(value) <= widest:
            continue
        widest = max(widest, _value_width(value))
        if widest >= enough:
            break
    return widest


def _value_width(value: object) -> int:
    if type(value) is str:
        return _text_width(value)
    if isinstance(value, Formula):
        return 10  # its result's, unknown here
    return len(str(value))


def _text_width(text: str) -> int:
    """The widest line of `text` on screen (`display_width`'s count, per line)."""
    if text.isascii() and "\n" not in text:
        return len(text)  # the common case, without a look-up per character
    return max(_line_width(line) for line in text.split("\n"))


def _line_width(line: str) -> int:
    """`display_width(line)`, with the wide characters found by one regex, not one by one."""
    wide, astral = _wide_characters()
    width = len(line) + len(wide.findall(line))
    if line and max(line) > "\uffff":
        width += sum(display_width(char) - 1 for char in astral.findall(line))
    return width


@functools.cache
def _wide_characters() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A class of the wide and full-width characters of the Basic Multilingual Plane
    (what `display_width` counts twice), and one of every character beyond it, which
    `display_width` itself judges (rare, and a scan of all of Unicode takes a while)."""
    ranges = []
    start = None
    for point in range(0x10000 + 1):
        wide = point < 0x10000 and unicodedata.east_asian_width(chr(point)) in WIDE
        if wide and start is None:
            start = point
        elif not wide and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(point - 1))}")
            start = None
    return re.compile(f"[{''.join(ranges)}]"), re.compile("[\U00010000-\U0010ffff]")


def _write_value(
    ws: Worksheet,
    row: int,
    col: int,
    value: object,
    kind: str,
    number: Format | None,
    formats: _Formats,
    align: str | None,
) -> None:
    """A cell that is not plain text: a formula, a time, a day, a number or a flag.

    A time or day outside a time column still shows as one (openpyxl's defaults did).
    """
    if isinstance(value, Formula):
        # An empty cached result: LibreOffice and Excel compute it on load; a cached 0
        # would be shown as is.
        ws.write_formula(row, col, value, number, "")
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, number)
    elif isinstance(value, datetime):
        own = number if kind in ("datetime", "date") else formats.get(DATETIME_FORMAT, align=align)
        ws.write_datetime(row, col, value, own)
    elif isinstance(value, date):
        own = number if kind in ("datetime", "date") else formats.get(DATE_FORMAT, align=align)
        ws.write_datetime(row, col, value, own)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, number)
    else:
        ws.write_string(row, col, cell_text(str(value)), formats.get(None, align=align))


def _write_extra(
    ws: Worksheet, row: int, col: int, extra: Extra, formats: _Formats, zone: ZoneInfo
) -> None:
    (value,) = _cells([extra.value], [Column("", extra.kind)], zone)
    if value is None:
        return
    if type(value) is str:
        ws.write_string(row, col, value, formats.get(None, extra.bold))
        return
    number = formats.get(FORMATS.get(extra.kind), extra.bold)
    _write_value(ws, row, col, value, extra.kind, number, formats, None)


def _setup_page(ws: Worksheet, project: str, title: str, as_of: date) -> None:
    """Landscape A4 that fits the table's width, header row repeated, project and night printed."""
    ws.set_landscape()
    ws.set_paper(_A4)
    ws.fit_to_pages(1, 0)
    # Set directly: set_header counts the `&G` inside a doubled `&&G` as an image
    # placeholder and drops the whole header; the text is already valid here.
    ws.header = _page_header(project, title, as_of)
    ws.set_footer(_FOOTER)


def _page_header(project: str, title: str, as_of: date) -> str:
    """Project, title and night, left, centre and right of every printed page."""
    left, center, right = (_header_text(part) for part in (project, title, f"截至 {as_of}"))
    return f"&L{left}&C{center}&R{right}"


def _header_text(text: str) -> str:
    """Page header text: `&` starts a field code there, so a literal one is doubled.

    Excel refuses a header longer than 255 characters in all, so each part is cut.
    `&[` is Excel's spelled-out form of a code (`&[Picture]`, `&[Page]`), which
    rust_xlsxwriter rewrites even after a doubled `&`: its bracket is made full-width.
    """
    part = ILLEGAL_CHARACTERS_RE.sub("", text).replace("&[", "&［")[:_HEADER_PART]
    while len(part.replace("&", "&&")) > _HEADER_ROOM:
        part = part[:-1]
    return part.replace("&", "&&")
