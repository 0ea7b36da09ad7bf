"""settlement.xlsx for finance, read back by python-calamine and recalculated by LibreOffice.

The workbook is written from real nights (tests/publish/conftest.py and the demo);
its 明细 must be deals.csv line by line, and 汇总's formulas, once LibreOffice has
calculated them, must give the sums deals.csv gives.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from reconcile.judge.vocabulary import ClaimCheck, DealStatus, OwnerType
from reconcile.publish.settlement import NO_CHANNEL, NO_CLAIMS, write_settlement
from reconcile.publish.text import masked_phone
from reconcile.publish.workbook import MONEY_FORMAT
from tests.publish.conftest import (
    AS_OF,
    HOSTILE_AGENT,
    HOSTILE_CHANNEL,
    Night,
    column_width,
    recalculate,
    run_night,
    sheets,
    write_inputs,
)

SHEETS = ["汇总", "明细", "对账", "暂缓", "调整"]
SUMMARY_HEADER = ["渠道", "成交笔数", "成交金额(按分成)", "可结佣", "暂缓结佣", "追回佣金"]
SUMMARY_HEADER += ["应付净额", "累计应结", "已付", "本期应付", "预付余额", "请款金额"]
SUMMARY_HEADER += ["待核对笔数"]
# 汇总's commission columns (成交笔数 … 应付净额), which deals.csv alone gives
COMMISSION = slice(1, 7)
DETAIL_HEADER = [
    "成交编号", "客户", "客户姓名", "阶段", "成交日期", "成交金额", "归属类型", "渠道",
    "经纪人", "分成比例", "计佣金额", "佣金", "状态", "原因",
    "累计应结", "已付", "本期应付", "请款金额", "核对结果",
]  # fmt: skip
CLAIM_HEADER = [
    "渠道", "成交编号", "客户", "对方成交金额", "我方成交金额", "请款金额", "已付",
    "我方应付", "差额", "核对结果", "处理建议", "来源",
]  # fmt: skip
FULL_MOBILE = re.compile(r"1[3-9]\d{9}")


def write(night: Night, name: str = "settlement.xlsx") -> Path:
    return write_settlement(night.judgement, night.rules, night.as_of, night.outputs / name)


@pytest.fixture(scope="module")
def garden(night: Night) -> Path:
    return write(night)


@pytest.fixture(scope="module")
def demo(demo_night: Night) -> Path:
    return write(demo_night)


@pytest.fixture(scope="module")
def recalculated(garden: Path, demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both workbooks after LibreOffice recalculated them (one soffice run)."""
    return recalculate({"garden": garden, "demo": demo}, tmp_path_factory.mktemp("lo"))


# What deals.csv says ------------------------------------------------------------------


def expected_summary(deals: list[dict[str, str]]) -> dict[str, list[float]]:
    """Per channel (and NO_CHANNEL): count, amount × share, payable, held, clawback, net."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * 6)
    for line in deals:
        row = sums[line["channel"] or NO_CHANNEL]
        commission = float(line["commission"])
        share = float(line["share"]) if line["share"] else 1.0
        row[0] += 1
        row[1] += float(line["amount"] or 0) * share
        for index, status in ((2, "payable"), (3, "held"), (4, "clawback")):
            if line["status"] == status:
                row[index] += commission
    for row in sums.values():
        row[5] = row[2] + row[4]
    return dict(sums)


def expected_money(settlement: list[dict[str, str]]) -> dict[str, list[float]]:
    """Per channel (and NO_CHANNEL), from settlement.csv: 累计应结 (paid + outstanding),
    已付, 本期应付 — claim-only rows owe and were paid nothing, so every row may count."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * 3)
    for row in settlement:
        paid, outstanding = float(row["paid"]), float(row["outstanding"])
        money = sums[row["channel"] or NO_CHANNEL]
        money[0] += paid + outstanding
        money[1] += paid
        money[2] += outstanding
    return dict(sums)


def shown(text: str) -> str:
    """A cell text as the workbook stores it (formula starts and a leading `'` get a `'`)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "'") else text


# Layout and contents ------------------------------------------------------------------


def test_sheets_and_headers(garden: Path) -> None:
    book = sheets(garden)
    assert list(book) == SHEETS
    assert book["汇总"][0] == SUMMARY_HEADER
    assert book["明细"][0] == DETAIL_HEADER
    assert book["对账"][0] == CLAIM_HEADER
    assert book["对账"][1][0] == NO_CLAIMS  # no agency sent a claim: said, not left empty
    assert book["暂缓"][0][:3] == ["成交编号", "客户", "渠道"]
    assert "暂缓说明" in book["暂缓"][0] and "申诉截止" in book["暂缓"][0]
    assert "说明" in book["调整"][0] and "调整类型" in book["调整"][0]


@pytest.mark.parametrize("which", ["garden", "demo"])
def test_detail_is_deals_csv_line_by_line(which: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(which)
    night = request.getfixturevalue({"garden": "night", "demo": "demo_night"}[which])
    deals = night.contract("deals")
    settled = night.contract("settlement")[: len(deals)]
    rows = sheets(path)["明细"][1:]
    assert len(rows) == len(deals) > 0
    for row, line, money in zip(rows, deals, settled, strict=True):
        got = dict(zip(DETAIL_HEADER, row, strict=True))
        assert got["成交编号"] == line["deal_id"]
        assert got["客户"] == masked_phone(line["customer_phone"])
        assert got["阶段"] == line["stage"]
        assert got["成交日期"].isoformat() == line["deal_date"][:10]
        assert got["成交金额"] == pytest.approx(float(line["amount"]))
        assert got["归属类型"] == OwnerType(line["owner_type"]).label
        assert got["渠道"] == shown(line["channel"])
        assert got["经纪人"] == shown(line["agent"])
        assert got["分成比例"] == (float(line["share"]) if line["share"] else "")
        assert got["佣金"] == pytest.approx(float(line["commission"]))
        assert got["状态"] == DealStatus(line["status"]).label
        codes = [c for c in line["reason_codes"].split(";") if c]
        assert [part.split(" ")[0] for part in got["原因"].split("；") if part] == codes
        assert money["deal_id"] == line["deal_id"]
        assert got["已付"] == pytest.approx(float(money["paid"]))
        assert got["本期应付"] == pytest.approx(float(money["outstanding"]))
        assert got["累计应结"] == pytest.approx(float(money["paid"]) + float(money["outstanding"]))
        assert got["请款金额"] == (float(money["claimed"]) if money["claimed"] else "")
        assert got["核对结果"] == ClaimCheck(money["check"]).label


def test_hostile_text_is_a_string_and_phones_are_masked(garden: Path) -> None:
    book = sheets(garden)
    detail = book["明细"]
    assert ["'" + HOSTILE_AGENT] == [row[8] for row in detail if row[0] == "D-1"]
    assert ["'" + HOSTILE_CHANNEL] == [row[7] for row in detail if row[0] == "D-9"]
    assert book["汇总"][1][0] == "'" + HOSTILE_CHANNEL
    for rows in book.values():
        for row in rows:
            for cell in row:
                assert not FULL_MOBILE.search(str(cell)), cell
    sheet = openpyxl.load_workbook(garden)["明细"]
    hostile = [c for c in sheet["I"] if c.value == "'" + HOSTILE_AGENT]
    assert hostile and all(c.data_type == "s" for c in hostile)


def test_formats_freeze_filters_and_pages(garden: Path) -> None:
    book = openpyxl.load_workbook(garden)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert sheet["A1"].font.b
        assert sheet.page_setup.orientation == "landscape"
        # xlsxwriter leaves out fitToWidth="1": absent is OOXML's default, 1
        assert int(sheet.page_setup.fitToWidth or 1) == 1
        assert int(sheet.page_setup.fitToHeight) == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$1"
        assert "测试花园" in sheet.oddHeader.left.text
        assert all(column_width(sheet, c) >= 6 for c in "ABC")
    detail = book["明细"]
    for column in "FKL":  # 成交金额, 计佣金额, 佣金
        assert detail[f"{column}2"].number_format == MONEY_FORMAT
    assert detail["J2"].number_format.endswith("%")
    assert detail["E2"].number_format == "yyyy-mm-dd"
    summary = book["汇总"]
    for column in "CDEFG":
        assert summary[f"{column}2"].number_format == MONEY_FORMAT
    assert book["暂缓"]["H2"].number_format == MONEY_FORMAT
    assert book["调整"]["H2"].number_format == MONEY_FORMAT


def test_summary_is_live_formulas_over_detail(garden: Path) -> None:
    summary = openpyxl.load_workbook(garden)["汇总"]
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    channel_rows = [row for row in rows if row[0] and row[1] is not None]
    assert [row[0] for row in channel_rows][-2:] == [NO_CHANNEL, "合计"]
    assert len(channel_rows) > 2, "the garden's channels come before those two rows"
    last = len(sheets(garden)["明细"])
    for index, row in enumerate(channel_rows[:-2], start=2):
        formulas = [*row[1:10], *row[11:]]  # all but 预付余额, the judge's credit
        assert all(isinstance(v, str) and v.startswith("=") for v in formulas), row
        assert row[10] == 0
        # The channel is this row's own A cell, the status the column's own header cell.
        match = f"EXACT('明细'!$H$2:$H${last},$A{index})"
        assert row[1] == f"=SUMPRODUCT({match}*1)"
        assert row[3] == (
            f"=SUMPRODUCT({match}*EXACT('明细'!$M$2:$M${last},D$1),'明细'!$L$2:$L${last})"
        )
        assert row[6] == f"=D{index}+F{index}"
        assert row[8] == f"=SUMPRODUCT({match}*1,'明细'!$P$2:$P${last})"  # 已付
        assert row[9] == f"=H{index}-I{index}"  # 本期应付 = 累计应结 − 已付
        claims = f"EXACT('对账'!$A$2:$A$2,$A{index})"  # 对账 has only its 无 line
        assert row[11] == f"=SUMPRODUCT({claims}*1,'对账'!$F$2:$F$2)"
        assert '"' not in "".join(formulas)  # no text constant at all
    assert channel_rows[-2][1] == f"=SUMPRODUCT((LEN('明细'!$H$2:$H${last})=0)*1)"
    total = channel_rows[-1]
    assert total[1] == f"=SUM(B2:B{len(channel_rows)})"


def test_held_lines_say_why_and_until_when(garden: Path) -> None:
    held = {row[0]: row for row in sheets(garden)["暂缓"][1:]}
    assert set(held) == {"D-2", "D-3"}
    header = sheets(garden)["暂缓"][0]
    h01 = dict(zip(header, held["D-2"], strict=True))
    assert h01["原因"] == "H01 申诉期内暂缓结佣"
    assert h01["佣金"] == 30000
    assert h01["申诉截止"].isoformat().startswith("2026-12-05")
    d01 = dict(zip(header, held["D-3"], strict=True))
    assert d01["原因"].startswith("D01 撞单待裁决")
    assert d01["渠道"] == ""
    assert d01["暂缓说明"].startswith("待裁决（申诉截止 2026-11-18 24:00）")
    assert "我爱我家、链家" in d01["暂缓说明"]
    assert "¥25,000.00" in d01["暂缓说明"]  # 2,500,000 × 1%: the provision finance keeps


def test_adjustments_list_clawbacks_and_rulings(garden: Path) -> None:
    book = sheets(garden)["调整"]
    rows = [dict(zip(book[0], row, strict=True)) for row in book[1:]]
    assert [(r["成交编号"], r["渠道"]) for r in rows] == [
        ("D-5", "房多多"),
        ("D-5", "链家"),
        ("D-6", "我爱我家"),
    ]
    assert rows[0]["调整类型"] == "按裁决分成" and rows[0]["分成比例"] == 0.5
    assert "50%" in rows[0]["说明"] and "rulings/裁决.xlsx#裁决!2" in rows[0]["说明"]
    assert rows[2]["调整类型"] == "退房追回" and rows[2]["佣金"] == -15000
    assert "追回佣金 ¥15,000.00" in rows[2]["说明"] and "2026-11-20" in rows[2]["说明"]


def test_a_night_without_deals_keeps_every_header_and_says_none(tmp_path: Path) -> None:
    early = run_night(write_inputs(tmp_path), date(2026, 11, 1))  # reports only: no deal yet
    assert early.contract("deals") == []
    book = sheets(write(early))
    assert list(book) == SHEETS
    for name in SHEETS:
        assert book[name][1][0] == (NO_CLAIMS if name == "对账" else "无"), name
    assert book["汇总"][2][0] == "合计"
    summary = openpyxl.load_workbook(write(early))["汇总"]
    assert summary["D3"].value == "=SUM(D2:D2)"


# LibreOffice ------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["garden", "demo"])
def test_libreoffice_totals_agree_with_deals_csv(
    which: str, recalculated: dict, request: pytest.FixtureRequest
) -> None:
    night = request.getfixturevalue({"garden": "night", "demo": "demo_night"}[which])
    expected = expected_summary(night.contract("deals"))
    money = expected_money(night.contract("settlement"))
    rows = recalculated[which]["汇总"]
    assert rows[0] == SUMMARY_HEADER
    by_name = {}
    for row in rows[1:]:
        if row[0] == "合计":
            total = row
            break
        by_name[row[0]] = row
    assert set(by_name) == {shown(name) if name != NO_CHANNEL else name for name in expected}
    for name, sums in expected.items():
        got = by_name[shown(name) if name != NO_CHANNEL else name]
        assert got[COMMISSION] == pytest.approx(sums, abs=0.005), name
        assert got[7:10] == pytest.approx(money[name], abs=0.005), name
    columns = list(zip(*expected.values(), strict=True))
    assert total[COMMISSION] == pytest.approx([sum(c) for c in columns], abs=0.005)
    paid = sum(float(row["paid"]) for row in night.contract("settlement"))
    assert total[8] == pytest.approx(paid, abs=0.005)
    check = next(row for row in rows if str(row[0]).startswith("核对"))
    assert check[-1] == pytest.approx(sum(float(d["commission"]) for d in night.contract("deals")))


# Determinism ------------------------------------------------------------------------


def test_the_same_night_gives_the_same_bytes(night: Night, garden: Path, tmp_path: Path) -> None:
    assert write(night, "again.xlsx").read_bytes() == garden.read_bytes()
    # A second workspace with the same inputs, its night run twice: the second run keeps
    # the file when nothing changed; with the file gone it writes it again, the same.
    root = write_inputs(tmp_path)
    first = write(run_night(root)).read_bytes()
    written = root / "outputs" / AS_OF.isoformat() / "settlement.xlsx"
    written.unlink()
    run_night(root)
    assert written.read_bytes() == first == garden.read_bytes()
