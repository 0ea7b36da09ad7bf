"""Money across nights (SPEC 6.6): payments allocated to deal lines, in memory."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.config.rules import parse_rules
from reconcile.judge.deals import REFUNDED, SIGNED, Deal, DealLine
from reconcile.judge.payments import Payment, allocate
from reconcile.judge.reasons import refund
from reconcile.judge.vocabulary import Code, DealStatus, OwnerType
from reconcile.normalise.names import named_channel

ZONE = ZoneInfo("Asia/Shanghai")
RULES = parse_rules("project: 测试项目\n")  # commission 1% of 2,000,000: 20,000 a deal
KEEP = parse_rules("project: 测试项目\ndeal: {clawback_on_refund: false}\n")
END = datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZONE)


def day(month: int, d: int) -> datetime:
    return datetime(2026, month, d, tzinfo=ZONE)


def deal(n: int, signed: datetime, refunded: datetime | None = None) -> Deal:
    stage_at: dict[str, datetime | None] = {SIGNED: signed}
    if refunded is not None:
        stage_at[REFUNDED] = refunded
    return Deal(
        deal_id=f"D{n}",
        amount=2_000_000.0,
        stage_at=stage_at,
        numbers=[("成交编号", f"CJ{n}")],
        flats=[f"5#-080{n}"],
    )


def line(d: Deal, channel: str = "链家", rules=RULES) -> DealLine:
    """The line 6.3's rule gives (judge/deals.py `_lines`), as `allocate` receives it."""
    code = refund.decide(rules, d)
    status, commission, codes = DealStatus.PAYABLE, 20000.0, ()
    if code is not None:
        clawback = code == Code.X01
        status = DealStatus.CLAWBACK if clawback else DealStatus.NOT_PAYABLE
        commission, codes = (-20000.0 if clawback else 0.0), (code,)
    owed = status in (DealStatus.PAYABLE, DealStatus.CLAWBACK)
    return DealLine(
        d.deal_id, "13800000000", d.stage, d.deal_date, d.amount, OwnerType.CHANNEL, channel,
        None, 1.0, commission, status, codes, due=commission if owed else 0.0,
    )  # fmt: skip


def pay(amount: float, at: datetime, channel="链家", no: str = "", flat: str = "") -> Payment:
    return Payment(
        channel, amount, at, frozenset({no} - {""}), frozenset({flat} - {""}), "付款", (str(at),)
    )


def run(deals: list[Deal], payments: list[Payment], rules=RULES, owners: dict | None = None):
    lines = [line(d, (owners or {}).get(d.deal_id, "链家"), rules) for d in deals]
    money = allocate(lines, deals, payments, rules, END)
    table = {
        (x.deal_id, x.channel): (x.status.value, x.commission, x.paid, x.outstanding)
        for x in money.lines
    }
    return table, money.credit


D1, D2 = deal(1, day(11, 1)), deal(2, day(11, 5))
D3_LATER = deal(3, day(12, 2))

CASES = {
    "no payment records: 6.3's lines as they are": (
        [D1, deal(2, day(11, 5), refunded=day(11, 20))], [], RULES,
        {("D1", "链家"): ("payable", 20000.0, 0.0, 20000.0),
         ("D2", "链家"): ("clawback", -20000.0, 0.0, -20000.0)}, {},
    ),
    "a partial payment naming the deal": (
        [D1, D2], [pay(8000, day(11, 30), no="CJ1")], RULES,
        {("D1", "链家"): ("payable", 20000.0, 8000.0, 12000.0),
         ("D2", "链家"): ("payable", 20000.0, 0.0, 20000.0)}, {"链家": 0.0},
    ),
    "a payment naming the flat": (
        [D1, D2], [pay(20000, day(11, 30), flat="5#-0802")], RULES,
        {("D1", "链家"): ("payable", 20000.0, 0.0, 20000.0),
         ("D2", "链家"): ("payable", 20000.0, 20000.0, 0.0)}, {"链家": 0.0},
    ),
    "a lump sum goes to the oldest payable lines first": (
        [D2, D1], [pay(30000, day(11, 30))], RULES,
        {("D1", "链家"): ("payable", 20000.0, 20000.0, 0.0),
         ("D2", "链家"): ("payable", 20000.0, 10000.0, 10000.0)}, {"链家": 0.0},
    ),
    "overpayment is credit, spent on a line that becomes payable later": (
        [D1, D2, D3_LATER], [pay(50000, day(11, 30))], RULES,
        {("D1", "链家"): ("payable", 20000.0, 20000.0, 0.0),
         ("D2", "链家"): ("payable", 20000.0, 20000.0, 0.0),
         ("D3", "链家"): ("payable", 20000.0, 10000.0, 10000.0)}, {"链家": 0.0},
    ),
    "credit left when nothing more is owed": (
        [D1], [pay(25000, day(11, 30))], RULES,
        {("D1", "链家"): ("payable", 20000.0, 20000.0, 0.0)}, {"链家": 5000.0},
    ),
    "money returned reduces what was paid, newest line first": (
        [D1, D2], [pay(40000, day(11, 30)), pay(-5000, day(12, 1))], RULES,
        {("D1", "链家"): ("payable", 20000.0, 20000.0, 0.0),
         ("D2", "链家"): ("payable", 20000.0, 15000.0, 5000.0)}, {"链家": 0.0},
    ),
    "a refund after part was paid claws back the paid part": (
        [deal(1, day(11, 1), refunded=day(11, 20)), D2], [pay(8000, day(11, 10), no="CJ1")], RULES,
        {("D1", "链家"): ("clawback", -8000.0, 8000.0, -8000.0),
         ("D2", "链家"): ("payable", 20000.0, 0.0, 20000.0)}, {"链家": 0.0},
    ),
    "the agency returns the clawed-back money": (
        [deal(1, day(11, 1), refunded=day(11, 20))],
        [pay(8000, day(11, 10), no="CJ1"), pay(-8000, day(11, 25), no="CJ1")], RULES,
        {("D1", "链家"): ("clawback", -8000.0, 0.0, 0.0)}, {"链家": 0.0},
    ),
    "a refund of an unpaid line is X02, nothing to claw back": (
        [deal(1, day(11, 1), refunded=day(11, 20)), D2], [pay(20000, day(11, 30), no="CJ2")], RULES,
        {("D1", "链家"): ("not_payable", 0.0, 0.0, 0.0),
         ("D2", "链家"): ("payable", 20000.0, 20000.0, 0.0)}, {"链家": 0.0},
    ),
    "a lump sum paid before the refund went to the line, and is clawed back": (
        [deal(1, day(11, 1), refunded=day(11, 20))], [pay(20000, day(11, 10))], RULES,
        {("D1", "链家"): ("clawback", -20000.0, 20000.0, -20000.0)}, {"链家": 0.0},
    ),
    "a lump sum after the refund skips the refunded line": (
        [deal(1, day(11, 1), refunded=day(11, 20))], [pay(20000, day(11, 25))], RULES,
        {("D1", "链家"): ("not_payable", 0.0, 0.0, 0.0)}, {"链家": 20000.0},
    ),
    "paying the net settles every line, the claw-back by deduction": (
        [deal(1, day(11, 1), refunded=day(11, 20)), deal(2, day(11, 21))],
        [pay(8000, day(11, 10), no="CJ1"), pay(12000, day(11, 30))], RULES,
        {("D1", "链家"): ("clawback", -8000.0, 0.0, 0.0),
         ("D2", "链家"): ("payable", 20000.0, 20000.0, 0.0)}, {"链家": 0.0},
    ),
    "clawback_on_refund false keeps what was paid": (
        [deal(1, day(11, 1), refunded=day(11, 20))], [pay(8000, day(11, 10), no="CJ1")], KEEP,
        {("D1", "链家"): ("not_payable", 0.0, 8000.0, 0.0)}, {"链家": 0.0},
    ),
    "the old owner keeps what it was paid and owes it back": (
        [D1], [pay(8000, day(11, 10), no="CJ1")], RULES,
        {("D1", "我爱我家"): ("payable", 20000.0, 0.0, 20000.0),
         ("D1", "链家"): ("not_payable", 0.0, 8000.0, -8000.0)}, {"链家": 0.0, "我爱我家": 0.0},
    ),
}  # fmt: skip
OWNERS = {"the old owner keeps what it was paid and owes it back": {"D1": "我爱我家"}}


@pytest.mark.parametrize("name", list(CASES))
def test_allocation(name):
    deals, payments, rules, expected, credit = CASES[name]
    table, found_credit = run(deals, payments, rules, OWNERS.get(name))
    assert table == expected
    assert found_credit == credit


def test_refund_codes_follow_the_money():
    refunded = deal(1, day(11, 1), refunded=day(11, 20))
    lines, _ = run([refunded], [pay(8000, day(11, 10), no="CJ1")])
    assert lines[("D1", "链家")][0] == "clawback"
    money = allocate([line(refunded)], [refunded], [pay(1, day(11, 25))], RULES, END)
    assert money.lines[0].reason_codes == (Code.X02,)


# Property: whatever finance pays or the agency returns, and whichever deals are refunded,
# per channel the money holds together: what was paid, less what came back and what is
# still unallocated credit, plus what is outstanding, is what was earned (the lines' due).
DAYS = st.integers(min_value=1, max_value=60)


def _date(n: int) -> datetime:
    return datetime.fromordinal(day(11, 1).toordinal() + n - 1).replace(tzinfo=ZONE)


@settings(max_examples=200, deadline=None)
@given(
    deals=st.lists(st.tuples(DAYS, st.none() | DAYS, st.sampled_from(["链家", "我爱我家"])),
                   min_size=1, max_size=5),
    payments=st.lists(
        st.tuples(st.integers(-300, 600).map(lambda n: n * 100.0), DAYS,
                  st.sampled_from(["链家", "我爱我家"]), st.none() | st.integers(1, 6)),
        max_size=8),
    keep=st.booleans(),
)  # fmt: skip
def test_money_holds_together(deals, payments, keep):
    rules = KEEP if keep else RULES
    made = [
        deal(i + 1, _date(signed), None if gone is None else _date(signed + gone))
        for i, (signed, gone, _) in enumerate(deals)
    ]
    owners = {f"D{i + 1}": channel for i, (_, _, channel) in enumerate(deals)}
    lines = [line(d, owners[d.deal_id], rules) for d in made]
    paid = [
        pay(amount, _date(at), channel, no="" if n is None else f"CJ{n}")
        for amount, at, channel, n in payments
    ]
    money = allocate(lines, made, paid, rules, END)
    for channel in {"链家", "我爱我家"}:
        mine = [x for x in money.lines if x.channel == channel]
        total = sum(p.amount for p in paid if p.channel == channel)
        credit = money.credit.get(channel, 0.0)
        earned = sum(x.due for x in mine)
        outstanding = sum(x.outstanding for x in mine)
        assert total - credit + outstanding == pytest.approx(earned, abs=0.005)
        # Nothing is paid twice: every yuan is on exactly one line or in the credit.
        assert sum(x.paid for x in mine) + credit == pytest.approx(total, abs=0.005)
        if credit > 0:  # credit never waits while a payable line is owed
            assert all(x.outstanding <= 0 for x in mine if x.status == DealStatus.PAYABLE)
    for x in money.lines:
        assert (Code.X01 in x.reason_codes) == (x.status == DealStatus.CLAWBACK)
        if x.status == DealStatus.CLAWBACK and paid:  # with records: only the paid part
            assert x.commission < 0 and x.due == 0


def test_a_flat_sold_again_is_paid_on_its_open_deal():
    old = deal(1, day(11, 1), refunded=day(11, 10))
    again = Deal(
        deal_id="D9", amount=2_000_000.0, stage_at={SIGNED: day(11, 15)}, flats=["5#-0801"]
    )
    table, _ = run([old, again], [pay(20000, day(11, 30), flat="5#-0801")])
    assert table[("D9", "链家")] == ("payable", 20000.0, 20000.0, 0.0)
    assert table[("D1", "链家")] == ("not_payable", 0.0, 0.0, 0.0)


KNOWN = frozenset({"链家", "德佑链家", "我爱我家", "中原", "家"})


@pytest.mark.parametrize(
    ("written", "channel"),
    [
        ("链家", "链家"),
        ("北京链家房地产经纪有限公司", "链家"),  # a payee's legal name
        ("北京我爱我家房地产经纪有限公司", "我爱我家"),  # not 链家's 家, nor the one-character 家
        ("上海德佑链家房地产经纪有限公司", "德佑链家"),  # nested names: the longest
        ("中原链家联合代理", "中原链家联合代理"),  # two channels apart: a guess, so as written
        ("深圳世联行地产顾问股份有限公司", "深圳世联行地产顾问股份有限公司"),  # no known channel
    ],
)
def test_a_payee_written_by_its_legal_name_is_its_channel(written, channel):
    assert named_channel(written, KNOWN) == channel


def test_a_payment_to_the_legal_name_pays_the_channels_line_once():
    lines = [line(deal(1, day(11, 15)), "链家")]
    paid = Payment("北京链家房地产经纪有限公司", 20_000.0, day(11, 20), frozenset({"CJ1"}))
    money = allocate(lines, [deal(1, day(11, 15))], [paid], RULES, END)
    assert [(m.channel, m.paid, m.outstanding) for m in money.lines] == [("链家", 20_000.0, 0.0)]
    # naming no deal: the channel's oldest line, then its credit
    table, credit = run([D1], [pay(25_000.0, day(11, 20), "北京链家房地产经纪有限公司")])
    assert table == {("D1", "链家"): ("payable", 20000.0, 20000.0, 0.0)} and credit == {
        "链家": 5000.0
    }
