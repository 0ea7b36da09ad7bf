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
    relatives: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)

    @property
    def stage(self) -> str:
        reached = [s for s in STAGES if s in self.stage_at]
        return reached[-1] if reached else "认购"

    @property
    def deal_date(self) -> datetime | None:
        dated = [at for at in self.stage_at.values() if at is not None]
        return min(dated) if dated else None

    def reached_at(self, stage: str) -> datetime | None:
        """When the deal reached `stage` (a later stage implies the earlier ones)."""
        index = STAGES.index(stage)
        dated = [
            self.stage_at[s] for s in STAGES[index:2] if s in self.stage_at and self.stage_at[s]
        ]
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
    episode: Episode | None
    sources: tuple[str, ...]


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
    def line(owner_type, channel, agent, share, commission, status, codes) -> DealLine:
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
            episode,
            tuple(deal.sources),
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
        if _appeal_open(episode, rules, as_of_end):
            codes.append("H01")
        return [line("disputed", None, None, None, 0.0, "held", codes)]
    shares = episode.shares or [(episode.channels[0], 1.0)]
    deal_rules = rules.deal
    payable_at = deal.reached_at(deal_rules.commission_stage)
    reached = _reached_stage(deal, deal_rules.commission_stage)
    refunded = "退房" in deal.stage_at
    refunded_at = deal.stage_at.get("退房")
    base_codes = ["J01"] if episode.ruled else []
    out = []
    for channel, share in shares:
        agent = episode.agent if channel == episode.channels[0] else _agent_of(episode, channel)
        full = _commission(rules, channel, deal.amount) * share
        if refunded:
            paid_before = reached and (
                payable_at is None or refunded_at is None or payable_at < refunded_at
            )
            if paid_before and deal_rules.clawback_on_refund:
                out.append(
                    line("channel", channel, agent, share, -full, "clawback", [*base_codes, "X01"])
                )
            else:
                out.append(
                    line("channel", channel, agent, share, 0.0, "not_payable", [*base_codes, "X01"])
                )
        elif not reached:
            out.append(
                line("channel", channel, agent, share, 0.0, "not_payable", [*base_codes, "S01"])
            )
        elif (
            not episode.ruled and episode.had_collision and _appeal_open(episode, rules, as_of_end)
        ):
            out.append(line("channel", channel, agent, share, full, "held", ["H01"]))
        else:
            out.append(line("channel", channel, agent, share, full, "payable", base_codes))
    return out


def _reached_stage(deal: Deal, stage: str) -> bool:
    index = STAGES.index(stage)
    return any(s in deal.stage_at for s in STAGES[index:2])


def _appeal_open(episode: Episode, rules: Rules, as_of_end: datetime) -> bool:
    if episode.first_visit_at is None:
        return False
    end = period_end(episode.first_visit_at, rules.conflict.appeal_window, rules.zone)
    return end is None or as_of_end < end


def _agent_of(episode: Episode, channel: str) -> str | None:
    return next((r.agent for r in episode.contested if r.channel == channel and r.agent), None)


def _commission(rules: Rules, channel: str, amount: float | None) -> float:
    term = rules.commission.channels.get(channel, rules.commission.default)
    if term.fixed is not None:
        return term.fixed
    return (amount or 0.0) * (term.rate or 0.0)
