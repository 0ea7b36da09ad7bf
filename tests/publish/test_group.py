"""The group view from hand-written CSV contracts: hostile names stay text, a project
whose CSVs cannot be read is listed with the reason, the others are summed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl

from reconcile.config.rules import Rules
from reconcile.publish.group import (
    ProjectNight,
    channel_totals,
    read_view,
    render_digest,
    write_group_settlement,
)

NIGHT = date(2026, 11, 20)
HOSTILE = '=HYPERLINK("http://x")<b>\x1b[31m'
SETTLEMENT = "deal_id,channel,agent,share,commission,paid,outstanding,status,claimed,check\n"
REPORTS = (
    "report_id,channel,agent,customer_name,phone_pattern,reported_at,report_type,status,"
    "reason_codes,customer_phone,source\n"
)
DEALS = (
    "deal_id,customer_phone,stage,deal_date,amount,owner_type,channel,agent,share,commission,"
    "status,reason_codes\n"
)


def _night(folder: Path, settlement: str, reports: str = "", deals: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "settlement.csv").write_text(SETTLEMENT + settlement, encoding="utf-8")
    (folder / "reports.csv").write_text(REPORTS + reports, encoding="utf-8")
    (folder / "deals.csv").write_text(DEALS + deals, encoding="utf-8")
    return folder


def _view(tmp_path: Path):
    a = _night(
        tmp_path / "a",
        "D1,链家,张三,1,1000.00,400.00,600.00,payable,,no_claim\n"
        f'D2,"{HOSTILE.replace(chr(34), chr(34) * 2)}",李四,1,500.00,0.00,500.00,payable,'
        "800.00,amount_differs\n"
        "D3,,,1,0.00,0.00,0.00,not_payable,,no_claim\n",
        "r1,链家,张三,王*,138****0000,2026-11-01T10:00:00+08:00,,disputed,,,f#s!2\n",
        "D1,13800000000,签约,2026-11-02,1000000,channel,链家,张三,1,1000.00,held,\n",
    )
    b = _night(tmp_path / "b", "E1,链家,王五,1,300.00,300.00,0.00,payable,,ok\n")
    broken = tmp_path / "c"
    broken.mkdir()
    (broken / "settlement.csv").write_text("deal_id\nX\n", encoding="utf-8")
    nan = _night(tmp_path / "d", "F1,链家,赵六,1,nan,0.00,nan,payable,,no_claim\n")
    nights = [
        ProjectNight("甲", a),
        ProjectNight("乙", b),
        ProjectNight("丙", broken),
        ProjectNight("丁", nan),
        ProjectNight("戊", None, "配置错误：rules.yaml 第 2 行\x07"),
    ]
    return read_view("集团", NIGHT, nights)


def test_unreadable_projects_are_listed_with_the_reason_and_left_out(tmp_path):
    view = _view(tmp_path)
    failed = {p.name: p.error for p in view.failed}
    assert set(failed) == {"丙", "丁", "戊"}
    assert "无法读取" in failed["丙"] and "KeyError" in failed["丙"]
    assert "金额不是有限的数字" in failed["丁"]
    assert failed["戊"] == "配置错误：rules.yaml 第 2 行"  # no control character
    assert [p.name for p in view.projects][:3] == sorted(failed)
    first = next(p for p in view.projects if p.name == "甲")
    assert (first.reports, first.disputed, first.held, first.claim_issues) == (1, 1, 1, 1)
    assert first.outstanding == 1100.0
    assert [(line.channel, line.project, line.deal_id) for line in view.lines] == [
        (HOSTILE, "甲", "D2"),
        ("链家", "乙", "E1"),
        ("链家", "甲", "D1"),
    ]
    assert [
        (t.channel, t.projects, t.due, t.paid, t.outstanding) for t in channel_totals(view)
    ] == [
        ('=HYPERLINK("http://x")<b> [31m', 1, "¥500.00", "¥0.00", "¥500.00"),
        ("链家", 2, "¥1,300.00", "¥700.00", "¥600.00"),
    ]


def test_hostile_names_are_text_in_the_workbook_and_escaped_in_the_digest(tmp_path):
    view = _view(tmp_path)
    path = write_group_settlement(view, Rules(), tmp_path / "group.xlsx")
    book = openpyxl.load_workbook(path)
    names = [book["汇总"].cell(row, 1) for row in (2, 3)]
    assert [cell.value for cell in names] == ['\'=HYPERLINK("http://x")<b>[31m', "链家"]
    assert all(cell.data_type == "s" for cell in names)
    formulas = [book["汇总"].cell(2, column).value for column in range(2, 7)]
    assert all(isinstance(f, str) and f.startswith("=SUMPRODUCT(") for f in formulas)
    assert not any("HYPERLINK" in f for f in formulas)
    detail = book["明细"]
    assert detail.cell(2, 1).value == names[0].value  # 明细 and 汇总 hold one text: EXACT
    html, text = render_digest(view, "x.xlsx")
    assert '>=HYPERLINK("http://x")&lt;b&gt; [31m</td>' in html and "\x1b" not in html
    assert "\x1b" not in text and "\x07" not in text
