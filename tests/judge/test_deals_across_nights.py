"""One flat across two nights, through real files, the ledger and the settlement workbook.

Night 1 the 明源 销售明细表 knows flat 5栋0802 by 楼栋 + 房号 only (认购, no number), and
房号 1001 in three buildings; night 2 the contract arrives twice — a 网签 export with the
合同编号 alone, and the 销售明细表 re-exported with the number and the room written
`5号楼0802室` — and a 交易变更明细表 refunds one 1001 (退房, no phone) and moves another to
1002 (换房). SPEC 6.5: one flat never gives two deals, so deals.csv has one row per flat
and commission is counted once; the settlement workbook, recalculated by LibreOffice,
totals what deals.csv says.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from reconcile.config.workspace import Workspace
from reconcile.ops.pipeline import run
from reconcile.testing import SheetSpec, write_xlsx
from tests.publish.conftest import recalculate

NIGHT_1, NIGHT_2 = date(2026, 11, 22), date(2026, 11, 30)
REPORT = ["客户姓名", "客户电话", "报备时间", "经纪人"]
VISIT = ["客户姓名", "客户电话", "到访时间", "渠道", "经纪人"]
DETAIL = ["楼栋", "单元", "房号", "业主姓名", "手机", "销售状态", "认购日期", "签约日期"]
DETAIL += ["成交总价"]


def _xlsx(path: Path, sheet: str, header: list[str], rows: list[list]) -> None:
    write_xlsx(path, [SheetSpec(sheet, header, rows)])


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("across_nights")
    inputs = root / "inputs"
    for folder in ("channels", "visits", "crm", "rulings"):
        (inputs / folder).mkdir(parents=True)
    (root / "rules.yaml").write_text("project: 山湖一号\n", encoding="utf-8")
    _xlsx(inputs / "channels/链家/报备.xlsx", "报备", REPORT, [
        ["张先生", "138****1234", "2026-11-10 10:00", "王五"],
        ["李女士", "139****5678", "2026-11-10 10:00", "王五"],
    ])  # fmt: skip
    _xlsx(inputs / "channels/我爱我家/报备.xlsx", "报备", REPORT, [
        ["赵先生", "136****4444", "2026-11-10 10:00", "赵六"],
    ])  # fmt: skip
    _xlsx(inputs / "visits/来访登记.xlsx", "来访", VISIT, [
        ["张三", "13812341234", "2026-11-12 15:00", "链家", "王五"],
        ["李四", "13955555678", "2026-11-12 16:00", "链家", "王五"],
        ["赵六", "13644444444", "2026-11-12 17:00", "我爱我家", "赵六"],
        ["钱七", "13577777777", "2026-11-12 18:00", None, None],
    ])  # fmt: skip
    signed = ["网签", "2026-11-14", "2026-11-15"]
    night_1_rows = [
        # the flat of the story: 楼栋 + 房号, no unit, no number
        ["5栋", None, "0802", "张三", "13812341234", "认购", "2026-11-20", None, 3_000_000],
        # 房号 1001 in three buildings: three deals
        ["1#", "1单元", "1001", "李四", "13955555678", *signed, 2_000_000],
        ["2#", "1单元", "1001", "赵六", "13644444444", *signed, 2_500_000],
        ["3#", "1单元", "1001", "钱七", "13577777777", *signed, 1_000_000],
    ]
    _xlsx(inputs / "crm/销售明细表.xlsx", "销售明细", DETAIL, _dated(night_1_rows))
    run(Workspace.open(root), NIGHT_1, send=False)

    _xlsx(
        inputs / "crm/网签合同.xlsx",
        "网签",
        ["合同编号", "客户姓名", "客户电话", "成交阶段", "签约日期", "合同总价"],
        _dated([["HT-2026-0802", "张三", "13812341234", "网签", "2026-11-28", 3_000_000]]),
    )
    _xlsx(
        inputs / "crm/销售明细表_11月底.xlsx",
        "销售明细",
        ["房间", "网签合同编号", "业主姓名", "手机", "销售状态", "认购日期", "签约日期", "总价"],
        _dated([["5号楼0802室", "HT-2026-0802", "张三", "13812341234", "网签", "2026-11-20",
                 "2026-11-28", 3_000_000]]),
    )  # fmt: skip
    # 交易变更明细表 (明源): no phone, joined by room. 1#-1单元-1001 is refunded after its
    # contract (claw back its commission); 2#-1单元-1001 moves to 1002 at a new price.
    _xlsx(
        inputs / "crm/交易变更明细表.xlsx",
        "交易变更",
        ["房间", "客户名称", "申请类型", "执行日期", "新房间", "新成交总价", "实际退房退款金额"],
        _dated([
            ["1#-1单元-1001", "李四", "退房", "2026-11-29", None, None, 2_000_000],
            ["2#-1单元-1001", "赵六", "换房", "2026-11-29", "2#-1单元-1002", 2_600_000, None],
        ]),
    )  # fmt: skip
    run(Workspace.open(root), NIGHT_2, send=False)
    return root


def _dated(rows: list[list]) -> list[list]:
    """Date cells as real dates, the way a clerk's workbook holds them."""
    return [
        [date.fromisoformat(v) if isinstance(v, str) and v[:2] == "20" and len(v) == 10 else v
         for v in row]
        for row in rows
    ]  # fmt: skip


def _deals(root: Path, night: date) -> list[dict[str, str]]:
    text = (root / "outputs" / night.isoformat() / "deals.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_night_one_names_the_flat_by_its_key(nights: Path) -> None:
    deals = {d["deal_id"]: d for d in _deals(nights, NIGHT_1)}
    assert set(deals) == {"5-802", "1-1-1001", "2-1-1001", "3-1-1001"}
    assert (deals["5-802"]["stage"], deals["5-802"]["status"]) == ("认购", "not_payable")


def test_night_two_has_one_payable_deal_for_the_flat(nights: Path) -> None:
    deals = _deals(nights, NIGHT_2)
    by_id = {d["deal_id"]: d for d in deals}
    assert len(deals) == len(by_id) == 4  # one row per flat (and sharing channel)
    flat = by_id["HT-2026-0802"]
    assert (flat["customer_phone"], flat["stage"]) == ("13812341234", "签约")
    assert (flat["channel"], flat["status"], flat["commission"]) == ("链家", "payable", "30000.00")
    assert flat["deal_date"] == "2026-11-20T00:00:00+08:00"  # the 认购 day, not the contract's
    refunded = by_id["1-1-1001"]  # 退房 known only from the 交易变更 sheet
    assert (refunded["status"], refunded["commission"], refunded["reason_codes"]) == (
        "clawback", "-20000.00", "X01",
    )  # fmt: skip
    moved = by_id["2-1-1001"]  # 换房 to 1002: the same deal, at its new price
    assert (moved["status"], moved["amount"], moved["commission"]) == (
        "payable", "2600000.00", "26000.00",
    )  # fmt: skip
    assert by_id["3-1-1001"]["reason_codes"] == "N01"  # 钱七 walked in: no commission
    total = sum(float(d["commission"]) for d in deals)
    assert total == pytest.approx(30_000 - 20_000 + 26_000)


def test_a_replay_of_night_one_still_knows_only_the_flat(nights: Path) -> None:
    run(Workspace.open(nights), NIGHT_1, send=False)
    assert {d["deal_id"] for d in _deals(nights, NIGHT_1)} == {
        "5-802", "1-1-1001", "2-1-1001", "3-1-1001",
    }  # fmt: skip


def test_the_recalculated_settlement_totals_deals_csv(nights: Path, tmp_path: Path) -> None:
    workbook = nights / "outputs" / NIGHT_2.isoformat() / "settlement.xlsx"
    summary = recalculate({"settlement": workbook}, tmp_path)["settlement"]["汇总"]
    header = summary[0]
    total = dict(zip(header, next(row for row in summary if row[0] == "合计"), strict=True))
    deals = _deals(nights, NIGHT_2)
    commission = sum(float(d["commission"]) for d in deals)
    payable = sum(float(d["commission"]) for d in deals if d["status"] == "payable")
    clawback = sum(float(d["commission"]) for d in deals if d["status"] == "clawback")
    assert total["成交笔数"] == len(deals)
    assert total["可结佣"] == pytest.approx(payable, abs=0.005) == 56_000
    assert total["应付净额"] == pytest.approx(commission, abs=0.005)
    assert commission == pytest.approx(payable + clawback) == 36_000  # nothing held
    check = next(row for row in summary if str(row[0]).startswith("核对"))
    assert check[-1] == pytest.approx(commission, abs=0.005)
