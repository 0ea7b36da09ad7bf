"""C01 撞单-他方优先 and D01 撞单待裁决: the contest between candidates at a decisive
visit (SPEC §6.2, §6.3; docs/judge.md stage 3, steps 2, 3 and 6).

One ranking decides both: `conflict.order` (`first_visit` puts candidates whose channel
brought the customer first, `first_report` orders by 报备时间, reports closer than
`conflict.min_gap` counting as simultaneous). When the candidates no rule separates
from the best belong to several channels, it is a tie (D01, the owner is disputed);
otherwise the earliest report of them wins and every other candidate lost (C01).
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime
from typing import TYPE_CHECKING

from reconcile.config.rules import Rules
from reconcile.judge.periods import local_day, period_end
from reconcile.judge.reasons.entry import Notes, Reason, duration_text
from reconcile.judge.vocabulary import Code

if TYPE_CHECKING:
    from reconcile.judge.timeline import Report

_ORDER_LABELS = {"first_visit": "先带客户到访者优先", "first_report": "先报备者优先"}


def rank(rules: Rules, pool: list[Report], bringers: list[str]) -> list[Report]:
    """The candidates no rule of `conflict.order` separates from the best: several
    channels among them are a tie (D01), one channel wins with its earliest report."""
    remaining = list(pool)
    for rule in rules.conflict.order:
        if rule == "first_visit":
            if any(r.channel in bringers for r in remaining):
                remaining = [r for r in remaining if r.channel in bringers]
        else:
            remaining = _not_preceded(rules, remaining)
    return remaining


def first_reported(rules: Rules, reports: list[Report]) -> list[Report]:
    """The reports no other one certainly preceded (`min_gap`, SPEC §6.4): in report mode
    (SPEC 6.8) a rival reported this close to the holder ties with it."""
    return _not_preceded(rules, reports)


def _not_preceded(rules: Rules, reports: list[Report]) -> list[Report]:
    """Those no other report certainly reported first, in n·log n.

    A date-only report is preceded exactly when some report is of an earlier day (on the
    same day the order is unknown, SPEC §6.4). A timed one also when some timed report is
    earlier by `min_gap`: the one whose end of `min_gap` comes first among those made
    before it (prefix minima of those ends over the timed reports in time order), so no
    pair is compared.
    """
    if len(reports) < 2:
        return list(reports)
    zone = rules.zone
    first_day = min(local_day(r.at, zone) for r in reports)
    undated = [local_day(r.at, zone) for r in reports if not r.time_known]
    first_undated_day = min(undated) if undated else None
    timed = sorted(r.at for r in reports if r.time_known)
    gap = rules.conflict.min_gap
    soonest: list[datetime | None] = []  # the first gap end among timed[: i + 1]
    if gap is not None:
        for at in timed:
            end = period_end(at, gap, zone)
            if soonest and soonest[-1] is not None and (end is None or soonest[-1] < end):
                end = soonest[-1]
            soonest.append(end)
    kept = []
    for report in reports:
        day = local_day(report.at, zone)
        if not report.time_known:
            preceded = first_day < day
        else:
            preceded = first_undated_day is not None and first_undated_day < day
            earlier = bisect_left(timed, report.at)  # timed reports made before it
            if not preceded and earlier:
                end = soonest[earlier - 1] if gap is not None else report.at
                preceded = end is not None and report.at >= end
        if not preceded:
            kept.append(report)
    return kept


def _notes(rules: Rules) -> str:
    conflict = rules.conflict
    order = " → ".join(_ORDER_LABELS[step] for step in conflict.order)
    text = f"多个渠道都有效报备同一客户时，依次按：{order}"
    if conflict.min_gap is not None:
        text += (
            f"；两条报备相隔不到 {duration_text(conflict.min_gap)}视为同时，由案场裁决{D01.cited}"
        )
    return text


NOTES = Notes("撞单", _notes)
C01 = Reason(
    Code.C01,
    "撞单-他方优先",
    "A candidate report, linked and protected at the decisive visit, that conflict.order "
    "ranks behind another channel's is lost (SPEC §6.2, §6.3 Report statuses).",
    decide=(rank,),
    notes=NOTES,
    confidential=True,
    receipt="客户已有归属，详情请咨询案场",
)
D01 = Reason(
    Code.D01,
    "撞单待裁决",
    "Candidates of different channels that conflict.order cannot separate (reported "
    "less than conflict.min_gap apart, or on one day with one of them date-only) tie: "
    "the owner is disputed until a ruling (SPEC §6.2, §6.4).",
    decide=(rank,),
    notes=NOTES,
    confidential=True,
    receipt="归属审核中",
)
