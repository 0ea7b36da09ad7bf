from datetime import datetime

import polars as pl
import pytest

from reconcile.normalise.records import _iso, content_keys, ids_from_keys


@pytest.mark.parametrize(
    ("timezone", "values", "expected"),
    [
        (
            "Asia/Shanghai",
            [datetime(2026, 11, 18, 17, 20), None],
            ["2026-11-18T17:20:00+08:00", None],
        ),
        # A zone with summer time: each value carries its own offset.
        (
            "Europe/Berlin",
            [datetime(2026, 1, 10, 9), datetime(2026, 7, 10, 9)],
            ["2026-01-10T09:00:00+01:00", "2026-07-10T09:00:00+02:00"],
        ),
        ("America/St_Johns", [datetime(2026, 1, 10, 9)], ["2026-01-10T09:00:00-03:30"]),
        ("Asia/Shanghai", [None], [None]),
    ],
)
def test_iso_timestamps_carry_the_right_offset(timezone, values, expected):
    assert _iso(pl.Series(values, dtype=pl.Datetime("us")), timezone).to_list() == expected


def test_ids_are_pinned():
    """Ids are the ledger's keys: a change here would re-add every row ever read."""
    frame = pl.DataFrame(
        {
            "channel": ["链家"],
            "agent": ["王五"],
            "phone_pattern": ["138****1234"],
            "surname_key": ["张"],
            "event_at": ["2026-11-18T17:20:00+08:00"],
        }
    )
    fields = ("channel", "agent", "phone_pattern", "surname_key", "event_at")
    assert ids_from_keys(content_keys(frame, "report", fields)).to_list() == [
        "284c0a49649a5b72f27e"
    ]


def test_a_sheet_with_no_rejected_row_has_the_error_columns_of_one_with(tmp_path):
    # Chunks of one sheet are concatenated: their error frames must agree column for column.
    from reconcile.config.rules import Rules
    from reconcile.ingest.files import classify_path, read_input
    from reconcile.ingest.headers import AliasTable
    from reconcile.normalise.records import ERROR_COLUMNS
    from reconcile.testing import SheetSpec, write_xlsx

    header = ["客户姓名", "客户电话", "报备时间", "经纪人"]
    good = [["张三", "138****0001", "2026-11-18 10:00", "王五"]]
    errors = []
    for name, rows in (("good.xlsx", good), ("bad.xlsx", [*good, ["李四", "不是号码", "", ""]])):
        path = tmp_path / "inputs/channels/链家" / name
        write_xlsx(path, [SheetSpec("报备", header, rows)])
        [sheet] = read_input(classify_path(path), Rules(), AliasTable.build()).sheets
        assert sheet.normalised is not None
        errors.append(sheet.normalised.errors)
    assert [frame.height for frame in errors] == [0, 1]
    assert errors[0].schema == errors[1].schema
    assert tuple(errors[0].columns) == ERROR_COLUMNS


@pytest.mark.parametrize(
    ("folder", "hinted"), [("inputs/channels/链家", True), ("inputs/visits", False)]
)
def test_an_agencys_table_read_as_visits_says_it_lacks_a_report_time(tmp_path, folder, hinted):
    """A 临报 table with 带看时间 and no 报备时间 is a visit sheet (SPEC 4.1); in an agency's
    folder its masked numbers' rejection says what would make it a report table."""
    from reconcile.config.rules import Rules
    from reconcile.ingest.files import classify_path, read_input
    from reconcile.ingest.headers import AliasTable
    from reconcile.testing import SheetSpec, write_xlsx

    path = tmp_path / folder / "临报表.xlsx"
    header = ["客户姓名", "电话（前三后四）", "带看时间", "经纪人"]
    write_xlsx(
        path, [SheetSpec("临报", header, [["张先生", "138****1234", "2026-11-18 15:00", "王五"]])]
    )
    [sheet] = read_input(classify_path(path), Rules(), AliasTable.build()).sheets
    assert sheet.kind == "visit" and sheet.normalised is not None
    [reason] = sheet.normalised.errors["reason"].to_list()
    assert reason.startswith("隐藏号码只能用于渠道报备")
    assert ("请加一列“报备时间”" in reason) is hinted


def test_a_column_decides_its_date_order_whole_not_chunk_by_chunk(tmp_path, monkeypatch):
    """Sheets are normalised in chunks; which of a slashed date's numbers is the month is
    the whole column's to say, so a chunk of 5/1/2026-like dates alone is still read."""
    from reconcile.config.rules import Rules
    from reconcile.ingest import files
    from reconcile.ingest.headers import AliasTable
    from reconcile.testing import SheetSpec, write_csv

    monkeypatch.setattr(files, "CHUNK_ROWS", 5)
    rows = [["张先生", f"138****{i:04d}", "11/18/2026 10:00", "王五"] for i in range(5)]
    rows += [["李女士", f"139****{i:04d}", "12/1/2026 09:00", "王五"] for i in range(20)]
    path = write_csv(
        tmp_path / "inputs/channels/链家/报备_en.csv",
        SheetSpec("报备", ["客户姓名", "客户电话", "报备时间", "经纪人"], rows),
    )
    [sheet] = files.read_input(files.classify_path(path), Rules(), AliasTable.build()).sheets
    assert sheet.rejected == 0 and sheet.accepted == 25
    assert set(sheet.normalised.records["event_at"].to_list()) == {
        "2026-11-18T10:00:00+08:00",
        "2026-12-01T09:00:00+08:00",
    }
