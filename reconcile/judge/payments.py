"""Money across nights (SPEC 6.6): payments allocated to deal lines, `paid` and `due`.

Pure. In: the night's deal lines (judged by 6.3's rule), the deals behind them, finance's
payment records dated on or before the night. Out: every line with what was paid on it
and what is due, refunded lines re-decided by what had actually been paid when the
refund came (`reasons/refund.py`), and each channel's credit (多付/预付, money not yet
allocated to any line).

Payments are taken in 付款日期 order (then file and row order). A payment naming a deal
(any of its numbers, or its flat) pays that channel's line of that deal; when the channel
has no line of it any more (a ruling moved the deal to another channel), the payment
stays on an adjustment line of that channel, which shows the negative outstanding to
recover: a paid past is never rewritten. A payment naming only the channel, or a deal
the channel never had, is the channel's credit, allocated to its oldest unpaid payable
lines (by the date the line became payable, then deal id), first what the credit holds,
then what the channel's claw-backs give by deduction; what is left waits for lines that
become payable later. Money returned (negative amounts) goes first against the channel's
claw-backs, then reduces what was paid, newest line first. Amounts are kept in fen so
that totals hold exactly.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.deals import (
    NUMBERS,
    REFUNDED,
    Deal,
    DealLine,
    commission_for,
    deal_index,
)
from reconcile.judge.reasons import refund
from reconcile.judge.vocabulary import Code, DealStatus, OwnerType
from reconcile.normalise import deals as cells
from reconcile.normalise.names import named_channel
from reconcile.normalise.places import place_text

_FLAT_FIELDS = ("room_id", "room_name", "building", "unit", "room")
_REFUND_CODES = (Code.X01, Code.X02)


@dataclass(frozen=True)
class Payment:
    channel: str
    amount: float  # yuan; negative: money the agency returned
    at: datetime | None  # 付款日期
    numbers: frozenset[str] = frozenset()  # 成交编号 / 认购编号 / 合同编号 as written
    flats: frozenset[str] = frozenset()  # the flat's identities (normalise.deals.flat_keys)
    source: str = ""
    order: tuple = ()


@dataclass
class Money:
    lines: list[DealLine]
    credit: dict[str, float]  # channel -> money paid and not allocated to any line (yuan)


def payments_from(frame: pl.DataFrame) -> list[Payment]:
    """The judge's payment frame (`Inputs.payments`) as payments, in file and row order."""
    found = []
    for row in frame.iter_rows(named=True):
        if not row["channel"] or row.get("amount") is None:
            continue
        numbers, flats = named_deal(row)
        found.append(
            Payment(
                channel=row["channel"],
                amount=row["amount"],
                at=row["at"],
                numbers=numbers,
                flats=flats,
                source=place_text((row["path"], row["sheet"], row["row_no"])),
                order=(row["path"], row["sheet"], row["row_no"]),
            )
        )
    return found


def named_deal(row: dict) -> tuple[frozenset[str], frozenset[str]]:
    """The deal numbers (成交编号 / 认购编号 / 合同编号) and flat identities a payment or
    claim row names, as `deals.deal_index` keys them."""
    numbers = {unicodedata.normalize("NFKC", row.get(name) or "").strip() for name, _ in NUMBERS}
    flats = cells.flat_keys(*(row.get(name) for name in _FLAT_FIELDS))
    return frozenset(numbers - {""}), frozenset(flats)


def _fen(yuan: float) -> int:
    return round(yuan * 100)


@dataclass
class _Account:
    """One line's money while payments are taken in order."""

    line: DealLine
    deal: Deal | None
    earned: int  # what the line is worth while it is owed
    owed_from: datetime | None  # when it became payable
    owed: bool  # tonight's judgement owes it, or owed it until its refund
    refund_at: datetime | None  # a refunded line: when the refund came (None: undated)
    refund: bool = False  # the line's deal was refunded (it carries X01 or X02)
    refunded: bool = False  # the refund has happened in the sweep
    paid: int = 0
    paid_at_refund: int = 0
    keep: bool = False  # clawback_on_refund off: what was paid is kept

    def key(self) -> tuple:
        moment = self.owed_from
        return (moment is None, moment.timestamp() if moment else 0.0, self.line.deal_id)

    def open_at(self, at: datetime | None) -> bool:
        """Whether a lump sum paid at `at` may go to this line."""
        if not self.owed or self.refunded:
            return False
        return self.owed_from is None or at is None or self.owed_from <= at

    def due(self) -> int:
        if self.refunded:
            return self.paid_at_refund if self.keep else 0
        return self.earned if self.owed else 0

    def need(self) -> int:
        return self.due() - self.paid


@dataclass
class _Channel:
    # Oldest payable first (`_Account.key`, fixed once an account exists): sorted once when
    # the channel's lines are all in, not at every payment.
    accounts: list[_Account] = field(default_factory=list)
    credit: int = 0
    # deal id -> the channel's first account of it in `accounts` order (a payment's line)
    by_deal: dict[str, _Account] = field(default_factory=dict)

    def add(self, account: _Account) -> None:
        self.accounts.append(account)
        self.by_deal.setdefault(account.line.deal_id, account)

    def sort(self) -> None:
        self.accounts.sort(key=_Account.key)
        self.by_deal = {}
        for account in self.accounts:
            self.by_deal.setdefault(account.line.deal_id, account)

    def fill(self, at: datetime | None, deduct: bool) -> None:
        """Credit, then (when `deduct`) claw-backs to recover, to lines owed at `at`."""
        # A fill only lowers needs to zero and raises claw-backs to zero: no line becomes a
        # donor, so the donors are known up front, and a fill with neither credit nor a
        # donor changes nothing (most fills: one runs before every payment and refund, and
        # scanning a channel's lines each time made a night quadratic in its deals).
        donors = [a for a in self.accounts if a.need() < 0] if deduct else []
        if self.credit <= 0 and not donors:
            return
        for account in self.accounts:
            if self.credit <= 0 and not donors:
                return
            if not account.open_at(at) or account.need() <= 0:
                continue
            take = min(self.credit, account.need()) if self.credit > 0 else 0
            account.paid += take
            self.credit -= take
            for donor in donors:
                if account.need() <= 0:
                    break
                excess = -donor.need()
                if excess <= 0:
                    continue
                moved = min(excess, account.need())
                donor.paid -= moved
                account.paid += moved
            donors = [donor for donor in donors if donor.need() < 0]

    def give_back(self, amount: int) -> None:
        """Money returned (`amount` < 0): against claw-backs, then what was paid, newest first."""
        self.credit += amount
        if self.credit >= 0:
            return
        for account in self.accounts:
            excess = -account.need()
            if excess > 0 and self.credit < 0:
                moved = min(excess, -self.credit)
                account.paid -= moved
                self.credit += moved
        for account in reversed(self.accounts):
            if self.credit >= 0:
                break
            if account.paid > 0:
                moved = min(account.paid, -self.credit)
                account.paid -= moved
                self.credit += moved


def allocate(
    lines: list[DealLine],
    deals: list[Deal],
    payments: list[Payment],
    rules: Rules,
    as_of_end: datetime,
) -> Money:
    """The night's lines with their payments (SPEC 6.6); `lines` as `deals.settle` gave them."""
    if not payments:
        return Money(lines, {})
    by_id = {deal.deal_id: deal for deal in deals}
    index = deal_index(deals)
    channels: dict[str, _Channel] = {}
    accounts: list[_Account] = []
    first_lines: dict[str, DealLine] = {}
    for line in lines:
        account = _account(line, by_id.get(line.deal_id), rules)
        accounts.append(account)
        first_lines.setdefault(line.deal_id, line)
        if line.channel is not None:
            channels.setdefault(line.channel, _Channel()).accounts.append(account)
    for book in channels.values():
        book.sort()
    known = frozenset(channels) | rules.known_channels

    # Refunds and payments in time order; a payment on the refund's day came first.
    events: list[tuple[tuple, int, object]] = []
    for payment in payments:
        payment = replace(payment, channel=named_channel(payment.channel, known))
        events.append(((payment.at is None, payment.at or as_of_end), 0, payment))
    for account in accounts:
        if account.refund_at is not None:
            events.append(((False, account.refund_at), 1, account))
    events.sort(key=lambda event: (*event[0], event[1], _event_order(event[2])))

    for _, kind, item in events:
        if kind == 1:
            assert isinstance(item, _Account)
            channel = channels[item.line.channel] if item.line.channel else None
            if channel is not None:
                channel.fill(item.refund_at, deduct=False)
            item.refunded, item.paid_at_refund = True, item.paid
            continue
        assert isinstance(item, Payment)
        channel = channels.setdefault(item.channel, _Channel())
        channel.fill(item.at, deduct=False)
        amount = _fen(item.amount)
        target = _named(item, channel, index, first_lines, accounts)
        if target is not None:
            target.paid += amount
        elif amount < 0:
            channel.give_back(amount)
        else:
            channel.credit += amount
            channel.fill(item.at, deduct=True)
    for channel in channels.values():
        channel.fill(as_of_end, deduct=False)
    for account in accounts:
        if account.refund and not account.refunded:  # an undated refund: as of the night
            account.refunded, account.paid_at_refund = True, account.paid

    return Money(
        [_settled(account, rules) for account in accounts],
        {name: channel.credit / 100 for name, channel in sorted(channels.items())},
    )


def _event_order(item: object) -> tuple:
    if isinstance(item, Payment):
        return (0, item.order)
    assert isinstance(item, _Account)
    return (1, (item.line.deal_id, item.line.channel or ""))


def _account(line: DealLine, deal: Deal | None, rules: Rules) -> _Account:
    refunded = bool(set(line.reason_codes) & set(_REFUND_CODES))
    stage_at = deal.reached_at(rules.deal.commission_stage) if deal is not None else None
    if refunded and deal is not None and line.channel is not None:
        refund_at = deal.stage_at.get(REFUNDED)
        # An undated refund gives no window in which the line was owed.
        owed = refund_at is not None and refund.payable_before(rules, deal)
        earned = commission_for(rules, line.channel, deal.amount) * (line.share or 1.0)
        return _Account(
            line,
            deal,
            earned=_fen(earned) if owed else 0,
            owed_from=stage_at,
            owed=owed,
            refund_at=refund_at,
            refund=True,
            keep=not rules.deal.clawback_on_refund,
        )
    payable = line.status == DealStatus.PAYABLE
    return _Account(
        line,
        deal,
        earned=_fen(line.commission) if payable else 0,
        owed_from=stage_at or line.deal_date,
        owed=payable,
        refund_at=None,
    )


def _named(
    payment: Payment,
    channel: _Channel,
    index: dict[str, list[Deal]],
    first_lines: dict[str, DealLine],
    accounts: list[_Account],
) -> _Account | None:
    """The channel's line of the deal the payment names; an adjustment line when the
    channel no longer has one; None when it names no deal the night knows."""
    found = {d.deal_id: d for key in payment.numbers | payment.flats for d in index.get(key, ())}
    if not found:
        return None
    # Several deals on one flat: the channel's own line first, then one not refunded.
    mine = channel.by_deal
    deal = min(
        found.values(),
        key=lambda d: (d.deal_id not in mine, REFUNDED in d.stage_at, d.deal_id),
    )
    if deal.deal_id in mine:
        return mine[deal.deal_id]
    first = first_lines.get(deal.deal_id)
    if first is None:
        return None
    adjustment = DealLine(
        first.deal_id,
        first.customer_phone,
        first.stage,
        first.deal_date,
        first.amount,
        OwnerType.CHANNEL,
        payment.channel,
        None,
        None,
        0.0,
        DealStatus.NOT_PAYABLE,
        (),
    )
    account = _Account(adjustment, deal, earned=0, owed_from=None, owed=False, refund_at=None)
    accounts.append(account)
    channel.add(account)
    return account


def _settled(account: _Account, rules: Rules) -> DealLine:
    line, deal = account.line, account.deal
    paid = account.paid / 100
    if deal is None or not set(line.reason_codes) & set(_REFUND_CODES):
        return replace(line, paid=paid, due=account.due() / 100)
    at_refund = account.paid_at_refund
    code = refund.decide(rules, deal, at_refund / 100) or Code.X02
    codes = tuple(c for c in line.reason_codes if c not in _REFUND_CODES) + (code,)
    if code == Code.X01:
        status, commission, due = DealStatus.CLAWBACK, -at_refund / 100, 0.0
    else:
        status, commission = DealStatus.NOT_PAYABLE, 0.0
        due = at_refund / 100 if account.keep else 0.0
    return replace(
        line, status=status, commission=commission, reason_codes=codes, paid=paid, due=due
    )
