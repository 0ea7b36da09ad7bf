"""Read the "fake .xls" that CRM systems (明源 among them) export: an HTML page of tables.

Each `<table>` becomes a sheet. `colspan`/`rowspan` cells are recorded as merged
ranges, so they are filled from their top-left value like real merged cells.

The page is decoded and parsed a step at a time, and rows and cells (a table's rows ×
its widest row) are counted as they are parsed, against `limits:`.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

from reconcile.ingest.limits import Bounds, MiB
from reconcile.ingest.readers import FileRejected, RawSheet

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    declared = _CHARSET.search(data[:4096])
    candidates = [declared.group(1).decode("ascii")] if declared else []
    for encoding in (*candidates, "utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    raise FileRejected(
        "网页格式的导出文件编码无法识别，请用 Excel 另存为 .xlsx 后提交", "bad_encoding"
    )


class _Tables(HTMLParser):
    def __init__(self, bounds: Bounds | None = None, size: int = 0) -> None:
        super().__init__(convert_charrefs=True)
        self._bounds = bounds
        self._size = size
        self._width = 0
        self._checked_rows = 0
        self._done_rows = 0
        self._done_cells = 0
        self.tables: list[tuple[list[list[str | None]], list[tuple[int, int, int, int]]]] = []
        self._rows: list[list[str | None]] | None = None
        self._merges: list[tuple[int, int, int, int]] = []
        self._taken: set[tuple[int, int]] = set()
        self._cell: list[str] | None = None
        self._span = (1, 1)
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self._rows, self._merges, self._taken = [], [], set()
        elif self._rows is not None and self._depth == 1:
            if tag == "tr":
                self._rows.append([])
                if self._bounds is not None and len(self._rows) > self._checked_rows:
                    self._checked_rows = len(self._rows) + 1024
                    self._check(len(self._rows))
            elif tag in ("td", "th"):
                if not self._rows:
                    self._rows.append([])
                values = dict(attrs)
                self._span = (_span(values.get("rowspan")), _span(values.get("colspan")))
                self._cell = []
            elif tag == "br" and self._cell is not None:
                self._cell.append("\n")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._place(" ".join("".join(self._cell).split()) or None)
            self._cell = None
        elif tag == "table":
            if self._depth == 1 and self._rows is not None:
                self.tables.append((self._rows, self._merges))
                self._done_rows += len(self._rows)
                self._done_cells += len(self._rows) * self._width
                self._rows = None
                self._width = self._checked_rows = 0
            self._depth = max(0, self._depth - 1)

    def _place(self, text: str | None) -> None:
        assert self._rows is not None
        r = len(self._rows) - 1
        row = self._rows[r]
        c = len(row)
        while (r, c) in self._taken:  # a cell spanning down from a row above sits here
            row.append(None)
            c += 1
        row.append(text)
        rows, cols = self._span
        row.extend([None] * (cols - 1))
        height = r + rows
        if self._bounds is not None and (len(row) > self._width or height > self._checked_rows):
            self._width = max(self._width, len(row))
            self._checked_rows = height + 1024  # rows × width, checked every 1,024 rows
            self._check(height)
        if rows > 1 or cols > 1:
            self._merges.append((r, c, r + rows - 1, c + cols - 1))
            self._taken.update(
                (rr, cc) for rr in range(r + 1, r + rows) for cc in range(c, c + cols)
            )

    def _check(self, height: int) -> None:
        assert self._bounds is not None
        cells = height * self._width
        # Parsed cells wait as Python strings until the table is done: about 64 bytes each.
        where = f"网页第 {len(self.tables) + 1} 个表格"
        self._bounds.check(where, height, cells, self._size, extra=cells * 64)
        rows, cells = self._done_rows + height, self._done_cells + cells
        self._bounds.check("网页各表格合计", rows, cells, self._size, extra=cells * 64)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def read_html_tables(data: bytes, name: str) -> list[RawSheet]:
    parser = _Tables()
    parser.feed(decode_html(data))
    parser.close()
    return _sheets(parser, name)


def read_html_file(path: Path, name: str, bounds: Bounds) -> list[RawSheet]:
    """`read_html_tables` for a file, decoded and parsed a step at a time, within `bounds`."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(4096)
        declared = _CHARSET.search(head)
        candidates = [declared.group(1).decode("ascii")] if declared else []
        encoding = None
        for candidate in (*candidates, "utf-8-sig", "gb18030"):
            try:
                decoder = codecs.getincrementaldecoder(candidate)("strict")
                handle.seek(0)
                while chunk := handle.read(4 * MiB):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except (LookupError, UnicodeDecodeError):
                continue
            encoding = candidate
            break
        if encoding is None:
            raise FileRejected(
                "网页格式的导出文件编码无法识别，请用 Excel 另存为 .xlsx 后提交", "bad_encoding"
            )
        parser = _Tables(bounds, size)
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        handle.seek(0)
        while chunk := handle.read(MiB):
            parser.feed(decoder.decode(chunk))
        parser.feed(decoder.decode(b"", final=True))
        parser.close()
    return _sheets(parser, name)


def _sheets(parser: _Tables, name: str) -> list[RawSheet]:
    sheets = []
    for index, (rows, merges) in enumerate(parser.tables, start=1):
        width = max((len(row) for row in rows), default=0)
        columns = {
            f"c{i}": [row[i] if i < len(row) else None for row in rows] for i in range(width)
        }
        frame = pl.DataFrame(columns, schema={column: pl.String for column in columns})
        sheet_name = name if len(parser.tables) == 1 else f"{name}_表{index}"
        sheets.append(RawSheet(sheet_name, True, frame, merges))
    return sheets
