"""Agencies' claims checked three ways (SPEC 6.6): our judgement, our payments, their claim.

Pure. In: the night's deal lines with their money (`payments.allocate`), the deals behind
them, and the agencies' claim lines (请款单/对账单) dated on or before the night. Out:
the `settlement.csv` rows, one per deal line plus one per claim line that matches none of
the claiming channel's lines, each with what was claimed and the check.

A claim line names its deal by deal number, else by flat, else by the customer's phone
(a masked pattern is fine) and name; a way that finds nothing gives way to the next.
Among the deals it finds, the claiming channel's own lines decide: one deal is the
claim's; several are `ambiguous`; none is `not_ours` (another channel's deal, or
nobody's). A channel's claims on one deal are taken from its latest statement: claims
dated later (请款日期, else the night the file arrived) replace earlier ones, and claims
of the same date add up (a deal listed twice is claimed twice, and checked so).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from reconcile.judge.deals import Deal, DealLine, deal_index, line_order
from reconcile.judge.payments import named_deal
from reconcile.judge.vocabulary import ClaimCheck, DealStatus
from reconcile.normalise.names import named_channel, names_agree, parse_name
from reconcile.normalise.phones import Phone
from reconcile.normalise.places import place_text


@dataclass(frozen=True)
class Claim:
    """One claim line of an agency's 请款单/对账单."""

    row_id: str
    channel: str
    amount: float  # yuan claimed (a 对账单 may list a claw-back as negative)
    deal_amount: float | None  # the agency's 成交金额, shown beside ours
    numbers: frozenset[str]
    flats: frozenset[str]
    phone_pattern: str | None
    customer_name: str | None
    at: datetime  # 请款日期, else the night its file arrived
    source: str
    order: tuple
    written: str  # the deal as the claim names it: a number, else the flat, else the customer


@dataclass(frozen=True)
class Settled:
    """One `settlement.csv` row (SPEC 7)."""

    deal_id: str
    channel: str | None
    agent: str | None
    share: float | None
    commission: float
    paid: float
    outstanding: float
    status: DealStatus
    claimed: float | None  # the amount claimed for this row, None when nothing was
    check: ClaimCheck
    line: DealLine | None  # None: a claim line matching none of the channel's lines
    claims: tuple[Claim, ...] = ()  # the claim lines behind `claimed`
    candidates: tuple[str, ...] = ()  # the deals an ambiguous claim fits


def claims_from(frame: pl.DataFrame) -> list[Claim]:
    """The judge's statement frame (`Inputs.statements`) as claim lines, in file order."""
    found = []
    for row in frame.iter_rows(named=True):
        if not row["channel"] or row.get("claim_amount") is None:
            continue
        numbers, flats = named_deal(row)
        found.append(
            Claim(
                row_id=row["row_id"],
                channel=row["channel"],
                amount=row["claim_amount"],
                deal_amount=row.get("amount"),
                numbers=numbers,
                flats=flats,
                phone_pattern=row["phone_pattern"],
                customer_name=row["customer_name"],
                at=row["at"] or row["first_seen_at"],
                source=place_text((row["path"], row["sheet"], row["row_no"])),
                order=(row["path"], row["sheet"], row["row_no"]),
                written=_written(row, numbers),
            )
        )
    return found


def _written(row: dict, numbers: frozenset[str]) -> str:
    if numbers:
        return min(numbers)
    flat = row.get("room_name") or "-".join(
        str(row[part]) for part in ("building", "unit", "room") if row.get(part)
    )
    if flat:
        return str(flat)
    return " ".join(part for part in (row["customer_name"], row["phone_pattern"]) if part)


def _fen(yuan: float) -> int:
    return round(yuan * 100)


def check(lines: list[DealLine], deals: list[Deal], claims: list[Claim]) -> list[Settled]:
    """The night's `settlement.csv` rows: deal lines in `deals.csv` order, then the claim
    lines matching none of their channel's lines, by channel and deal as claimed."""
    index = deal_index(deals)
    # Buyers' last four digits: a masked claim shows them, and a claim reads only the
    # deals whose buyer ends so instead of every deal of the project.
    by_tail: dict[str, list[Deal]] = defaultdict(list)
    for deal in deals:
        for tail in dict.fromkeys(buyer[-4:] for buyer in deal.buyers):
            by_tail[tail].append(deal)
    lines_of: dict[tuple[str, str], list[DealLine]] = defaultdict(list)
    for line in lines:
        if line.channel is not None:
            lines_of[(line.channel, line.deal_id)].append(line)

    on_line: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    unmatched: dict[tuple[str, str, ClaimCheck], list[Claim]] = defaultdict(list)
    fits: dict[tuple[str, str, ClaimCheck], tuple[str, ...]] = {}
    # A 请款单 may name the agency by its legal name, as a payment may.
    channels = frozenset(channel for channel, _ in lines_of)
    claims = [replace(claim, channel=named_channel(claim.channel, channels)) for claim in claims]
    for claim in claims:
        found = _found(claim, index, deals, by_tail)
        mine = sorted({d for d in found if (claim.channel, d) in lines_of})
        if len(mine) == 1:
            on_line[(claim.channel, mine[0])].append(claim)
        elif mine:
            group = (claim.channel, claim.written, ClaimCheck.AMBIGUOUS)
            unmatched[group].append(claim)
            fits[group] = tuple(mine)
        else:
            shown = found[0] if len(found) == 1 else claim.written
            unmatched[(claim.channel, shown, ClaimCheck.NOT_OURS)].append(claim)

    claiming = {claim.channel for claim in claims}
    rows: list[Settled] = []
    seen: set[tuple[str, str]] = set()
    for line in sorted(lines, key=line_order):
        key = (line.channel or "", line.deal_id)
        claimed_lines = _latest(on_line.get(key, []))
        if line.channel is None or line.channel not in claiming:
            verdict, claimed = ClaimCheck.NO_CLAIM, None
        elif claimed_lines:
            # A channel with two lines of one deal (two agents) is claimed once, on the
            # first; both show the check of the claim against their sum.
            owed = sum(_fen(other.outstanding) for other in lines_of[key])
            total = sum(_fen(claim.amount) for claim in claimed_lines)
            verdict = _verdict(total, owed)
            claimed = None if key in seen else total / 100
        else:
            verdict = ClaimCheck.UNCLAIMED if line.outstanding > 0 else ClaimCheck.NO_CLAIM
            claimed = None
        rows.append(
            Settled(
                line.deal_id,
                line.channel,
                line.agent,
                line.share,
                line.commission,
                line.paid,
                line.outstanding,
                line.status,
                claimed,
                verdict,
                line,
                tuple(claimed_lines) if key not in seen else (),
            )
        )
        seen.add(key)
    for (channel, shown, verdict), listed in sorted(unmatched.items()):
        latest = _latest(listed)
        rows.append(
            Settled(
                shown,
                channel,
                None,
                None,
                0.0,
                0.0,
                0.0,
                DealStatus.NOT_PAYABLE,
                sum(_fen(claim.amount) for claim in latest) / 100,
                verdict,
                None,
                tuple(latest),
                fits.get((channel, shown, verdict), ()),
            )
        )
    return rows


def _verdict(claimed: int, outstanding: int) -> ClaimCheck:
    if claimed == outstanding:
        return ClaimCheck.OK
    if claimed != 0 and outstanding <= 0:
        return ClaimCheck.ALREADY_PAID
    return ClaimCheck.AMOUNT_DIFFERS


def _latest(claims: list[Claim]) -> list[Claim]:
    """The claims of the latest statement date, in file order (earlier ones are replaced)."""
    if not claims:
        return []
    last = max(claim.at for claim in claims)
    return sorted((c for c in claims if c.at == last), key=lambda c: c.order)


def _found(
    claim: Claim,
    index: dict[str, list[Deal]],
    deals: list[Deal],
    by_tail: dict[str, list[Deal]],
) -> list[str]:
    """The deal ids the claim names: by number, else flat, else phone and name."""
    for keys in (claim.numbers, claim.flats):
        found = sorted({deal.deal_id for key in keys for deal in index.get(key, ())})
        if found:
            return found
    if not claim.phone_pattern:
        return []
    try:
        pattern = Phone.from_pattern(claim.phone_pattern)
    except ValueError:  # not a mobile number: nothing to fit a buyer's number to
        return []
    name = parse_name(claim.customer_name)
    candidates = by_tail.get(pattern.suffix[-4:], []) if len(pattern.suffix) >= 4 else deals
    return sorted(
        {
            deal.deal_id
            for deal in candidates
            if any(pattern.fits(buyer) for buyer in deal.buyers)
            and names_agree(name, parse_name(deal.customer_name))
        }
    )
