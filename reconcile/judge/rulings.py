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
from reconcile.judge.periods import period_end
from reconcile.judge.timeline import Episode, Report


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
            episode = Episode(phone, "channel", None, None)
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
    shares = list(ruling.shares)
    automatic = (
        episode.channels[0] if episode.owner_type == "channel" and episode.channels else None
    )
    if not shares and ruling.owner:
        appellant_lost = any(
            r.channel == ruling.owner and r.status == "lost" for r in episode.contested
        )
        if appellant_lost and automatic and automatic != ruling.owner and not episode.ruled:
            first, second = rules.conflict.upheld_split[:2]
            shares = [(automatic, first), (ruling.owner, second)]
        else:
            shares = [(ruling.owner, 1.0)]
    # The ruled channel comes first: the one the ruling names, else the first of its split.
    ruled = sorted((channel for channel, _ in shares), key=lambda c: c != ruling.owner)
    mine = [r for r in reports if r.phone == episode.phone]
    chosen: dict[str, Report] = {}
    for report in sorted(mine, key=lambda r: (r not in episode.contested, r.at, r.order)):
        if report.channel in ruled and report.channel not in chosen:
            chosen[report.channel] = report
    for report in episode.contested:
        if report.channel not in ruled:
            report.status, report.codes = "lost", ["C01", "J01"]
    for report in chosen.values():
        report.status, report.codes = "valid", ["J01"]
        if report not in episode.contested:
            episode.contested.append(report)
    if not episode.holds_by_visit:
        # The developer's episode becomes the ruled channel's: visit protection from its visit.
        episode.until = (
            period_end(episode.first_visit_at, rules.visit.protection, rules.zone)
            if episode.first_visit_at is not None
            else None
        )
    episode.owner_type = "channel"
    episode.channels = ruled
    episode.shares = shares
    episode.report = chosen.get(ruled[0])
    episode.agent = ruling.agent or (episode.report.agent if episode.report else None)
    episode.ruled = True
    episode.codes = ["J01"]
    episode.flags = [
        f for f in episode.flags if not f.startswith(("tie=", "lost=", "split=", "ruling="))
    ]
    episode.flags.extend(
        sorted({f"lost={r.channel}" for r in episode.contested if r.status == "lost"})
    )
    if len(shares) > 1:
        episode.flags.append("split=" + ";".join(f"{c}:{share_text(s)}" for c, s in shares))
    episode.flags.append(f"ruling={ruling.source}")


def share_text(share: float | None) -> str:
    """`0.5`, `1`: a share as the CSVs and flags write it."""
    return "" if share is None else f"{share:.2f}".rstrip("0").rstrip(".")
