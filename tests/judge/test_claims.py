"""Agencies' claims checked three ways (SPEC 6.6), in memory on literal deals and lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.judge.claims import Claim, check
from reconcile.judge.deals import Deal, DealLine
from reconcile.judge.vocabulary import ClaimCheck, DealStatus
from tests.judge.test_payments import day, deal, line


def claim(
    amount: float,
    channel: str = "链家",
    no: str = "",
    flat: str = "",
    phone: str | None = None,
    name: str | None = None,
    at: datetime | None = None,
    row: int = 1,
) -> Claim:
    numbers, flats = frozenset({no} - {""}), frozenset({flat} - {""})
    return Claim(
        row_id=f"c{row}",
        channel=channel,
        amount=amount,
        deal_amount=None,
        numbers=numbers,
        flats=flats,
        phone_pattern=phone,
        customer_name=name,
        at=at or day(11, 28),
        source=f"请款单.xlsx#Sheet1!{row}",
        order=("请款单.xlsx", "Sheet1", row),
        written=no or flat or f"{name} {phone}",
    )


def buyer(d: Deal, phone: str, name: str) -> Deal:
    return replace(d, buyers=[phone], customer_name=name)


def paid(x: DealLine, amount: float) -> DealLine:
    return replace(x, paid=amount)


D1, D2 = buyer(deal(1, day(11, 1)), "13812341234", "张三"), deal(2, day(11, 5))
L1, L2 = line(D1), line(D2)  # 链家, payable 20,000 each


def rows(lines, deals, claims):
    return [(r.deal_id, r.channel, r.claimed, r.check.value) for r in check(lines, deals, claims)]


CASES = {
    "no claim from the channel: no_claim": (
        [L1], [claim(100.0, channel="我爱我家", no="CJ9")],
        [("D1", "链家", None, "no_claim"), ("CJ9", "我爱我家", 100.0, "not_ours")],
    ),
    "by number, equal to outstanding: ok": (
        [L1, L2], [claim(20000.0, no="CJ1")],
        [("D1", "链家", 20000.0, "ok"), ("D2", "链家", None, "unclaimed")],
    ),
    "by flat, partly paid, the rest claimed: ok": (
        [paid(L1, 5000.0)], [claim(15000.0, flat="5#-0801")], [("D1", "链家", 15000.0, "ok")],
    ),
    "claimed after full payment: already_paid": (
        [paid(L1, 20000.0)], [claim(20000.0, no="CJ1")],
        [("D1", "链家", 20000.0, "already_paid")],
    ),
    "claimed more: amount_differs": (
        [L1], [claim(25000.0, no="CJ1")], [("D1", "链家", 25000.0, "amount_differs")],
    ),
    "by masked phone and name": (
        [L1], [claim(20000.0, phone="138****1234", name="张先生")],
        [("D1", "链家", 20000.0, "ok")],
    ),
    "masked phone fits but the name disagrees: nobody's deal": (
        [L1], [claim(20000.0, phone="138****1234", name="李四")],
        [("D1", "链家", None, "unclaimed"), ("李四 138****1234", "链家", 20000.0, "not_ours")],
    ),
    "another channel's deal: not_ours, its own line untouched": (
        [line(D1, "我爱我家")], [claim(20000.0, no="CJ1")],
        [("D1", "我爱我家", None, "no_claim"), ("D1", "链家", 20000.0, "not_ours")],
    ),
    "a number that is not a deal falls back to the flat": (
        [L1], [claim(20000.0, no="X-1", flat="5#-0801")], [("D1", "链家", 20000.0, "ok")],
    ),
    "a later statement replaces an earlier claim on the line": (
        [L1], [claim(25000.0, no="CJ1", row=1), claim(20000.0, no="CJ1", at=day(12, 2), row=2)],
        [("D1", "链家", 20000.0, "ok")],
    ),
    "the same deal twice on one statement is claimed twice": (
        [L1], [claim(20000.0, no="CJ1", row=1), claim(20000.0, flat="5#-0801", row=2)],
        [("D1", "链家", 40000.0, "amount_differs")],
    ),
    "nothing owed and nothing claimed on the line: no_claim": (
        [paid(L1, 20000.0), L2], [claim(20000.0, no="CJ2")],
        [("D1", "链家", None, "no_claim"), ("D2", "链家", 20000.0, "ok")],
    ),
    "a 请款单 naming the agency by its legal name is the channel's": (
        [L1], [claim(20000.0, channel="北京链家房地产经纪有限公司", no="CJ1")],
        [("D1", "链家", 20000.0, "ok")],
    ),
    "a line without a channel is never claimed": (
        [replace(L1, channel=None, status=DealStatus.NOT_PAYABLE, commission=0.0, due=0.0)],
        [claim(100.0, no="CJ1")],
        [("D1", None, None, "no_claim"), ("D1", "链家", 100.0, "not_ours")],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_check(name):
    lines, claims, expected = CASES[name]
    assert rows(lines, [D1, D2], claims) == expected


def test_a_claim_fitting_two_of_the_channels_deals_is_ambiguous():
    both = [buyer(D1, "13812341234", "张三"), buyer(D2, "13812341234", "张三")]
    found = check([line(d) for d in both], both, [claim(20000.0, phone="138****1234", name="张三")])
    assert [(r.deal_id, r.check.value) for r in found] == [
        ("D1", "unclaimed"),
        ("D2", "unclaimed"),
        ("张三 138****1234", "ambiguous"),
    ]
    assert found[-1].candidates == ("D1", "D2")
    assert found[-1].status == DealStatus.NOT_PAYABLE and found[-1].commission == 0.0


# Nothing claimed is lost or counted twice: each claim line of the latest statement date
# of its target is behind exactly one row, and the rows' claimed amounts add up to them.
@settings(max_examples=200, deadline=None)
@given(
    claims=st.lists(
        st.tuples(
            st.integers(-100, 400).map(lambda n: n * 100.0),
            st.sampled_from(["链家", "我爱我家"]),
            st.sampled_from(["CJ1", "CJ2", "CJ9", ""]),
            st.sampled_from(["5#-0801", "5#-0802", ""]),
            st.integers(1, 3),
        ),
        max_size=8,
    ),
    owner2=st.sampled_from(["链家", "我爱我家"]),
    paid1=st.integers(0, 250).map(lambda n: n * 100.0),
)
def test_claims_are_neither_lost_nor_counted_twice(claims, owner2, paid1):
    lines = [paid(L1, paid1), line(D2, owner2)]
    made = [
        claim(amount, channel, no, flat, at=day(11, 20 + when), row=i)
        for i, (amount, channel, no, flat, when) in enumerate(claims)
    ]
    found = check(lines, [D1, D2], made)
    assert [r.line for r in found[: len(lines)]] == lines  # every deal line, in order, once
    behind = [c.row_id for r in found for c in r.claims]
    assert len(behind) == len(set(behind))
    for r in found:
        if r.claims:
            assert r.claimed == pytest.approx(sum(c.amount for c in r.claims), abs=0.005)
            assert len({c.at for c in r.claims}) == 1  # one statement date
            assert all(c.channel == r.channel for c in r.claims)
        if r.line is None:
            assert r.check in (ClaimCheck.NOT_OURS, ClaimCheck.AMBIGUOUS) and r.commission == 0
        if r.check in (ClaimCheck.OK, ClaimCheck.AMOUNT_DIFFERS, ClaimCheck.ALREADY_PAID):
            assert r.claimed is not None
    claiming = {c.channel for c in made}
    for r in found[: len(lines)]:
        expected_no_claim = r.channel not in claiming
        assert (r.check == ClaimCheck.NO_CLAIM) >= expected_no_claim
    # every claim line is behind a row unless a later claim on its target replaced it
    for c in made:
        if c.row_id not in behind:
            assert any(o.at > c.at and o.channel == c.channel for o in made)
