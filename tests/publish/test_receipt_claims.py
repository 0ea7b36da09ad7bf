"""Each agency's receipt shows its own money and claim checks (SPEC 6.6, 7), and nothing
of any other agency's.

The claims scenario (`tests/scenarios/cases/claims_three_way_checks.yaml`) is judged in
memory, its receipts written, and every cell read back with python-calamine.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from reconcile.publish.receipts import receipt_summaries, write_receipts
from reconcile.publish.workbook import display_width
from reconcile.testing.nights import MemoryWorkspace, Night
from tests.publish.conftest import column_width, sheets
from tests.scenarios.test_scenarios import CASES, load_case, run_in_memory

SETTLE_HEADER = [
    "成交编号",
    "客户",
    "状态",
    "佣金",
    "已付",
    "本期应付",
    "请款金额",
    "核对结果",
    "说明",
]
FULL_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")
NOT_OURS = ["非本渠道成交", "该成交不归属贵司"]
NO_LINE = ["", "", "", ""]  # a claim line matching none of the agency's: no figure of ours


def scenario_nights() -> tuple[MemoryWorkspace, list[Night]]:
    case = load_case(CASES / "claims_three_way_checks.yaml")
    ws = MemoryWorkspace(case["rules"])
    return ws, [run_in_memory(ws, night) for night in case["runs"]]


@pytest.fixture(scope="module")
def judged() -> tuple[MemoryWorkspace, list[Night]]:
    return scenario_nights()


def receipts(ws: MemoryWorkspace, night: Night, folder: Path) -> dict[str, dict[str, list[list]]]:
    paths = write_receipts(night.judgement, ws.rules, night.as_of, folder)
    return {channel: sheets(path) for channel, path in paths.items()}


def settle_rows(book: dict[str, list[list]]) -> dict[str, list]:
    header, *rows = book["结算"]
    assert header == SETTLE_HEADER
    return {row[0]: row[1:] for row in rows}


def overview(book: dict[str, list[list]]) -> dict[str, list]:
    return {row[0]: row[1:] for row in book["概要"][1:]}


def settlement_csv(night: Night) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(night.contract["settlement.csv"].decode("utf-8"))))


def cells(book: dict[str, list[list]]) -> list[str]:
    return ["" if cell is None else str(cell) for rows in book.values() for r in rows for cell in r]


MATCHES = ["相符", "请款金额与本期应付相符"]
PAID_UP = ["已无未付金额", "该笔已无未付金额，请勿重复请款"]
DIFFERS = ["金额不符", "请款金额与本期应付不符，请与开发商财务核对"]
UNCLAIMED = ["应付未请款", "尚未请款"]
AMBIGUOUS = ["对应多笔成交", "请补充成交编号或房号（可能对应：A-0105、A-0106）"]


def test_each_line_shows_its_money_and_check(judged, tmp_path: Path) -> None:
    ws, nights = judged
    rows = settle_rows(receipts(ws, nights[0], tmp_path)["链家"])
    payable = "可结佣"
    # 成交编号: 客户, 状态, 佣金, 已付, 本期应付, 请款金额, 核对结果, 说明
    assert rows == {
        "A-0101": ["138****1234", payable, 10000, 10000, 0, 10000, *PAID_UP],
        "A-0102": ["139****5678", payable, 10000, 3000, 7000, 7000, *MATCHES],
        "A-0103": ["137****0000", payable, 10000, 0, 10000, 12000, *DIFFERS],
        "A-0104": ["136****1111", payable, 10000, 0, 10000, "", *UNCLAIMED],
        "A-0105": ["135****9999", payable, 10000, 0, 10000, "", *UNCLAIMED],
        "A-0106": ["135****9999", payable, 10000, 0, 10000, "", *UNCLAIMED],
        # Its claim lines matching none of its lines: the deal as it wrote it.
        "B-0201": ["133****2222", *NO_LINE, 10000, *NOT_OURS],
        "Z-9999": ["130****0000", *NO_LINE, 10000, *NOT_OURS],
        "钱九 135****9999": ["135****9999", *NO_LINE, 10000, *AMBIGUOUS],
    }  # fmt: skip
    assert list(rows)[:6] == ["A-0101", "A-0102", "A-0103", "A-0104", "A-0105", "A-0106"]


def test_the_summary_is_the_sum_of_its_settlement_lines(judged, tmp_path: Path) -> None:
    ws, nights = judged
    for number, night in enumerate(nights):
        books = receipts(ws, night, tmp_path / str(number))
        lines = settlement_csv(night)
        for channel, book in books.items():
            mine = [row for row in lines if row["channel"] == channel]
            owed = round(sum(float(row["outstanding"]) for row in mine), 2)
            due = round(sum(float(row["paid"]) + float(row["outstanding"]) for row in mine), 2)
            summary = overview(book)
            assert summary["本期应付"][1] == owed, (night.as_of, channel)
            assert summary["累计应结"][1] == due and summary["已付"][1] == round(due - owed, 2)
            assert summary["预付余额"][1] == night.judgement.credit.get(channel, 0)
            shown = settle_rows(book)
            assert sum(row[4] or 0 for row in shown.values()) == owed
            claimed = round(sum(float(row["claimed"] or 0) for row in mine), 2)
            assert sum(row[5] or 0 for row in shown.values()) == claimed
            mail = receipt_summaries(night.judgement, [channel])[channel]
            assert mail.to_pay == owed
            # The mail counts the statuses its receipt's 报备回执 shows (状态, column G).
            shown_statuses = Counter(row[6] for row in book["报备回执"][1:] if row[6])
            counted = {status: n for status, n in mail.statuses if n}
            assert counted == dict(shown_statuses), (night.as_of, channel)
            assert mail.reports == sum(shown_statuses.values())
    first = overview(receipts(ws, nights[0], tmp_path / "again")["链家"])
    assert first["本期应付"] == ["", 47000] and first["已付"] == ["", 13000]
    assert first["请款核对·非本渠道成交"] == [2, 20000]


def test_a_later_statement_is_what_the_receipt_checks(judged, tmp_path: Path) -> None:
    ws, nights = judged
    rows = settle_rows(receipts(ws, nights[1], tmp_path)["链家"])
    assert rows["A-0103"][4:7] == [10000, 10000, "相符"]
    assert rows["A-0104"][4:] == [10000, 20000, *DIFFERS]


def test_no_receipt_shows_another_agency(judged, tmp_path: Path) -> None:
    ws, nights = judged
    for number, night in enumerate(nights):
        books = receipts(ws, night, tmp_path / str(number))
        assert set(books) == {"链家", "我爱我家"}
        for channel, book in books.items():
            others = set(books) - {channel}
            for cell in cells(book):
                assert not [name for name in others if name in cell], (channel, cell)
                assert not FULL_PHONE.search(cell), (channel, cell)
        # 我爱我家 has its own line only: none of 链家's claims, not even the one on its deal.
        ours = settle_rows(books["我爱我家"])
        assert ours == {"B-0201": ["133****2222", "可结佣", 10000, 0, 10000, "", "无请款", ""]}


def test_a_claim_found_by_phone_never_names_the_deal(tmp_path: Path) -> None:
    """A claim by phone and name only, on another channel's deal, shows as written: the
    deal number it was found to be would tell that the customer bought, and with whom.
    Two claim lines found to be one such deal stay two rows: one row would tell which
    flat the customer bought. An agency with claims and nothing else gets its receipt."""
    case = load_case(CASES / "claims_three_way_checks.yaml")
    ws = MemoryWorkspace(case["rules"])
    night = case["runs"][0]
    files = {rel: s for rel, s in night["files"].items() if not rel.startswith("statements/")}
    files["statements/德佑/请款单.xlsx"] = {
        "请款明细": [
            ["客户姓名", "客户电话", "房号", "请款金额", "请款日期"],
            ["周八", "133****2222", None, 10000, date(2026, 11, 28)],
            [None, None, "3-0301", 6000, date(2026, 11, 28)],
            # A walk-in's deal, claimed with the customer's whole number.
            ["吴十", "13212343333", None, 8000, date(2026, 11, 28)],
        ]
    }
    judged = run_in_memory(ws, {"as_of": night["as_of"], "files": files})
    claim = [row for row in settlement_csv(judged) if row["channel"] == "德佑"]
    assert [(row["deal_id"], row["claimed"], row["check"]) for row in claim] == [
        ("B-0201", "16000.00", "not_ours"),
        ("N-0301", "8000.00", "not_ours"),
    ]
    books = receipts(ws, judged, tmp_path)
    assert settle_rows(books["德佑"]) == {
        "周八 133****2222": ["133****2222", *NO_LINE, 10000, *NOT_OURS],
        "3-0301": ["", *NO_LINE, 6000, *NOT_OURS],
        "吴十 132****3333": ["132****3333", *NO_LINE, 8000, *NOT_OURS],
    }
    assert overview(books["德佑"])["本期应付"] == ["", 0]
    for cell in cells(books["德佑"]):
        assert not [text for text in ("B-0201", "N-0301", "我爱我家", "链家") if text in cell]
        assert not FULL_PHONE.search(cell), cell


def test_the_settle_sheet_prints_like_the_others(judged, tmp_path: Path) -> None:
    ws, nights = judged
    paths = write_receipts(nights[0].judgement, ws.rules, nights[0].as_of, tmp_path)
    sheet = openpyxl.load_workbook(paths["链家"])["结算"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:I10"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.fitToWidth or 1) == 1  # absent: OOXML's default, 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    note = sheet["I10"]
    assert note.value.startswith("请补充成交编号或房号") and note.alignment.wrap_text
    width = int(column_width(sheet, "I"))
    assert display_width(note.value) > width - 1  # too long for one line: it wraps
    assert sheet.row_dimensions[10].height >= 30
    assert sheet["F2"].number_format.startswith('"¥"')
