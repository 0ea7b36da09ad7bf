"""Stage 4 of the judge: deals, their owner on the deal date, and commission.

A deal is every row with the same deal id (成交编号, else 房号). The owner is the
episode of the buyer, or of a household member (配偶/家属 columns), that holds on
the deal date; among several, the one with the earliest valid report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from reconcile.judge.timeline import Episode
from reconcile.periods import period_end
from reconcile.rules import Rules

STAGES = ("认购", "签约", "退房")


@dataclass(slots=True)
class Deal:
    deal_id: str
    phone: str | None = None
    amount: float | None = None
    stage_at: dict[str, datetime | None] = field(default_factory=dict)  # stage -> earliest date
    customer_name: str | None = None  # the latest the CRM rows gave, in file order
    sources: list[tuple[str, str, int]] = field(default_factory=list)  # (path, sheet, row)

    @property
    def source_texts(self) -> tuple[str, ...]:
        """`file#sheet!row` of every CRM row behind the deal, in file order, once each."""
        return tuple(dict.fromkeys(f"{p}#{s}!{r}" for p, s, r in sorted(self.sources)))

    @property
    def stage(self) -> str:
        reached = [s for s in STAGES if s in self.stage_at]
        return reached[-1] if reached else "认购"

    @property
    def deal_date(self) -> datetime | None:
        dated = [at for at in self.stage_at.values() if at is not None]
        return min(dated) if dated else None

    def _implied(self, stage: str) -> list[str]:
        """Stages recorded that imply `stage`: 签约 implies 认购; 退房 implies neither."""
        return [s for s in STAGES[STAGES.index(stage) : 2] if s in self.stage_at]

    def reached(self, stage: str) -> bool:
        return bool(self._implied(stage))

    def reached_at(self, stage: str) -> datetime | None:
        """When the deal reached `stage`, if that was dated."""
        dated = [at for s in self._implied(stage) if (at := self.stage_at[s]) is not None]
        return min(dated) if dated else None


@dataclass(frozen=True, slots=True)
class DealLine:
    deal_id: str
    customer_phone: str | None
    stage: str
    deal_date: datetime | None
    amount: float | None
    owner_type: str
    channel: str | None
    agent: str | None
    share: float | None
    commission: float
    status: str
    reason_codes: tuple[str, ...]
    # Held lines: when the appeal window closes (for D01 the ruling may come later still).
    held_until: datetime | None = None


class Households:
    """Numbers joined by 配偶/家属 columns (union-find)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._groups: dict[str, list[str]] | None = None

    def find(self, phone: str) -> str:
        parent = self._parent.setdefault(phone, phone)
        if parent != phone:
            parent = self._parent[phone] = self.find(parent)
        return parent

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)
        self._groups = None

    def members(self, phone: str) -> list[str]:
        if phone not in self._parent:
            return [phone]
        if self._groups is None:
            groups: dict[str, list[str]] = {}
            for member in sorted(self._parent):
                groups.setdefault(self.find(member), []).append(member)
            self._groups = groups
        return self._groups[self.find(phone)]


def _holds(episode: Episode, at: datetime) -> bool:
    """Whether the episode holds on the deal's day.

    Deal dates carry no clock time, so a deal dated the day of the first visit is
    inside the episode, and one dated the last protected day too.
    """
    if episode.first_visit_at is None:
        return True
    day_end = _day_end(at)
    return episode.first_visit_at < day_end and (episode.until is None or at < episode.until)


def _day_end(at: datetime) -> datetime:
    return datetime.combine(at.date() + timedelta(days=1), time(0), at.tzinfo)


def _owner(
    deal: Deal, members: list[str], episodes: dict[str, list[Episode]]
) -> tuple[Episode | None, Episode | None]:
    """The episode holding on the deal date, else the channel episode that lapsed before it."""
    at = deal.deal_date
    mine = [e for phone in members for e in episodes.get(phone, [])]
    if at is None:
        ordered = sorted(mine, key=lambda e: (e.first_visit_at is None, e.first_visit_at))
        return (ordered[-1] if ordered else None), None
    holding = [e for e in mine if _holds(e, at)]
    channel = [e for e in holding if e.holds_by_visit]
    if channel:
        return min(channel, key=_claim_time), None
    own = [e for e in episodes.get(deal.phone or "", []) if e in holding] or holding
    if own:
        return own[0], None
    lapsed = [
        e
        for e in mine
        if e.holds_by_visit and e.first_visit_at is not None and e.first_visit_at < _day_end(at)
    ]
    return None, (max(lapsed, key=lambda e: e.first_visit_at) if lapsed else None)  # type: ignore[arg-type, return-value]


def _claim_time(episode: Episode) -> tuple:
    report = episode.report
    return (report is None, report.at if report else None, episode.first_visit_at)


def settle(
    deals: list[Deal],
    episodes: dict[str, list[Episode]],
    households: Households,
    rules: Rules,
    as_of_end: datetime,
) -> list[DealLine]:
    lines: list[DealLine] = []
    for deal in deals:
        episode, lapsed = _owner(
            deal, households.members(deal.phone) if deal.phone else [], episodes
        )
        lines.extend(_lines(deal, episode, lapsed, rules, as_of_end))
    return lines


def _lines(
    deal: Deal, episode: Episode | None, lapsed: Episode | None, rules: Rules, as_of_end: datetime
) -> list[DealLine]:
    def line(
        owner_type, channel, agent, share, commission, status, codes, held_until=None
    ) -> DealLine:
        return DealLine(
            deal.deal_id,
            deal.phone,
            deal.stage,
            deal.deal_date,
            deal.amount,
            owner_type,
            channel,
            agent,
            share,
            round(commission, 2),
            status,
            tuple(codes),
            held_until,
        )

    if lapsed is not None:
        # The channel's visit protection ended before the deal: its customer, but no commission.
        return [
            line("channel", channel, lapsed.agent, None, 0.0, "not_payable", ["P01"])
            for channel in lapsed.channels
        ]
    if episode is None or episode.owner_type in ("natural", "existing"):
        owner_type = episode.owner_type if episode is not None else "natural"
        code = "E01" if owner_type == "existing" else "N01"
        return [line(owner_type, None, None, None, 0.0, "not_payable", [code])]
    if episode.owner_type == "disputed":
        # No owner yet, so no sharing channel: one row until a ruling names one.
        codes = ["D01"]
        deadline = appeal_end(episode, rules)
        if _appeal_open(episode, rules, as_of_end):
            codes.append("H01")
        return [line("disputed", None, None, None, 0.0, "held", codes, deadline)]
    shares = episode.shares or [(episode.channels[0], 1.0)]
    stage = rules.deal.commission_stage
    codes = ["J01"] if episode.ruled else []
    if "退房" in deal.stage_at:
        paid_at, refunded_at = deal.reached_at(stage), deal.stage_at["退房"]
        paid_before = deal.reached(stage) and (
            paid_at is None or refunded_at is None or paid_at < refunded_at
        )
        clawback = paid_before and rules.deal.clawback_on_refund
        status, sign, codes = (
            ("clawback" if clawback else "not_payable"),
            -int(clawback),
            [*codes, "X01" if clawback else "X02"],
        )
    elif not deal.reached(stage):
        status, sign, codes = "not_payable", 0, [*codes, "S01"]
    elif not episode.ruled and episode.had_collision and _appeal_open(episode, rules, as_of_end):
        status, sign, codes = "held", 1, ["H01"]
    else:
        status, sign = "payable", 1
    return [
        line(
            "channel",
            channel,
            episode.agent if channel == episode.channels[0] else _agent_of(episode, channel),
            share,
            sign * commission_for(rules, channel, deal.amount) * share,
            status,
            codes,
            appeal_end(episode, rules) if status == "held" else None,
        )
        for channel, share in shares
    ]


def appeal_end(episode: Episode, rules: Rules) -> datetime | None:
    """When losers can no longer appeal: the first visit + `conflict.appeal_window`."""
    if episode.first_visit_at is None:
        return None
    return period_end(episode.first_visit_at, rules.conflict.appeal_window, rules.zone)


def _appeal_open(episode: Episode, rules: Rules, as_of_end: datetime) -> bool:
    if episode.first_visit_at is None:
        return False
    end = appeal_end(episode, rules)
    return end is None or as_of_end < end


def _agent_of(episode: Episode, channel: str) -> str | None:
    return next((r.agent for r in episode.contested if r.channel == channel and r.agent), None)


def commission_for(rules: Rules, channel: str, amount: float | None) -> float:
    """A whole deal's commission for `channel`: its rate of the amount, or its fixed sum."""
    term = rules.commission.channels.get(channel, rules.commission.default)
    if term.fixed is not None:
        return term.fixed
    return (amount or 0.0) * (term.rate or 0.0)
