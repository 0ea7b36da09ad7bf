"""Two-row merged headers (易居 联动 报备订单明细) and per-row channel columns (SPEC 4.1).

The workbook is written with openpyxl as the agency system exports it: group labels
merged over their columns in the first row, sub-headers in the second.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl

from reconcile.config.rules import Rules
from reconcile.ingest.files import discover, read_input
from reconcile.ingest.headers import AliasTable

GROUPS = ["报备信息", None, None, "客户信息", None, "经纪人信息", None, "带看信息"]
HEADER = ["报备发起日期", "所属机构", "门店", "姓名", "电话", "姓名", "电话", "带看日期"]
ROWS = [
    ["2026-11-18 10:15:32", "链家地产", "三里屯店", "张先生", "138****1234", "王磊",
     "13900001111", "2026-11-19"],
    ["2026-11-18 11:00:00", "我爱我家", "望京店", "李女士", "139****5678", "刘洋",
     "13900002222", None],
    ["2026-11-18 12:00:00", "-", None, "赵先生", "137****9012", "孙七", "13900003333", None],
    ["2026-11-18 13:00:00", "北京链家", None, "钱先生", "136****3456", "周八", None, None],
]  # fmt: skip


def _write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "报备订单"
    for row in (GROUPS, HEADER, *ROWS):
        sheet.append(row)
    for cells in ("A1:C1", "D1:E1", "F1:G1"):
        sheet.merge_cells(cells)
    book.save(path)


def _outcome(tmp_path: Path):
    _write(tmp_path / "inputs/channels/易居/报备订单明细.xlsx")
    rules = Rules.model_validate({"channels": {"链家": ["链家地产", "北京链家"]}})
    [item], _ = discover(tmp_path / "inputs")
    return read_input(item, rules, AliasTable.build(rules.columns))


def test_group_labels_qualify_the_sub_headers(tmp_path):
    [sheet] = _outcome(tmp_path).sheets
    assert sheet.kind == "report", "a report ledger stays a report sheet despite 带看 columns"
    assert sheet.header_row == 2
    assert {header: field for field, header in sheet.mapping.items()} == {
        "报备信息·报备发起日期": "reported_date",
        "报备信息·所属机构": "channel",
        "报备信息·门店": "branch",
        "客户信息·姓名": "customer_name",
        "客户信息·电话": "phone",
        "经纪人信息·姓名": "agent",
        "经纪人信息·电话": "agent_phone",
    }
    assert list(sheet.unused) == ["带看信息·带看日期"]


def test_each_row_names_its_channel_and_variants_fold(tmp_path):
    [sheet] = _outcome(tmp_path).sheets
    records = sheet.normalised.records.sort("row_no")
    assert records["channel"].to_list() == ["链家", "我爱我家", "易居", "链家"]
    assert records["agent"].to_list() == ["王磊", "刘洋", "孙七", "周八"]
    assert records["event_at"][0] == "2026-11-18T10:15:32+08:00"
    assert sheet.accepted == 4 and sheet.rejected == 0


def test_a_staff_members_number_under_a_group_label_is_unused_and_says_whose(tmp_path):
    """置业顾问信息 over 电话: the consultant's number, listed unused with why; before, it was
    a second number of the customer and a visit of its own."""
    path = tmp_path / "inputs" / "visits" / "来访.xlsx"
    path.parent.mkdir(parents=True)
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (
        ["到访时间", "客户信息", None, "置业顾问信息", None],
        [None, "姓名", "电话", "姓名", "电话"],
        ["2026-12-01 10:00", "张三", "13812345678", "王芳", "13700007777"],
    ):
        sheet.append(row)
    for cells in ("A1:A2", "B1:C1", "D1:E1"):
        sheet.merge_cells(cells)
    book.save(path)
    [item], _ = discover(tmp_path / "inputs")
    [read] = read_input(item, Rules(), AliasTable.build()).sheets
    assert read.kind == "visit" and read.normalised.records.height == 1
    assert read.unused == {"置业顾问信息·电话": "“置业顾问信息”下的电话不是客户的，不读取"}
