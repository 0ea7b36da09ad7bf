"""From a raw sheet to a table of canonical text columns.

`extract_table` finds the header row, recognises the sheet kind, fills merged
cells, and sets aside blank, totals and notes rows with a counted reason. What it
returns is still text: normalisation is the next stage.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from reconcile.ingest.headers import (
    HEADER_SCAN_ROWS,
    AliasTable,
    HeaderMatch,
    find_header,
    recognise_kind,
)
from reconcile.ingest.readers import RawSheet

ROW = "__row"  # spreadsheet row number (CSV: line number), 1-based

SKIP_BLANK = "空行"
SKIP_TOTALS = "合计/小计行"
SKIP_NOTES = "备注/说明行"
SKIP_REPEATED_HEADER = "重复的表头行"

_TOTALS = re.compile(r"^\s*(合计|总计|小计|共计|总数|汇总)")
_NOTES = re.compile(r"^\s*(备注|说明|注[:：]|注意|填表说明|制表|审核|附注|\*注|※)")


@dataclass
class SheetTable:
    """A recognised sheet: canonical field columns (text) and `__row` for its data rows."""

    sheet: str
    kind: str
    header_row: int  # spreadsheet row number of the header
    headers: list[str]
    mapping: dict[str, str]  # canonical field -> header text as written
    frame: pl.DataFrame
    cells: pl.DataFrame  # every row of the sheet as read (merged cells filled): `__row`, c0..cN
    skipped: Counter = field(default_factory=Counter)
    title: str = ""  # text above the header (e.g. 山湖一号报备客户 2026年11月)
    hidden: bool = False
    extra_phone_headers: list[str] = field(default_factory=list)  # read as more numbers
    ignored_headers: dict[str, str] = field(default_factory=dict)  # repeated field: kept raw only


@dataclass
class UnrecognisedSheet:
    sheet: str
    headers: list[str]
    rows: int  # non-blank rows, header included
    reason: str
    cells: pl.DataFrame  # every row as read: `__row`, c0..cN
    hidden: bool = False


def _top_rows(sheet: RawSheet, count: int) -> list[list[str | None]]:
    return [list(row) for row in sheet.frame.head(count).iter_rows()]


def _fill_merges(frame: pl.DataFrame, merges: list[tuple], first_data_index: int) -> pl.DataFrame:
    """Every cell of a merged range takes the value of its top-left cell (as Excel shows it)."""
    relevant = [m for m in merges if m[2] >= first_data_index and m[0] < frame.height]
    if not relevant:
        return frame
    columns = {name: frame[name].to_list() for name in frame.columns}
    for r1, c1, r2, c2 in relevant:
        name = f"c{c1}"
        if name not in columns:
            continue
        value = columns[name][r1]
        for column in range(c1, c2 + 1):
            cells = columns.get(f"c{column}")
            if cells is None:
                continue
            for row in range(max(r1, first_data_index), min(r2, frame.height - 1) + 1):
                cells[row] = value
    return pl.DataFrame(columns, schema=frame.schema)


def extract_table(
    sheet: RawSheet,
    aliases: AliasTable,
    folder: str | None,
    file_name: str,
) -> SheetTable | UnrecognisedSheet | None:
    """None for a sheet with no content at all."""
    frame = sheet.frame
    hidden = not sheet.visible
    if frame.height == 0 or frame.width == 0:
        return None
    non_blank = ~pl.all_horizontal(pl.col(name).is_null() for name in frame.columns)
    if frame.select(non_blank.sum()).item() == 0:
        return None
    numbers = (
        pl.Series(ROW, sheet.line_numbers, dtype=pl.Int64)
        if sheet.line_numbers
        else pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True).alias(ROW)
    )
    match = find_header(_top_rows(sheet, HEADER_SCAN_ROWS), aliases)
    if match is None:
        return UnrecognisedSheet(
            sheet.name,
            _first_non_blank(frame),
            frame.select(non_blank.sum()).item(),
            "找不到表头（需含客户电话、报备时间/到访时间等列名）",
            frame.with_columns(numbers),
            hidden,
        )
    kind = recognise_kind(set(match.mapping), folder, (sheet.name, file_name))
    headers = [text if text is not None else "" for text in match.headers]
    if kind is None:
        return UnrecognisedSheet(
            sheet.name,
            [h for h in headers if h],
            frame.select(non_blank.sum()).item(),
            "无法判断表格类型（报备、来访、CRM客户、跟进、成交或裁决），请检查列名",
            frame.with_columns(numbers),
            hidden,
        )
    full = _fill_merges(frame, sheet.merges, match.row_index + 1).with_columns(numbers)
    return _table(sheet.name, full, match, kind, headers, hidden)


def _first_non_blank(frame: pl.DataFrame) -> list[str]:
    for row in frame.head(30).iter_rows():
        cells = [cell for cell in row if cell is not None]
        if cells:
            return [str(cell) for cell in cells]
    return []


_JSON_ESCAPES = {chr(code): f"\\u{code:04x}" for code in range(32)} | {
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    '"': '\\"',
    "\\": "\\\\",
}


def json_array(columns: list[str]) -> pl.Expr:
    """The cells of a row as a JSON array of strings and nulls, built without Python loops."""
    escaped = [
        pl.when(pl.col(name).is_null())
        .then(pl.lit("null"))
        .otherwise(
            pl.lit('"')
            + pl.col(name).str.replace_many(list(_JSON_ESCAPES), list(_JSON_ESCAPES.values()))
            + pl.lit('"')
        )
        for name in columns
    ]
    return pl.lit("[") + pl.concat_str(escaped, separator=",") + pl.lit("]")


def _table(
    name: str,
    full: pl.DataFrame,
    match: HeaderMatch,
    kind: str,
    headers: list[str],
    hidden: bool,
) -> SheetTable:
    title = " ".join(
        str(cell)
        for row in full.drop(ROW).head(match.row_index).iter_rows()
        for cell in row
        if cell is not None
    )
    data = full.slice(match.row_index + 1)
    cells = [name for name in data.columns if name != ROW]
    first_cell = pl.coalesce(cells).str.strip_chars_start()
    identity = [match.mapping[f] for f in ("phone", "deal_no", "room") if f in match.mapping]
    no_identity = pl.all_horizontal(pl.col(name).is_null() for name in identity)
    repeated_header = (
        pl.sum_horizontal(
            (pl.col(name) == headers[i]).fill_null(False).cast(pl.Int32)
            for i, name in enumerate(cells)
            if i < len(headers) and headers[i]
        )
        >= 2
    )
    blank = pl.all_horizontal(pl.col(name).is_null() for name in cells)
    label = (
        pl.when(blank)
        .then(pl.lit(SKIP_BLANK))
        .when(repeated_header)
        .then(pl.lit(SKIP_REPEATED_HEADER))
        .when(no_identity & first_cell.str.contains(_TOTALS.pattern))
        .then(pl.lit(SKIP_TOTALS))
        .when(no_identity & first_cell.str.contains(_NOTES.pattern))
        .then(pl.lit(SKIP_NOTES))
        .otherwise(None)
        .alias("__skip")
    )
    data = data.with_columns(label)
    skipped = Counter(
        dict(data.filter(pl.col("__skip").is_not_null())["__skip"].value_counts().iter_rows())
    )
    data = data.filter(pl.col("__skip").is_null())
    # A second phone column (客户电话 + 联系电话) holds more numbers of the same customer:
    # they claim together, like several numbers in one cell.
    extra_phones = [column for column, field in match.duplicates.items() if field == "phone"]
    table = data.select(
        pl.col(ROW),
        *(
            _combined(column, extra_phones if field == "phone" else []).alias(field)
            for field, column in match.mapping.items()
        ),
    )
    mapping = {field: headers[int(column[1:])] for field, column in match.mapping.items()}
    ignored = {
        headers[int(column[1:])]: field
        for column, field in match.duplicates.items()
        if column not in extra_phones
    }
    return SheetTable(
        name,
        kind,
        int(full[ROW][match.row_index]),
        headers,
        mapping,
        table,
        full,
        skipped,
        title,
        hidden,
        [headers[int(column[1:])] for column in extra_phones],
        ignored,
    )


def _combined(column: str, extra: list[str]) -> pl.Expr:
    cells = [pl.col(name).str.strip_chars() for name in (column, *extra)]
    return pl.concat_str(cells, separator=" / ", ignore_nulls=True) if extra else cells[0]
