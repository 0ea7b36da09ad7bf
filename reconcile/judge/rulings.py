"""Stage 5 of the judge: the admin's rulings (裁决表) override the automatic result.

A ruling applies to the customer's episode that started at or before its date (the
latest such), else to the first one; a customer with no episode gets one from the
ruling. Every override keeps the ruling's source in `flags`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from reconcile.config.rules import Rules
from reconcile.judge.reasons import j01, p01
from reconcile.judge.timeline import Episode, Report
from reconcile.judge.vocabulary import Code, OwnerType, ReportStatus


@dataclass(frozen=True, slots=True)
class Ruling:
    row_id: str
    phone: str
    at: datetime | None
    owner: str | None
    agent: str | None
    shares: tuple[tuple[str, float], ...]
    source: str
    order: tuple
    natural: bool = False  # 归属渠道 自然到访: no channel holds the customer

    @property
    def channels(self) -> list[str]:
        named = [channel for channel, _ in self.shares]
        return named or ([self.owner] if self.owner else [])


def parse_shares(text: str | None) -> tuple[tuple[str, float], ...]:
    if not text:
        return ()
    value = json.loads(text)
    if isinstance(value, str):  # stored as JSON text inside the row's JSON
        value = json.loads(value)
    return tuple((str(channel), float(share)) for channel, share in value)


def apply_rulings(
    phone: str,
    episodes: list[Episode],
    rulings: list[Ruling],
    reports: list[Report],
    rules: Rules,
) -> list[Episode]:
    """Episodes after the customer's rulings, latest ruling last so it prevails."""
    for ruling in sorted(rulings, key=lambda r: (r.at is None, r.at, r.order)):
        episode = _episode_for(ruling, episodes)
        if episode is None:
            episode = Episode(phone, OwnerType.CHANNEL, None, None)
            episodes.append(episode)
        _override(episode, ruling, reports, rules)
    return episodes


def _episode_for(ruling: Ruling, episodes: list[Episode]) -> Episode | None:
    started = [e for e in episodes if e.first_visit_at is not None]
    if ruling.at is not None:
        before = [e for e in started if e.first_visit_at <= ruling.at]  # type: ignore[operator]
        if before:
            return before[-1]
    return started[0] if started else (episodes[0] if episodes else None)


def _override(episode: Episode, ruling: Ruling, reports: list[Report], rules: Rules) -> None:
    if ruling.natural:
        _natural(episode, ruling)
        return
    shares = j01.decide(rules, ruling, episode)
    # The ruled channel comes first: the one the ruling names, else the first of its split.
    ruled = sorted((channel for channel, _ in shares), key=lambda c: c != ruling.owner)
    mine = [r for r in reports if r.phone == episode.phone]
    chosen: dict[str, Report] = {}
    for report in sorted(mine, key=lambda r: (r not in episode.contested, r.at, r.order)):
        if report.channel in ruled and report.channel not in chosen:
            chosen[report.channel] = report
    for report in episode.contested:
        if report.channel not in ruled:
            report.status, report.codes = ReportStatus.LOST, [Code.C01, Code.J01]
    for report in chosen.values():
        report.status, report.codes = ReportStatus.VALID, [Code.J01]
        if report not in episode.contested:
            episode.contested.append(report)
    if not episode.holds_by_visit:
        # The developer's episode becomes the ruled channel's: visit protection from its visit.
        episode.until = (
            p01.protection_end(rules, episode.first_visit_at)
            if episode.first_visit_at is not None
            else None
        )
    episode.owner_type = OwnerType.CHANNEL
    episode.channels = ruled
    episode.shares = shares
    episode.report = chosen.get(ruled[0])
    episode.agent = ruling.agent or (episode.report.agent if episode.report else None)
    episode.ruled = True
    episode.codes = [Code.J01]
    # What the automatic contest found of ties and losers gives way to the ruling's.
    lost = sorted({r.channel for r in episode.contested if r.status == ReportStatus.LOST})
    episode.flags.tie = ()
    episode.flags.lost = tuple(lost)
    episode.flags.split = tuple(shares) if len(shares) > 1 else ()
    episode.flags.ruling = ruling.source


def _natural(episode: Episode, ruling: Ruling) -> None:
    """A ruling that no channel holds the customer (归属渠道 自然到访): every candidate
    report loses, the episode is the developer's own, its deals pay nobody (N01)."""
    for report in episode.contested:
        report.status, report.codes = ReportStatus.LOST, [Code.C01, Code.J01]
    episode.owner_type = OwnerType.NATURAL
    episode.channels = []
    episode.shares = []
    episode.report = None
    episode.agent = None
    episode.ruled = True
    episode.codes = [Code.N01, Code.J01]
    episode.flags.tie = ()
    episode.flags.lost = tuple(sorted({r.channel for r in episode.contested}))
    episode.flags.split = ()
    episode.flags.ruling = ruling.source


def share_text(share: float | None) -> str:
    """`0.5`, `1`: a share as the CSVs and flags write it."""
    return "" if share is None else f"{share:.2f}".rstrip("0").rstrip(".")
