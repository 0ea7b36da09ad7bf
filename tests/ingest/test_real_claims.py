"""Agencies' claims and finance's payment ledgers in their real layouts (SPEC 6.6).

docs/real-exports.md, "Agencies' claims (请款单/对账单)" and "Payment records (付款记录)",
lists where each layout comes from. Each case here writes one of them as the clerk
receives it (title rows, merged title and group cells, a 序号 column, a 合计 row at the
bottom, amounts typed with ¥ and thousands separators, masked phones, the sheet named
as the system names it; the customers are invented) and reads it through the
product's own ingest: the kind, the field of every header or why it is unused, the
totals row skipped rather than claimed, and the amounts and deal ids of every line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from reconcile.cli.main import main
from reconcile.config.workspace import Workspace
from reconcile.ingest.files import SheetOutcome, discover, read_input
from reconcile.ingest.headers import AliasTable, normalise_header
from reconcile.ingest.sheet import SKIP_TOTALS
from reconcile.testing import SheetSpec, write_csv, write_xls, write_xlsx

# Why a header is left unused, as `check` words it.
UNKNOWN = "未识别的列"
ROW_NUMBER = "序号列"
OTHER_KIND = "本表类型不使用"
REPEATED = "列重复"
_REASONS = (UNKNOWN, ROW_NUMBER, OTHER_KIND, REPEATED)

Writer = Callable[[Path, SheetSpec], Path]


def _xlsx(path: Path, spec: SheetSpec) -> Path:
    return write_xlsx(path, [spec])


def _xls(path: Path, spec: SheetSpec) -> Path:
    return write_xls(path, [spec])


def _csv(path: Path, spec: SheetSpec) -> Path:
    return write_csv(path, spec, encoding="utf-8-sig")  # Excel's "CSV UTF-8"


@dataclass(frozen=True)
class Layout:
    """One real layout: where the clerk drops it, and what it must read as."""

    id: str
    path: str  # inside inputs/
    write: Writer
    spec: SheetSpec
    kind: str
    columns: dict[str, str]  # header as `check` shows it -> field, or why it is unused
    # spreadsheet row -> the ledger data the line must carry (amounts in yuan)
    lines: dict[int, dict[str, object]]
    amount_field: str  # `data` key of the line's money
    total: float  # what the file's own 合计 row says the lines add up to
    channel: str
    skipped: dict[str, int] = field(default_factory=lambda: {SKIP_TOTALS: 1})


# The layouts' cells as the exports write them, one spreadsheet row to a line or two.
# fmt: off

# 易居 PMLS template/项目中介服务费结算明细表.xlsx: a blank first row, the title merged
# across A2:K2, 基本信息 | 实际开票 merged over the header, a 合计 row of SUMs.
PMLS_SERVICE_FEE = Layout(
    id="eju_pmls_service_fee_settlement",
    path="statements/上海安家房产/项目中介服务费结算明细表.xlsx",
    write=_xlsx,
    spec=SheetSpec(
        "Sheet1",
        ["序号", "楼室号", "客户姓名", "签约面积", "签约金额", "中介名称", "结算比例",
         "合同约定金额", "实际开票金额", "税额", "金额"],
        [
            [1, "5#1101", "王晓明", 89.5, "2,350,000.00", "上海安家房产", "2.5%", "58,750.00",
             "58,750.00", "3,325.47", "55,424.53"],
            [2, "5#1203", "陈*", 120.12, "¥3,100,000", "上海安家房产", "2.5%", "77,500.00",
             "¥77,500.00", "4,386.79", "73,113.21"],
        ],
        title=[[None], ["**项目中介服务费结算明细表"]],
        header_above=[["基本信息"] * 8 + ["实际开票"] * 3],
        header_merges=[(1, 0, 1, 10), (2, 0, 2, 7), (2, 8, 2, 10)],
        footer=[
            ["合计", None, None, 209.62, "5,450,000.00", None, None, "136,250.00", "136,250.00",
             "7,712.26", "128,537.74"],
        ],
    ),
    kind="statement",
    columns={
        "基本信息·序号": ROW_NUMBER,
        "基本信息·楼室号": "room_name",
        "基本信息·客户姓名": "customer_name",
        "基本信息·签约面积": UNKNOWN,
        "基本信息·签约金额": "amount",
        "基本信息·中介名称": "channel",
        "基本信息·结算比例": OTHER_KIND,  # commission_rate: known, read by no kind
        "基本信息·合同约定金额": UNKNOWN,
        "实际开票·实际开票金额": "claim_amount",
        "实际开票·税额": UNKNOWN,
        "实际开票·金额": REPEATED,  # 实际开票 + 金额 is the invoice amount again
    },
    lines={
        5: {"room_name": "5#1101", "amount": 2_350_000.0, "claim_amount": 58_750.0},
        6: {"room_name": "5#1203", "amount": 3_100_000.0, "claim_amount": 77_500.0},
    },
    amount_field="claim_amount",
    total=136_250.0,
    channel="上海安家房产",
)

# 易居 PMLS 结算书 · 结算订单 (jsStatementDetailPage.js): headers carry (元) and (㎡).
PMLS_STATEMENT_ORDERS = Layout(
    id="eju_pmls_js_statement_orders",
    path="statements/上海房友置业/结算书JS2026120003.xlsx",
    write=_xlsx,
    spec=SheetSpec(
        "结算订单",
        ["序号", "订单编号", "客户姓名", "楼室号", "项目", "垫佣控制规则", "面积(㎡)",
         "签约总价(元)", "成销日期", "服务费比例", "合同约定金额(元)", "本次结算金额(元)",
         "实际开票金额(元)", "税额(元)", "结算类型", "核算主体"],
        [
            [1, "DD202611050001", "刘建国", "3-2-1802", "云栖湾", "不垫佣", 98.2, "2,680,000.00",
             "2026-11-05", "2%", "53,600.00", "53,600.00", "53,600.00", "3,033.96", "正常结算",
             "上海易居联动"],
            [2, "DD202611120007", "赵*华", "3-1-0601", "云栖湾", "不垫佣", 76.0, "1,950,000.00",
             "2026-11-12", "2%", "39,000.00", "¥19,500.00", "19,500.00", "1,103.77", "正常结算",
             "上海易居联动"],
        ],
        title=[["结算书编号：JS2026120003    渠道公司：上海房友置业    项目：云栖湾"]],
        footer=[
            ["合计", None, None, None, None, None, 174.2, "4,630,000.00", None, None, "92,600.00",
             "73,100.00", "73,100.00", "4,137.73", None, None],
        ],
    ),
    kind="statement",
    columns={
        "序号": ROW_NUMBER,
        "订单编号": "deal_no",
        "客户姓名": "customer_name",
        "楼室号": "room_name",
        "项目": "project",
        "垫佣控制规则": UNKNOWN,
        "面积(㎡)": UNKNOWN,
        "签约总价(元)": "amount",
        "成销日期": UNKNOWN,
        "服务费比例": OTHER_KIND,
        "合同约定金额(元)": UNKNOWN,
        "本次结算金额(元)": "claim_amount",
        "实际开票金额(元)": REPEATED,
        "税额(元)": UNKNOWN,
        "结算类型": UNKNOWN,
        "核算主体": UNKNOWN,
    },
    lines={
        3: {"deal_no": "DD202611050001", "room_name": "3-2-1802", "claim_amount": 53_600.0},
        4: {"deal_no": "DD202611120007", "amount": 1_950_000.0, "claim_amount": 19_500.0},
    },
    amount_field="claim_amount",
    total=73_100.0,
    channel="上海房友置业",
)

# A 新房联动 platform's 结算管理 export (eAtomic6/new-xinfang settle-manage), as CSV:
# masked phones and ID numbers, 报备/带看 dates beside each claimed deal.
XINFANG_SETTLE = Layout(
    id="xinfang_settle_manage",
    path="statements/链动房产/结算管理导出.csv",
    write=_csv,
    spec=SheetSpec(
        "结算管理",
        ["项目所属公司", "项目名称", "客户姓名", "客户电话", "客户身份证", "报备时间", "带看时间",
         "成交日期", "成交面积", "成交房号", "应收佣金", "累计收佣", "剩余佣金", "草签日期",
         "网签日期", "置业顾问", "顾问电话", "所在部门", "审核驻场"],
        [
            ["滨江置业", "滨江壹号", "孙丽", "138****2291", "3101**********1234",
             "2026-09-02 10:15", "2026-09-03 14:00", "2026-10-11", 102.5, "2-1503", "45,000.00",
             "0.00", "45,000.00", "2026-10-11", "2026-10-25", "周敏", "139****0021", "销售一部",
             "钱*"],
            ["滨江置业", "滨江壹号", "吴*", "137****8810", "3205**********4321",
             "2026-09-20 09:30", "2026-09-21 16:40", "2026-10-30", 88.0, "2-0802", "¥38,000",
             "10,000.00", "28,000.00", "2026-10-30", None, "周敏", "139****0021", "销售一部",
             "钱*"],
        ],
        footer=[
            ["合计", None, None, None, None, None, None, None, 190.5, None, "83,000.00",
             "10,000.00", "73,000.00"],
        ],
    ),
    kind="statement",
    columns={
        "项目所属公司": UNKNOWN,
        "项目名称": "project",
        "客户姓名": "customer_name",
        "客户电话": "phone",
        "客户身份证": UNKNOWN,
        "报备时间": OTHER_KIND,
        "带看时间": OTHER_KIND,
        "成交日期": OTHER_KIND,
        "成交面积": UNKNOWN,
        "成交房号": "room_name",
        # The whole commission, what was received, and what is left: the claim is the last.
        "应收佣金": "claim_total",
        "累计收佣": "claim_received",
        "剩余佣金": "claim_amount",
        "草签日期": OTHER_KIND,
        "网签日期": REPEATED,  # a second 签约日期: kept raw
        "置业顾问": OTHER_KIND,
        "顾问电话": UNKNOWN,
        "所在部门": UNKNOWN,
        "审核驻场": UNKNOWN,
    },
    lines={
        2: {"room_name": "2-1503", "claim_amount": 45_000.0},
        3: {"room_name": "2-0802", "claim_amount": 28_000.0},
    },
    amount_field="claim_amount",
    total=73_000.0,
    channel="链动房产",
)

# 居恒 Ihome 请佣申请 · 待请款列表 (applyRec/add.vue), its two-line cells as columns.
IHOME_APPLY_REC = Layout(
    id="ihome_apply_rec_deals",
    path="statements/居恒代理/请佣申请QY202612001.xls",
    write=_xls,
    spec=SheetSpec(
        "待请款列表",
        ["序号", "项目周期", "成交报告编号", "成交面积", "合同类型", "签约类型", "认购时间",
         "签约时间", "签约总价(元)", "应提金额", "已提金额", "未提金额", "系统计算本次可提金额",
         "本次请款金额", "不含税金额", "税额", "本次请款比例", "客户姓名", "预售合同编号",
         "是否已达到请佣条件", "代理公司", "备注"],
        [
            [1, "一期2026", "CJBG-2026-0311", 96.3, "分销成交", "正签", "2026-10-02", "2026-10-20",
             "2,310,000.00", "46,200.00", "0.00", "46,200.00", "46,200.00", "46,200.00",
             "43,584.91", "2,615.09", "100%", "黄志强", "YS2026-08812", "是", "居恒代理", None],
            [2, "一期2026", "CJBG-2026-0347", 128.0, "自然来访成交", "正签", "2026-10-15",
             "2026-11-01", "3,260,000.00", "65,200.00", "32,600.00", "32,600.00", "32,600.00",
             "¥32,600.00", "30,754.72", "1,845.28", "50%", "林*", "YS2026-09033", "是", "居恒代理",
             "第二次请款"],
        ],
        title=[["请佣申请单 QY202612001（甲方：滨江置业有限公司）"]],
        footer=[
            ["合计", None, None, 224.3, None, None, None, None, "5,570,000.00", "111,400.00",
             "32,600.00", "78,800.00", "78,800.00", "78,800.00", "74,339.63", "4,460.37"],
        ],
    ),
    kind="statement",
    columns={
        "序号": ROW_NUMBER,
        "项目周期": UNKNOWN,
        "成交报告编号": "deal_no",
        "成交面积": UNKNOWN,
        "合同类型": UNKNOWN,
        "签约类型": UNKNOWN,
        "认购时间": OTHER_KIND,
        "签约时间": OTHER_KIND,
        "签约总价(元)": "amount",
        "应提金额": UNKNOWN,
        "已提金额": UNKNOWN,
        "未提金额": UNKNOWN,
        "系统计算本次可提金额": UNKNOWN,
        "本次请款金额": "claim_amount",
        "不含税金额": UNKNOWN,
        "税额": UNKNOWN,
        "本次请款比例": UNKNOWN,
        "客户姓名": "customer_name",
        "预售合同编号": "contract_no",
        "是否已达到请佣条件": UNKNOWN,
        "代理公司": UNKNOWN,
        "备注": "remark",
    },
    lines={
        3: {"deal_no": "CJBG-2026-0311", "contract_no": "YS2026-08812", "claim_amount": 46_200.0},
        4: {"deal_no": "CJBG-2026-0347", "amount": 3_260_000.0, "claim_amount": 32_600.0},
    },
    amount_field="claim_amount",
    total=78_800.0,
    channel="居恒代理",
)

# 居恒 Ihome 付款记录 (payoff/payoffpayment/list.vue): 收款方信息 and 付款方信息 as
# their two columns each, under a title row, in a legacy .xls.
IHOME_PAYMENTS = Layout(
    id="ihome_payoff_payment",
    path="payments/付款记录2026-12.xls",
    write=_xls,
    spec=SheetSpec(
        "付款记录",
        ["付款结算单号", "付款申请单编号", "结算方式", "付款方式", "付款金额", "渠道公司",
         "收款帐号", "公司名称", "付款账户", "状态", "支付唯一编码", "推送时间", "付款时间",
         "失败原因"],
        [
            ["FKJS202612010001", "FKSQ202611280003", "集中支付", "银企直连", "¥45,000.00",
             "链动房产", "6222 **** **** 1234", "滨江置业有限公司", "3100 **** 8899", "付款成功",
             "ZF2026120100017", "2026-12-01", "2026-12-02", None],
            ["FKJS202612010002", "FKSQ202611280004", "网银支付", "网银", "12,000.00",
             "上海房友置业", "6217 **** **** 5678", "滨江置业有限公司", "3100 **** 8899",
             "付款成功", "ZF2026120100018", None, "2026-12-03", None],
        ],
        title=[["渠道佣金付款记录（2026年12月）"]],
    ),
    kind="payment",
    columns={
        "付款结算单号": UNKNOWN,
        "付款申请单编号": UNKNOWN,
        "结算方式": UNKNOWN,
        "付款方式": UNKNOWN,
        "付款金额": "payment_amount",
        "渠道公司": "channel",
        "收款帐号": UNKNOWN,
        "公司名称": REPEATED,  # the payer's company: the first 渠道 column is the payee
        "付款账户": UNKNOWN,
        "状态": "stage",  # on a payment sheet: the payment's own state (付款成功 …)
        "支付唯一编码": "voucher_no",
        "推送时间": UNKNOWN,
        "付款时间": "paid_at",
        "失败原因": UNKNOWN,
    },
    lines={
        3: {"voucher_no": "ZF2026120100017", "amount": 45_000.0},
        4: {"voucher_no": "ZF2026120100018", "amount": 12_000.0},
    },
    amount_field="amount",
    total=57_000.0,
    channel="链动房产",
    skipped={},
)

# fmt: on

LAYOUTS = [PMLS_SERVICE_FEE, PMLS_STATEMENT_ORDERS, XINFANG_SETTLE, IHOME_APPLY_REC, IHOME_PAYMENTS]


def _accounting(sheet: SheetOutcome) -> dict[str, str]:
    """Per non-blank header: its field, or the reason it is unused (SPEC 4.1)."""
    by_header = {header: name for name, header in sheet.mapping.items()}
    accounted = {}
    for header in sheet.headers:
        if not header or not header.strip():
            continue
        if header in by_header:
            accounted[header] = by_header[header]
        elif header in sheet.unused:
            why = sheet.unused[header]
            accounted[header] = next((r for r in _REASONS if r in why), why)
        else:
            accounted[header] = "neither mapped nor listed unused"
    return accounted


def _read(workspace: Path, layout: Layout) -> SheetOutcome:
    layout.write(workspace / "inputs" / layout.path, layout.spec)
    ws = Workspace.open(workspace)
    [item], _ = discover(ws.inputs)
    outcome = read_input(item, ws.rules, AliasTable.build(ws.rules.columns))
    assert outcome.rejected is None, outcome.rejected
    [sheet] = outcome.sheets
    return sheet


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.id for layout in LAYOUTS])
def test_real_layout_reads_as_the_clerk_expects(workspace, layout):
    sheet = _read(workspace, layout)
    assert sheet.kind == layout.kind, sheet.note
    assert _accounting(sheet) == layout.columns

    records, errors = sheet.normalised.records, sheet.normalised.errors
    assert errors.height == 0, errors.to_dicts()
    assert dict(sheet.skipped) == layout.skipped
    # Every row below the header is a line or the totals row; the totals row claims nothing.
    assert sorted(records["row_no"].to_list()) == sorted(layout.lines)
    assert records.height + sum(sheet.skipped.values()) == sheet.data_rows
    assert set(records["kind"]) == {layout.kind}

    data = {row["row_no"]: json.loads(row["data"]) for row in records.iter_rows(named=True)}
    for row_no, wanted in layout.lines.items():
        assert {k: data[row_no].get(k) for k in wanted} == wanted, row_no
    # The lines add up to what the file's own 合计 row says.
    assert sum(d[layout.amount_field] for d in data.values()) == pytest.approx(layout.total)
    first = min(layout.lines)
    assert records.filter(records["row_no"] == first)["channel"].item() == layout.channel


def test_masked_phones_and_names_of_a_statement_are_kept_for_linking(workspace):
    """A claim carries the agency's masked phone and name: the judge links by them."""
    records = _read(workspace, XINFANG_SETTLE).normalised.records
    rows = {r["row_no"]: r for r in records.iter_rows(named=True)}
    assert (rows[2]["phone_pattern"], rows[2]["customer_name"]) == ("138****2291", "孙丽")
    assert (rows[3]["phone_pattern"], rows[3]["customer_name"]) == ("137****8810", "吴*")


def test_check_of_a_pmls_statement_says_what_each_column_gives(workspace, capsys):
    path = workspace / "inputs" / PMLS_STATEMENT_ORDERS.path
    PMLS_STATEMENT_ORDERS.write(path, PMLS_STATEMENT_ORDERS.spec)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "请款单/对账单" in out
    assert "本次结算金额(元) → 请款金额" in out and "签约总价(元) → 成交金额" in out
    assert "实际开票金额(元)（与“请款金额”列重复，以第一列为准）" in out
    assert "序号（序号列，无需读取）" in out
    assert f"跳过 {SKIP_TOTALS} 1" in out


@pytest.mark.parametrize(
    ("header", "bare"),
    [("本次结算金额(元)", "本次结算金额"), ("签约总价（元）", "签约总价"), ("税额 (元)", "税额")],
)
def test_a_yuan_unit_in_a_header_is_noise(header, bare):
    assert normalise_header(header) == normalise_header(bare)


def test_a_ten_thousand_yuan_unit_scales_the_cells():
    """Cells under 成交总价(万元) are in 万: the column is the amount, its cells scaled."""
    aliases = AliasTable.build()
    assert aliases.field_for("成交总价(万元)") == "amount" and aliases.in_wan("成交总价(万元)")
    assert not aliases.in_wan("签约总价(元)") and not aliases.in_wan("客户电话(万)")


def test_a_pmls_statement_outside_the_statements_folder_is_still_a_claim(tmp_path):
    path = PMLS_STATEMENT_ORDERS.write(
        tmp_path / "结算书JS2026120003.xlsx", PMLS_STATEMENT_ORDERS.spec
    )
    assert main(["check", str(path)]) == 0


def test_a_bounced_payment_is_not_a_payment(workspace):
    spec = IHOME_PAYMENTS.spec
    bounced = [*spec.rows[1][:9], "已退票", *spec.rows[1][10:13], "收款账户已销户"]
    rows = replace(spec, rows=[spec.rows[0], bounced])
    sheet = _read(workspace, replace(IHOME_PAYMENTS, spec=rows))
    assert sheet.normalised.records["row_no"].to_list() == [3]  # the 付款成功 row only
