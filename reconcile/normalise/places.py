"""A row's `source`: its file, sheet and row as one text.

A spreadsheet row is `path#sheet!row`; a WeChat message is `path#line`, the line its
message starts on (SPEC 4.2). A message file has no sheet: its rows are stored under the
sheet name `MESSAGES`, the empty text, which no workbook or CSV sheet can have (Excel
refuses an empty sheet name, and a CSV's sheet is its file's stem).

Made where it is shown, from the row's place, and never held per row: the ledger gives
the judge `path`, `sheet` and `row_no` only, and a million report rows each holding
their `source` as well took ~70 MiB in the frames and ~200 bytes a row as objects.
"""

from __future__ import annotations

import polars as pl

MESSAGES = ""  # the sheet of a WeChat message file's rows


def sheet_label(sheet: str) -> str:
    """A sheet's name as people are shown it (a message file's rows have none)."""
    return "微信消息" if sheet == MESSAGES else sheet


def place_prefix(path: str, sheet: str) -> str:
    """The `source` of a row of `sheet` in `path`, but for its row number."""
    return f"{path}#" if sheet == MESSAGES else f"{path}#{sheet}!"


def place_text(order: tuple) -> str:
    """The `source` of a row at `order`, (path, sheet, row)."""
    path, sheet, row = order
    return f"{place_prefix(path, sheet)}{row}"


def place_expr() -> pl.Expr:
    """`place_text` of each row of a judge frame (its `path`, `sheet`, `row_no`)."""
    return (
        pl.when(pl.col("sheet") == MESSAGES)
        .then(pl.format("{}#{}", "path", "row_no"))
        .otherwise(pl.format("{}#{}!{}", "path", "sheet", "row_no"))
    )
