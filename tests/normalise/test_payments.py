"""Finance's payment ledger (付款记录, SPEC 6.6) read as payment records."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.config.rules import parse_rules
from reconcile.ingest.files import FileOutcome, classify_path, derive
from reconcile.ingest.headers import AliasTable
from reconcile.normalise import deals
from reconcile.normalise.errors import RowError
from reconcile.testing.nights import raw_sheets

RULES = parse_rules("project: 测试项目\nchannels: {链家: [北京链家]}\n")
ALIASES = AliasTable.build(RULES.columns)


def _derive(rel: str, rows: list[list]):
    outcome = FileOutcome(classify_path(Path("/inputs", rel)), "sha", 0)
    derive(
        outcome, raw_sheets(rel, {"付款": rows}, RULES), RULES, ALIASES, lambda _: date(2026, 12, 1)
    )
    (sheet,) = outcome.sheets
    return sheet


@pytest.mark.parametrize(
    ("text", "value", "code"),
    [
        ("8,000.00", 8000.0, None),
        ("-8000", -8000.0, None),
        ("－8000", -8000.0, None),
        ("(1,500.50)", -1500.5, None),
        ("¥2.5万", 25000.0, None),
        # the sign wherever ledgers put it: after the currency, before it, at the end
        ("¥-1,000.00", -1000.0, None),
        ("-¥1,000.00", -1000.0, None),
        ("¥ -1,000.00", -1000.0, None),
        ("RMB -1,000", -1000.0, None),
        ("1,000.00-", -1000.0, None),
        ("￥-8000元", -8000.0, None),
        # two signs are no amount
        ("--8000", None, RowError.AMOUNT_INVALID),
        ("(-5)", None, RowError.AMOUNT_INVALID),
        ("-8000-", None, RowError.AMOUNT_INVALID),
        ("", None, RowError.AMOUNT_MISSING),
        ("八千", None, RowError.AMOUNT_INVALID),
        # a line break inside is white space, as in an unsigned amount (it crashed)
        ("-8\n000", -8000.0, None),
        ("8\n000-", -8000.0, None),
    ],
)
def test_signed_amounts(text, value, code):
    parsed = deals.parse_signed_amount(text)
    assert (parsed.value, parsed.error_code) == (value, code)


@given(
    cents=st.integers(min_value=1, max_value=10**11),
    shape=st.sampled_from(["-{}", "¥-{}", "-¥{}", "{}-", "({})", "(¥{})", "RMB -{}", "－{}元"]),
    grouped=st.booleans(),
)
def test_a_negative_amount_reads_the_same_in_every_shape(cents, shape, grouped):
    yuan = f"{cents / 100:,.2f}" if grouped else f"{cents / 100:.2f}"
    assert deals.parse_signed_amount(shape.format(yuan)).value == -round(cents / 100, 2)


def test_a_finance_ledger_is_a_payment_sheet_whatever_its_headers():
    sheet = _derive(
        "payments/2026年11月付款.xlsx",
        [
            ["收款单位", "付款金额", "打款日期", "房号", "成交编号", "付款单号", "备注"],
            ["北京链家", "8,000.00", "2026-11-30", "5#-0802", "", "FK-001", "11月佣金"],
            ["我爱我家", "-2000", "2026/11/30", "", "CJ-9", "FK-002", "退回"],
            ["", "100", "2026-11-30", "", "", "FK-003", ""],
            ["链家", "", "2026-11-30", "", "", "FK-004", ""],
        ],
    )
    assert sheet.kind == "payment"
    records = sheet.normalised.records
    assert records["channel"].to_list() == ["链家", "我爱我家"]
    data = [json.loads(text) for text in records["data"].to_list()]
    assert [d["amount"] for d in data] == [8000.0, -2000.0]
    assert [d["voucher_no"] for d in data] == ["FK-001", "FK-002"]
    assert data[0]["room"] == "5#-0802" and data[1]["deal_no"] == "CJ-9"
    assert records["event_at"].to_list() == ["2026-11-30T00:00:00+08:00"] * 2
    codes = sheet.normalised.errors["codes"].to_list()
    assert codes == [RowError.CHANNEL_MISSING, RowError.AMOUNT_MISSING]


def test_identical_payment_rows_are_one_payment_wherever_saved():
    rows = [["渠道", "金额", "付款日期", "凭证号"], ["链家", "5000", "2026-11-30", "V1"]]
    first = _derive("payments/付款记录.xlsx", rows).normalised.records
    copied = _derive("payments/付款记录(1).xlsx", rows).normalised.records
    other = _derive(
        "payments/付款记录.xlsx", [rows[0], ["链家", "5000", "2026-11-30", "V2"]]
    ).normalised.records
    assert first["row_key"].to_list() == copied["row_key"].to_list()
    assert first["row_key"].to_list() != other["row_key"].to_list()
