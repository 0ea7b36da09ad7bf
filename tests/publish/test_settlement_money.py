"""settlement.xlsx's money across nights (SPEC 6.6, 7): 累计应结, 已付, 本期应付, credit,
and the 对账 sheet of the agencies' claims.

The nights are scenario cases judged in memory (reconcile.testing.nights): the claims
case with a hostile channel added (its name a formula, claiming one of its deals), and
the payments case with a lump sum larger than what is owed (credit). Each workbook is
read back by python-calamine and openpyxl and recalculated by LibreOffice; its figures
must be settlement.csv's.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from reconcile.judge.vocabulary import ClaimCheck
from reconcile.publish.digest import FileNews, build_digest, money_by_channel
from reconcile.publish.report import settlement_mail
from reconcile.publish.settlement import NO_CHANNEL, NO_CLAIMS, SEVERITY, write_settlement
from reconcile.publish.workbook import MONEY_FORMAT, cell_text
from reconcile.testing.nights import MemoryWorkspace, Night
from tests.publish.conftest import recalculate, sheets
from tests.publish.test_settlement import CLAIM_HEADER, DETAIL_HEADER, SUMMARY_HEADER
from tests.scenarios.test_scenarios import CASES, load_case, run_in_memory

HOSTILE = '=HYPERLINK("x","y")'
REPORT_HEADER = ["客户姓名", "客户电话", "报备时间", "经纪人"]


def _with_files(night: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    return {**night, "files": {**night.get("files", {}), **files}}


def _extend(night: dict[str, Any], rel: str, sheet: str, rows: list[list]) -> dict[str, Any]:
    """The night with rows appended to one of its sheets."""
    return _with_files(night, {rel: {sheet: [*night["files"][rel][sheet], *rows]}})


def claims_night() -> tuple[MemoryWorkspace, Night]:
    """claims_three_way_checks' first night, plus a channel named like a formula whose
    agent is one too: it reports, brings and sells H-0001 and claims 9,000 of 10,000;
    and A-0106 paid in full, so 链家 has a line with nothing claimed and nothing owed."""
    case = load_case(CASES / "claims_three_way_checks.yaml")
    night = case["runs"][0]
    night = _extend(night, "payments/付款记录.xlsx", "付款", [
        ["链家", 10000, "2026-11-25", "A-0106", "FK-003"],
    ])  # fmt: skip
    night = _extend(night, "visits/来访登记.xlsx", "来访", [
        ["冯伟", "13112344444", "2026-11-12 15:00", HOSTILE, HOSTILE],
    ])  # fmt: skip
    night = _extend(night, "crm/成交.xlsx", "成交", [
        ["H-0001", "5-0501", "冯伟", "13112344444", "签约", "2026-11-17", "2026-11-21", 2000000],
    ])  # fmt: skip
    night = _with_files(night, {
        f"channels/{HOSTILE}/报备.xlsx": {"报备": [
            REPORT_HEADER, ["冯先生", "131****4444", "2026-11-10 10:00", HOSTILE],
        ]},
        f"statements/{HOSTILE}/请款单.xlsx": {"请款": [
            ["成交编号", "客户姓名", "请款金额", "请款日期"],
            ["H-0001", "冯伟", 9000, "2026-11-28"],
        ]},
    })  # fmt: skip
    ws = MemoryWorkspace(case["rules"])
    return ws, run_in_memory(ws, night)


def credit_night() -> tuple[MemoryWorkspace, Night]:
    """payments_partial_lump_sum_credit's second night with 25,000 more paid on 11-30:
    7,000 finishes A-0102, 18,000 is 链家's credit. No agency sent a claim."""
    case = load_case(CASES / "payments_partial_lump_sum_credit.yaml")
    ws = MemoryWorkspace(case["rules"])
    run_in_memory(ws, case["runs"][0])
    night = _with_files(case["runs"][1], {
        "payments/预付.xlsx": {"付款": [
            ["收款单位", "付款金额", "付款日期", "凭证号"], ["链家", 25000, "2026-11-30", "FK-009"],
        ]},
    })  # fmt: skip
    return ws, run_in_memory(ws, night)


NIGHTS = {"claims": claims_night, "credit": credit_night}


def settlement_csv(night: Night) -> list[dict[str, str]]:
    text = night.contract["settlement.csv"].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _table(rows: list[list]) -> list[dict[str, Any]]:
    """A sheet's rows under its header, up to the first row without a first cell."""
    found = []
    for row in rows[1:]:
        if row[0] in ("", None):
            break
        found.append(dict(zip(rows[0], row, strict=True)))
    return found


@pytest.fixture(scope="module")
def judged() -> dict[str, tuple[MemoryWorkspace, Night]]:
    return {name: make() for name, make in NIGHTS.items()}


@pytest.fixture(scope="module")
def books(judged, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("settlement_money")
    return {
        name: write_settlement(night.judgement, ws.rules, night.as_of, folder / f"{name}.xlsx")
        for name, (ws, night) in judged.items()
    }


def _edited(path: Path, folder: Path) -> Path:
    """Finance's copy: A-0104 marked paid 4,000 in 明细, A-0103's claim corrected to
    10,000 in 对账."""
    book = openpyxl.load_workbook(path)
    detail, claims = book["明细"], book["对账"]
    paid = DETAIL_HEADER.index("已付") + 1
    row = next(r for r in range(2, detail.max_row + 1) if detail.cell(r, 1).value == "A-0104")
    detail.cell(row, paid).value = 4000
    claimed = CLAIM_HEADER.index("请款金额") + 1
    row = next(r for r in range(2, claims.max_row + 1) if claims.cell(r, 2).value == "A-0103")
    claims.cell(row, claimed).value = 10000
    edited = folder / "finance_edited.xlsx"
    book.save(edited)
    return edited


@pytest.fixture(scope="module")
def recalculated(books, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("settlement_money_lo")
    return recalculate({**books, "edited": _edited(books["claims"], folder)}, folder)


def expected(night: Night) -> dict[str, dict[str, float]]:
    """Per channel as 汇总 shows it, from settlement.csv and the judge's credit."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    claiming = {row["channel"] for row in settlement_csv(night) if row["claimed"]}
    for row in settlement_csv(night):
        money = sums[cell_text(row["channel"]) if row["channel"] else NO_CHANNEL]
        paid, outstanding = float(row["paid"]), float(row["outstanding"])
        money["累计应结"] += paid + outstanding
        money["已付"] += paid
        money["本期应付"] += outstanding
        claimed = float(row["claimed"] or 0)
        money["请款金额"] += claimed
        # 对账's rows whose claim is not what is owed
        if row["channel"] in claiming and abs(claimed - outstanding) >= 0.005:
            assert row["check"] != "no_claim"  # 对账 leaves those out
            money["待核对笔数"] += 1
    for channel, credit in night.judgement.credit.items():
        sums[cell_text(channel)]["预付余额"] += credit
    return sums


# What the workbook says, recalculated -------------------------------------------------


@pytest.mark.parametrize("which", list(NIGHTS))
def test_summary_money_is_settlement_csv_per_channel(which, judged, recalculated) -> None:
    night = judged[which][1]
    rows = recalculated[which]["汇总"]
    assert rows[0] == SUMMARY_HEADER
    summary = {row["渠道"]: row for row in _table(rows)}
    want = expected(night)
    assert set(summary) == {*want, "合计"}
    columns = ("累计应结", "已付", "本期应付", "预付余额", "请款金额", "待核对笔数")
    for channel, money in want.items():
        got = summary[channel]
        if channel == NO_CHANNEL:  # no payment or claim names no channel
            assert [got[c] for c in columns[3:]] == ["", "", ""]
            columns_here = columns[:3]
        else:
            columns_here = columns
        for column in columns_here:
            assert got[column] == pytest.approx(money[column], abs=0.005), (channel, column)
    for column in columns:
        total = sum(money[column] for money in want.values())
        assert summary["合计"][column] == pytest.approx(total, abs=0.005), column


def test_the_figures_are_the_nights(judged, recalculated) -> None:
    """Not vacuous: the credit, the claims and what is owed are what the scenarios say."""
    claims = {row["渠道"]: row for row in _table(recalculated["claims"]["汇总"])}
    assert claims["链家"]["已付"] == 23000
    assert claims["链家"]["本期应付"] == 37000  # 60,000 due, 23,000 paid
    assert claims["链家"]["请款金额"] == 59000  # 4 lines claimed, 3 that match none
    assert claims["链家"]["待核对笔数"] == 7  # all 链家's rows in 对账 but A-0102's
    assert claims[cell_text(HOSTILE)]["本期应付"] == 10000
    assert claims[cell_text(HOSTILE)]["待核对笔数"] == 1
    assert claims["我爱我家"]["请款金额"] == 0  # sent no claim
    credit = {row["渠道"]: row for row in _table(recalculated["credit"]["汇总"])}
    assert credit["链家"]["预付余额"] == 18000
    assert credit["链家"]["本期应付"] == 0 and credit["链家"]["已付"] == 20000


@pytest.mark.parametrize("which", list(NIGHTS))
def test_detail_money_is_settlement_csv_row_by_row(which, judged, books) -> None:
    night = judged[which][1]
    rows = sheets(books[which])["明细"]
    assert rows[0] == DETAIL_HEADER
    lines = settlement_csv(night)[: len(rows) - 1]
    assert len(rows) - 1 == len(night.judgement.deals) > 0
    for row, line in zip(rows[1:], lines, strict=True):
        got = dict(zip(DETAIL_HEADER, row, strict=True))
        assert got["成交编号"] == line["deal_id"]
        assert got["渠道"] == cell_text(line["channel"])
        assert got["已付"] == pytest.approx(float(line["paid"]))
        assert got["本期应付"] == pytest.approx(float(line["outstanding"]))
        assert got["累计应结"] == pytest.approx(float(line["paid"]) + float(line["outstanding"]))
        assert got["请款金额"] == (float(line["claimed"]) if line["claimed"] else "")
        assert got["核对结果"] == ClaimCheck(line["check"]).label


def test_claims_sheet_has_every_row_of_a_claiming_channel(judged, recalculated) -> None:
    night = judged["claims"][1]
    rows = recalculated["claims"]["对账"]
    assert rows[0] == CLAIM_HEADER
    got = _table(rows)
    claiming = {row["channel"] for row in settlement_csv(night) if row["claimed"]}
    want = [
        row
        for row in settlement_csv(night)
        if row["channel"] in claiming and row["check"] != "no_claim"
    ]
    assert claiming == {"链家", HOSTILE}
    # 8 of 链家 (3 matching none; not A-0106, paid and unclaimed) and the hostile one
    assert len(got) == len(want) == 9
    paid_off = [r for r in settlement_csv(night) if r["deal_id"] == "A-0106"]
    assert [(r["channel"], r["check"]) for r in paid_off] == [("链家", "no_claim")]
    assert sorted((r["渠道"], r["成交编号"], r["核对结果"]) for r in got) == sorted(
        (cell_text(r["channel"]), r["deal_id"], ClaimCheck(r["check"]).label) for r in want
    )
    # By channel, then what finance must act on first.
    order = [(r["渠道"], SEVERITY.index(_check(r["核对结果"]))) for r in got]
    assert order == sorted(order)
    assert [r["核对结果"] for r in got if r["渠道"] == "链家"] == [
        "非本渠道成交", "非本渠道成交", "已无未付金额", "金额不符", "对应多笔成交",
        "应付未请款", "应付未请款", "相符",
    ]  # fmt: skip
    for row in got:
        claimed = row["请款金额"] if row["请款金额"] != "" else 0
        assert row["差额"] == pytest.approx(claimed - row["我方应付"], abs=0.005)  # recalculated
        assert row["处理建议"].startswith(_check(row["核对结果"]).advice)
    by_deal = {(r["渠道"], r["成交编号"]): r for r in got}
    differs = by_deal["链家", "A-0103"]
    assert (differs["请款金额"], differs["我方应付"], differs["差额"]) == (12000, 10000, 2000)
    assert differs["来源"] == "statements/链家/11月请款单.xlsx#请款明细!4"
    assert differs["对方成交金额"] == differs["我方成交金额"] == 3000000
    ambiguous = by_deal["链家", "钱九 135****9999"]
    assert "A-0105、A-0106" in ambiguous["处理建议"]
    assert by_deal[cell_text(HOSTILE), "H-0001"]["差额"] == -1000


def _check(label: str) -> ClaimCheck:
    return next(check for check in ClaimCheck if check.label == label)


def test_a_night_without_claims_says_so(recalculated) -> None:
    rows = recalculated["credit"]["对账"]
    assert rows[0] == CLAIM_HEADER
    assert rows[1][0] == NO_CLAIMS and len(rows) == 2


def test_finance_edits_move_the_totals(recalculated) -> None:
    """Live formulas: 4,000 more paid in 明细 lowers 本期应付; a corrected claim in 对账
    changes its 差额, the channel's 请款金额 and its count of lines to check."""
    before = {row["渠道"]: row for row in _table(recalculated["claims"]["汇总"])}["链家"]
    after = {row["渠道"]: row for row in _table(recalculated["edited"]["汇总"])}["链家"]
    assert after["已付"] == before["已付"] + 4000
    assert after["本期应付"] == before["本期应付"] - 4000
    assert after["累计应结"] == before["累计应结"]
    assert after["请款金额"] == before["请款金额"] - 2000
    assert after["待核对笔数"] == before["待核对笔数"] - 1
    claims = {r["成交编号"]: r for r in _table(recalculated["edited"]["对账"])}
    assert claims["A-0103"]["差额"] == 0


# Layout and hostile text ----------------------------------------------------------------


def test_hostile_names_stay_text(books) -> None:
    book = openpyxl.load_workbook(books["claims"])
    shown = cell_text(HOSTILE)
    assert shown == "'" + HOSTILE
    for name, column in (("汇总", "A"), ("明细", "H"), ("明细", "I"), ("对账", "A")):
        cells = [c for c in book[name][column] if c.value == shown]
        assert cells and all(c.data_type == "s" for c in cells), (name, column)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert "HYPERLINK" not in str(cell.value), (sheet.title, cell.coordinate)


def test_claims_sheet_layout_and_formulas(books) -> None:
    sheet = openpyxl.load_workbook(books["claims"])["对账"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:L{sheet.max_row}"
    letters = {title: chr(ord("A") + i) for i, title in enumerate(CLAIM_HEADER)}
    for row in range(2, sheet.max_row + 1):
        difference = sheet[f"{letters['差额']}{row}"]
        assert difference.value == f"=F{row}-H{row}"  # 请款金额 − 我方应付
        assert difference.number_format == MONEY_FORMAT
        for title in ("请款金额", "我方应付", "已付"):
            cell = sheet[f"{letters[title]}{row}"]
            assert cell.value is None or cell.number_format == MONEY_FORMAT, cell
    summary = openpyxl.load_workbook(books["claims"])["汇总"]
    assert summary.freeze_panes == "A2" and summary.auto_filter.ref
    for column in "HIJKL":  # 累计应结 … 请款金额
        assert summary[f"{column}2"].number_format == MONEY_FORMAT


# Finance's mail -------------------------------------------------------------------------


@pytest.mark.parametrize("which", list(NIGHTS))
def test_finance_mail_says_what_to_pay_per_channel(which, judged) -> None:
    ws, night = judged[which]
    channels = money_by_channel(night.judgement)
    digest = build_digest(night.judgement, None, FileNews(), ws.rules)
    subject, html, text = settlement_mail(digest, channels, "settlement.xlsx")
    want = expected(night)
    by_name = {c.channel: c for c in channels}
    assert set(by_name) == {name if name == NO_CHANNEL else _raw(name, night) for name in want}
    for channel in channels:
        money = want[cell_text(channel.channel) if channel.channel != NO_CHANNEL else NO_CHANNEL]
        assert channel.outstanding == pytest.approx(money["本期应付"], abs=0.005)
        assert f"本期应付 {channel.to_pay}" in text
    total = sum(money["本期应付"] for money in want.values())
    assert f"本期应付 ¥{total:,.2f}，" in subject
    assert "本期应付" in html and "累计应结减已付" in html and "累计应结减已付" in text


def _raw(shown: str, night: Night) -> str:
    """The channel whose cell text is `shown`."""
    return next(
        row["channel"] for row in settlement_csv(night) if cell_text(row["channel"]) == shown
    )


def test_finance_mail_shows_credit(judged) -> None:
    ws, night = judged["credit"]
    channels = money_by_channel(night.judgement)
    digest = build_digest(night.judgement, None, FileNews(), ws.rules)
    _, html, text = settlement_mail(digest, channels, "settlement.xlsx")
    assert "* 链家：本期应付 ¥0.00（预付余额 ¥18,000.00）；" in text
    assert "预付余额 ¥18,000.00" in html
