"""settlement.csv (SPEC 7, 6.6): one row per deals.csv row, what was paid and what is owed."""

from __future__ import annotations

import csv
import io
from datetime import date

from reconcile.publish.contract import DEAL_HEADER, SETTLEMENT_HEADER
from reconcile.testing.nights import MemoryWorkspace

RULES = "project: 测试项目\ncommission: {default: {fixed: 10000}}\n"
DEALS = [
    ["成交编号", "房号", "客户姓名", "客户电话", "成交阶段", "认购日期", "签约日期", "成交金额"],
    ["A-1", "1-101", "张三", "13812341234", "签约", "2026-11-15", "2026-11-19", "3000000"],
    ["A-2", "1-102", "李四", "13912345678", "签约", "2026-11-16", "2026-11-21", "3000000"],
    ["B-1", "2-201", "王五", "13712340000", "签约", "2026-11-16", "2026-11-21", "3000000"],
]


def _workspace() -> MemoryWorkspace:
    ws = MemoryWorkspace(RULES)
    ws.put(
        "channels/链家/报备.xlsx",
        {"报备": [["客户姓名", "客户电话", "报备时间", "经纪人"],
                  ["张先生", "138****1234", "2026-11-10 10:00", "王五"],
                  ["李女士", "139****5678", "2026-11-10 11:00", "王五"]]},
    )  # fmt: skip
    ws.put(
        "visits/来访.xlsx",
        {"来访": [["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"],
                  ["张三", "13812341234", "2026-11-12 15:00", "链家", "王五"],
                  ["李四", "13912345678", "2026-11-12 16:00", "链家", "王五"],
                  ["王五", "13712340000", "2026-11-12 17:00", None, None]]},
    )  # fmt: skip
    ws.put("crm/成交.xlsx", {"成交": DEALS})
    return ws


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_one_row_per_deal_line_in_deals_order_without_claims():
    ws = _workspace()
    ws.put(
        "payments/付款记录.csv",
        {"付款": [["渠道", "金额", "付款日期", "成交编号", "凭证号"],
                  ["链家", "2500", "2026-11-25", "A-2", "FK-1"]]},
    )  # fmt: skip
    night = ws.run(date(2026, 11, 30))
    deals = _rows(night.contract["deals.csv"])
    settlement = _rows(night.contract["settlement.csv"])
    assert tuple(deals[0]) == DEAL_HEADER
    assert tuple(settlement[0]) == SETTLEMENT_HEADER
    assert settlement[1:] == [
        ["A-1", "链家", "王五", "1", "10000.00", "0.00", "10000.00", "payable", "", "no_claim"],
        ["A-2", "链家", "王五", "1", "10000.00", "2500.00", "7500.00", "payable", "", "no_claim"],
        # A walk-in's deal: no channel, nothing due, no claim.
        ["B-1", "", "", "", "0.00", "0.00", "0.00", "not_payable", "", "no_claim"],
    ]
    assert [row[0] for row in settlement[1:]] == [row[0] for row in deals[1:]]
    # The same night again gives the same bytes.
    assert ws.run(date(2026, 11, 30)).contract["settlement.csv"] == night.contract["settlement.csv"]
