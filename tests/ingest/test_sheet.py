import json

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from reconcile.ingest.headers import AliasTable
from reconcile.ingest.readers import RawSheet
from reconcile.ingest.sheet import (
    SKIP_BLANK,
    SKIP_NOTES,
    SKIP_OTHER_PROJECT,
    SKIP_REPEATED_HEADER,
    SKIP_TOTALS,
    UnrecognisedSheet,
    extract_table,
    other_projects,
)
from reconcile.normalise.table import SheetTable, json_array


def _sheet(rows, merges=()):
    width = max(len(r) for r in rows)
    columns = {f"c{i}": [r[i] if i < len(r) else None for r in rows] for i in range(width)}
    frame = pl.DataFrame(columns, schema={name: pl.String for name in columns})
    return RawSheet("报备", True, frame, list(merges))


def test_blank_totals_notes_and_repeated_headers_are_skipped_with_a_reason():
    table = extract_table(
        _sheet(
            [
                ["客户姓名", "客户电话", "报备时间"],
                ["张三", "138****1234", "2026-11-18 10:00"],
                [None, None, None],
                ["客户姓名", "客户电话", "报备时间"],
                ["李四", None, "2026-11-18 11:00"],
                ["合计", None, "2组"],
                ["备注：号码前三后四", None, None],
            ]
        ),
        AliasTable.build(),
        "channels",
        "x",
    )
    assert isinstance(table, SheetTable)
    assert dict(table.skipped) == {
        SKIP_BLANK: 1,
        SKIP_REPEATED_HEADER: 1,
        SKIP_TOTALS: 1,
        SKIP_NOTES: 1,
    }
    assert table.frame["__row"].to_list() == [2, 5], (
        "a data row without a phone is kept (as an error)"
    )


def test_a_totals_word_in_a_data_row_with_a_phone_is_data():
    table = extract_table(
        _sheet(
            [
                ["备注", "客户电话", "报备时间"],
                ["合计两组", "138****1234", "2026-11-18"],
            ]
        ),
        AliasTable.build(),
        "channels",
        "x",
    )
    assert table.frame.height == 1 and not table.skipped


def test_merged_cells_take_their_top_left_value():
    table = extract_table(
        _sheet(
            [
                ["客户姓名", "客户电话", "报备时间", "经纪人"],
                ["张三", "138****1234", "2026-11-18", "王五"],
                ["李四", "139****1234", "2026-11-18", None],
                ["赵六", "137****1234", "2026-11-18", None],
            ],
            merges=[(1, 3, 3, 3)],
        ),
        AliasTable.build(),
        "channels",
        "x",
    )
    assert table.frame["agent"].to_list() == ["王五"] * 3


def test_an_unrecognised_sheet_is_listed_with_its_headers():
    result = extract_table(
        _sheet([["月份", "来访组数"], ["11月", "120"]]), AliasTable.build(), None, "x"
    )
    assert isinstance(result, UnrecognisedSheet)
    assert result.headers == ["月份", "来访组数"] and result.rows == 2


def test_an_empty_sheet_is_nothing():
    assert extract_table(_sheet([[None, None]]), AliasTable.build(), None, "x") is None


@given(st.lists(st.lists(st.one_of(st.none(), st.text()), min_size=2, max_size=2), min_size=1))
def test_json_array_round_trips_any_cell_text(rows):
    frame = pl.DataFrame(
        {"a": [r[0] for r in rows], "b": [r[1] for r in rows]},
        schema={"a": pl.String, "b": pl.String},
    )
    encoded = frame.select(json_array(["a", "b"])).to_series().to_list()
    assert [json.loads(text) for text in encoded] == rows


def test_a_second_phone_column_adds_numbers_and_other_repeats_are_reported():
    table = extract_table(
        _sheet(
            [
                ["客户姓名", "客户电话", "联系电话", "报备时间", "姓名"],
                ["张三", "138****1234", "139****5678", "2026-11-18", "张三丰"],
                ["李四", "137****1111", None, "2026-11-18", None],
                ["王五", None, None, "2026-11-18", None],
            ]
        ),
        AliasTable.build(),
        "channels",
        "x",
    )
    assert table.frame["phone"].to_list()[:2] == ["138****1234 / 139****5678", "137****1111"]
    assert table.frame["phone"][2] in (None, "")
    assert table.extra_phone_headers == ["联系电话"]
    assert table.ignored_headers == {"姓名": "customer_name"}


def test_a_referrer_stands_for_the_agent_only_where_the_report_sheet_has_none():
    """A 推荐 list's 推荐人 and 推荐人电话 are the report's agent and agent_phone
    (`Kind.stands_for`); beside a 经纪人 column they are not read."""
    header = ["推荐人", "推荐人电话", "推荐时间", "客户电话"]
    row = ["王五", "13900000001", "2026-11-18 10:00", "138****1234"]
    table = extract_table(_sheet([header, row]), AliasTable.build(), "channels", "推荐")
    assert isinstance(table, SheetTable) and table.kind == "report"
    assert table.mapping["agent"] == "推荐人" and table.mapping["agent_phone"] == "推荐人电话"

    header = ["经纪人", "推荐人", "推荐时间", "客户电话"]
    table = extract_table(
        _sheet([header, ["赵六", *row[:1], *row[2:]]]), AliasTable.build(), "channels", "推荐"
    )
    assert isinstance(table, SheetTable)
    assert table.mapping["agent"] == "经纪人" and "agent_phone" not in table.mapping
    assert "推荐人" in table.unused


def _projects(*projects, header="项目"):
    rows = [[header, "客户姓名", "客户电话", "报备时间"]]
    rows += [[p, "张三", "138****1234", "2026-11-18 10:00"] for p in projects]
    table = extract_table(_sheet(rows), AliasTable.build(), "channels", "报备")
    assert isinstance(table, SheetTable)
    return table


def test_rows_of_other_projects_are_skipped_where_the_sheet_names_this_one():
    table, _ = other_projects(_projects("山湖一号", "云栖府", None, "【山湖一号】二期"), "山湖一号")
    assert table.frame["project"].to_list() == ["山湖一号", None, "【山湖一号】二期"]
    assert table.skipped == {SKIP_OTHER_PROJECT: 1}


def test_a_sheet_naming_this_project_nowhere_is_kept_whole():
    # 山湖壹号 may be this project spelled otherwise: nothing is dropped on a guess
    whole = _projects("山湖壹号", "云栖府")
    assert other_projects(whole, "山湖一号")[0] is whole
    assert other_projects(_projects("云栖府"), None)[0].frame.height == 1


def test_an_intended_project_is_no_project_the_row_belongs_to():
    wanted = _projects("山湖一号", "洋房", header="意向楼盘")
    assert other_projects(wanted, "山湖一号")[0] is wanted


def test_a_sheet_naming_only_other_projects_is_read_whole_with_a_note():
    table, note = other_projects(_projects("山湖壹号", "云栖府", "山湖壹号"), "山湖一号")
    assert table.frame.height == 3 and not table.skipped
    assert note is not None and "云栖府、山湖壹号" in note and "本项目“山湖一号”" in note
    assert other_projects(_projects("山湖一号", "云栖府"), "山湖一号")[1] is None
    assert other_projects(_projects(None, None), "山湖一号")[1] is None
    assert other_projects(_projects("洋房", header="意向楼盘"), "山湖一号")[1] is None
