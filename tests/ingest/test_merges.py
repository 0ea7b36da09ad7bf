"""Merged cells: each cell of a range takes its top-left value, and nothing else changes."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from reconcile.ingest.sheet import _fill_merges

CELLS = st.one_of(st.none(), st.sampled_from(["甲", "乙", "合计", ""]))


def filled_cell_by_cell(frame: pl.DataFrame, merges: list[tuple]) -> pl.DataFrame:
    """The plain reading of the rule, range by range and cell by cell in Python lists."""
    columns = {name: frame[name].to_list() for name in frame.columns}
    for r1, c1, r2, c2 in merges:
        if r1 >= frame.height or f"c{c1}" not in columns:
            continue
        value = columns[f"c{c1}"][r1]
        for column in range(c1, c2 + 1):
            for row in range(r1, min(r2, frame.height - 1) + 1):
                if f"c{column}" in columns:
                    columns[f"c{column}"][row] = value
    return pl.DataFrame(columns, schema=frame.schema)


@st.composite
def sheets(draw: st.DrawFn) -> tuple[pl.DataFrame, list[tuple]]:
    height, width = draw(st.integers(1, 8)), draw(st.integers(1, 6))
    frame = pl.DataFrame(
        {f"c{i}": draw(st.lists(CELLS, min_size=height, max_size=height)) for i in range(width)},
        schema={f"c{i}": pl.String for i in range(width)},
    )
    corner = st.tuples(st.integers(0, height + 1), st.integers(0, width + 1))
    spans = st.tuples(corner, st.integers(0, 3), st.integers(0, 3))
    drawn = draw(st.lists(spans, max_size=4))
    merges = [(r, c, r + down, c + right) for (r, c), down, right in drawn]
    return frame, merges


@given(sheets())
def test_only_the_ranges_cells_change(sheet: tuple[pl.DataFrame, list[tuple]]) -> None:
    frame, merges = sheet
    assert _fill_merges(frame, merges).equals(filled_cell_by_cell(frame, merges))


def test_a_merged_title_over_a_long_sheet_touches_only_its_row() -> None:
    frame = pl.DataFrame({f"c{i}": ["标题", *map(str, range(9_999))] for i in range(3)})
    filled = _fill_merges(frame, [(0, 0, 0, 2)])
    assert filled.row(0) == ("标题", "标题", "标题") and filled[1:].equals(frame[1:])
