"""The in-memory nights read sheets exactly as the reader reads the files the writers write."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from reconcile.config.rules import parse_rules
from reconcile.ingest.readers import read_file
from reconcile.testing import Cell, SheetSpec, write_csv, write_xls, write_xlsx
from reconcile.testing.nights import raw_sheets

RULES = parse_rules("")
# Every kind of cell the writers write, ragged rows, blank and whitespace-only text, a
# blank header cell, a row left empty inside the sheet and cells past the header's end.
ROWS: list[list[Cell]] = [
    ["客户姓名", "客户电话", "", "报备时间", "金额", "备注"],
    ["张先生", 13812341234, None, datetime(2026, 11, 18, 10, 0), 3000, "  留空格 "],
    ["李四", "139****5678", "   ", date(2026, 11, 18), 3000.5, True],
    [None, None, None, None, None, None],
    ["王五", 0.1, 1 / 3, datetime(2026, 11, 18, 23, 59, 59), 1e15 + 0.5, False, "多一列"],
    ["赵六", -5, 12345678901234567, "2026-11-18 10:00", 123456.789],
    ["钱七"],
]


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
def test_sheets_in_memory_are_the_sheets_read_from_the_file(tmp_path: Path, suffix: str) -> None:
    rel = f"channels/链家/报备{suffix}"
    spec = SheetSpec("报备", header=[str(v) for v in ROWS[0]], rows=ROWS[1:])
    path = tmp_path / rel
    if suffix == ".csv":
        write_csv(path, spec)
    elif suffix == ".xls":
        write_xls(path, [spec])
    else:
        write_xlsx(path, [spec])
    read = read_file(path, RULES.limits)
    in_memory = raw_sheets(rel, {"报备": ROWS}, RULES)
    assert [(s.name, s.visible, s.line_numbers) for s in in_memory] == [
        (s.name, s.visible, s.line_numbers) for s in read
    ]
    for memory, real in zip(in_memory, read, strict=True):
        assert memory.frame.to_dicts() == real.frame.to_dicts()
        assert memory.frame.columns == real.frame.columns
