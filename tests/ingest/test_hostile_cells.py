"""Every cell is hostile: no content, however odd, makes reading a file raise."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.config.rules import Rules
from reconcile.ingest.files import classify_path, read_input
from reconcile.ingest.headers import AliasTable
from reconcile.testing import SheetSpec, write_csv, write_xlsx

HEADERS = [
    "客户姓名",
    "客户电话",
    "报备时间",
    "经纪人",
    "渠道",
    "到访时间",
    "成交总价",
    "房号",
    "状态",
]
_cell_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "=1/0",
            "@SUM(A1)",
            "+86",
            "-",
            "1.38123E+10",
            "138****1234",
            "合计",
            "11月31日",
            "下午25点",
            "0",
            "-1",
            "NaN",
            "inf",
            "\x00",
            "\u202e",
            "　",
        ]
    ),
)
_cell = st.one_of(
    st.none(),
    _cell_text,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
)
_counter = itertools.count()


def _check_no_raise(path):
    outcome = read_input(classify_path(path), Rules(), AliasTable.build())
    for sheet in outcome.sheets:
        if sheet.normalised is not None:
            skipped = sum(sheet.skipped.values())
            assert sheet.rows_in == sheet.accepted + sheet.rejected + skipped
            assert all(sheet.normalised.errors["reason"].to_list())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=2, max_size=6, unique=True),
    rows=st.lists(st.lists(_cell, min_size=0, max_size=7), max_size=12),
)
def test_any_cells_in_a_workbook(tmp_path, header, rows):
    path = tmp_path / f"inputs/channels/链家/f{next(_counter)}.xlsx"
    write_xlsx(path, [SheetSpec("报备", header, rows)])
    _check_no_raise(path)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=2, max_size=6, unique=True),
    rows=st.lists(st.lists(_cell_text, max_size=7), max_size=12),
)
def test_any_cells_in_a_csv(tmp_path, header, rows):
    path = tmp_path / f"inputs/visits/f{next(_counter)}.csv"
    try:
        write_csv(path, SheetSpec("来访", header, rows), "utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be written at all
        return
    _check_no_raise(path)
