"""A row's `source`: its file, sheet and row as one text, `path#sheet!row`.

Made where it is shown, from the row's place, and never held per row: the ledger gives
the judge `path`, `sheet` and `row_no` only, and a million report rows each holding
their `source` as well took ~70 MiB in the frames and ~200 bytes a row as objects.
"""

from __future__ import annotations

import polars as pl


def place_text(order: tuple) -> str:
    """The `source` of a row at `order`, (path, sheet, row)."""
    path, sheet, row = order
    return f"{path}#{sheet}!{row}"


def place_expr() -> pl.Expr:
    """`place_text` of each row of a judge frame (its `path`, `sheet`, `row_no`)."""
    return pl.format("{}#{}!{}", "path", "sheet", "row_no")
