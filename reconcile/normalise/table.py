"""The table ingest hands to normalisation: a recognised sheet as canonical text columns.

It lives here, with its consumer, so that ingest imports normalise and never the
other way round.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

ROW = "__row"  # spreadsheet row number (CSV: line number), 1-based


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
    data_rows: int  # rows below the header, whatever became of them
    skipped: Counter = field(default_factory=Counter)
    title: str = ""  # text above the header (e.g. 山湖一号报备客户 2026年11月)
    hidden: bool = False
    extra_phone_headers: list[str] = field(default_factory=list)  # read as more numbers
    ignored_headers: dict[str, str] = field(default_factory=dict)  # repeated field: kept raw only
    # header text -> field it gives where the field's first column is blank in a row
    fallback_headers: dict[str, str] = field(default_factory=dict)
    # header text -> the fields its cells were split into (姓名(手机), 客户信息)
    combined: dict[str, list[str]] = field(default_factory=dict)
    # header text -> why it is not used (未识别的列, 本表不使用, 与…重复): kept in the raw cells
    unused: dict[str, str] = field(default_factory=dict)
    kept: pl.DataFrame | None = None  # what the ledger keeps, when not `cells` (RawSheet.kept)


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
