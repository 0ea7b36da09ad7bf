"""SPEC 6.8 on the agencies' receipts and the dispute report: each agency reads its own
extension requests (honoured with the new end, or R11), its queued reports' places and
the earliest date they could hold, never who holds or who is ahead; its customers' days
of protection left, red under 3; the admin reads the invalid requests and which expiring
protections may still be extended.

The nights are seed 004's B2B scenario (`tests/scenarios/cases/seed_004_…`), judged in
memory as the scenario test judges them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from reconcile.judge.vocabulary import Code
from reconcile.publish.digest import FileNews, build_digest
from reconcile.publish.receipts import EXTENSIONS, write_receipts
from reconcile.publish.workbook import DAYS_FORMAT
from reconcile.testing.nights import MemoryWorkspace, Night
from tests.publish.conftest import sheets
from tests.scenarios.test_scenarios import CASES, load_case, run_in_memory

CASE = load_case(CASES / "seed_004_b2b_protection_queue.yaml")


@pytest.fixture(scope="module")
def nights() -> tuple[MemoryWorkspace, list[Night]]:
    ws = MemoryWorkspace(CASE["rules"])
    found = [run_in_memory(ws, night) for night in CASE["runs"][:2]]
    found.append(ws.run(date(2026, 11, 29)))  # nothing new: 李总's protection nears its end
    return ws, found


def _receipts(ws: MemoryWorkspace, night: Night, folder: Path) -> dict[str, dict[str, list]]:
    written = write_receipts(night.judgement, ws.rules, night.as_of, folder)
    return {channel: sheets(path) for channel, path in written.items()}


def _cells(book: dict[str, list]) -> str:
    return " ".join(str(cell) for rows in book.values() for row in rows for cell in row)


def test_each_agency_reads_its_own_requests_and_queue_place(nights, tmp_path: Path) -> None:
    ws, (_, requested, _) = nights
    books = _receipts(ws, requested, tmp_path)
    lianjia = books["链家"][EXTENSIONS][1:]
    assert [row[0] for row in lianjia] == ["延期申请", "延期申请"]
    assert [row[3:5] for row in lianjia] == [["无效", ""], ["已延期", "2026-12-15 24:00"]]
    assert Code.R11 in lianjia[0][5] and lianjia[1][5] == ""
    rival = books["我爱我家"][EXTENSIONS][1:]
    assert [row[0] for row in rival] == ["延期申请", "排队", "排队"]
    assert rival[0][3] == "无效" and Code.R11 in rival[0][5]
    # 张总: behind 链家's protection, extended to 12-15; 李总: behind its end at 11-30.
    assert [row[5] for row in rival[1:]] == [
        "排队第 1 位；最早 2026-12-16 起可持有",
        "排队第 1 位；最早 2026-12-01 起可持有",
    ]
    reports = {row[0]: row for row in books["我爱我家"]["报备回执"][1:]}
    assert sorted(row[6] for row in reports.values()) == ["排队中", "排队中"]
    # Nobody learns who holds or who else asked: the holder's receipt never names the
    # queue or the rival's request, the queued agency never the holder.
    assert "我爱我家" not in _cells(books["链家"]) and "排队" not in _cells(books["链家"])
    assert "链家" not in _cells(books["我爱我家"])
    assert "房多多" not in _cells(books["链家"]) + _cells(books["我爱我家"])
    assert EXTENSIONS not in books["房多多"]  # its Q01 report is on 报备回执 only
    q01 = [row for row in books["房多多"]["报备回执"][1:] if Code.Q01 in row[7]]
    assert len(q01) == 1


def test_days_left_are_counted_from_the_night_and_red_under_three(nights, tmp_path) -> None:
    ws, (_, requested, late) = nights
    for night, want in ((requested, {"138****1234": 33, "139****5678": 18}),
                        (late, {"138****1234": 16, "139****5678": 1})):  # fmt: skip
        folder = tmp_path / night.as_of.isoformat()
        path = write_receipts(night.judgement, ws.rules, night.as_of, folder)["链家"]
        rows = sheets(path)["归属客户"]
        column = rows[0].index("剩余天数")
        assert {row[0]: row[column] for row in rows[1:]} == want
        sheet = openpyxl.load_workbook(path)["归属客户"]
        cell = sheet.cell(row=2, column=column + 1)
        assert cell.number_format == DAYS_FORMAT and "[Red][<3]" in DAYS_FORMAT


def test_the_dispute_report_lists_invalid_requests_and_who_may_still_extend(nights) -> None:
    ws, (_, requested, late) = nights
    invalid = build_digest(requested.judgement, None, FileNews(), ws.rules)
    section = next(s for s in invalid.sections if s.key == "invalid")
    cards = [card for group in section.groups for card in group.cards]
    assert sum(card.badge == "延期申请无效" for card in cards) == 2
    expiring = build_digest(late.judgement, None, FileNews(), ws.rules)
    section = next(s for s in expiring.sections if s.key == "expiring")
    cards = [card for group in section.groups for card in group.cards]
    # Only 李总 ends within 7 days of 11-29 (11-30 24:00); 链家 has not asked yet.
    assert [card.badge for card in cards] == ["报备保护将到期·可申请延期"]
    assert ("报备保护期至", "2026-11-30 24:00") in cards[0].fields
