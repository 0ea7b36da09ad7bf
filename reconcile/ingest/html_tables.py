"""Read the "fake .xls" that CRM systems (明源 among them) export: an HTML page of tables.

Each `<table>` becomes a sheet. `colspan`/`rowspan` cells are recorded as merged
ranges, so they are filled from their top-left value like real merged cells.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import polars as pl

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
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
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
                self._rows = None
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
        if rows > 1 or cols > 1:
            self._merges.append((r, c, r + rows - 1, c + cols - 1))
            self._taken.update(
                (rr, cc) for rr in range(r + 1, r + rows) for cc in range(c, c + cols)
            )


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def read_html_tables(data: bytes, name: str) -> list[RawSheet]:
    parser = _Tables()
    parser.feed(decode_html(data))
    parser.close()
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
