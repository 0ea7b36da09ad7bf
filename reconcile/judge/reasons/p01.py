"""P01 到访保护期已过: the channel's visit protection ended before the deal (SPEC §6.2,
§6.3 Renewal; docs/judge.md stage 3 and "Deals across nights").

A channel episode protects from its first visit for `visit.protection`. When the
owner's channel brings the customer again inside the last `renewal.window` of the
period, it is renewed: the new period starts at the old end (day 1) and lasts
`renewal.extend`; repeats are allowed. A deal dated after the protection (renewed or
not) ended, with nobody holding, is the lapsed channel's customer without commission.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from reconcile.config.rules import Rules
from reconcile.judge.periods import period_end, window_start
from reconcile.judge.reasons.entry import Notes, Reason, duration_text, period_text
from reconcile.judge.vocabulary import Code

if TYPE_CHECKING:
    from reconcile.judge.timeline import Episode


def protection_end(rules: Rules, first_visit_at: datetime) -> datetime | None:
    """The end of the visit protection that starts at the first visit (None: forever)."""
    return period_end(first_visit_at, rules.visit.protection, rules.zone)


def renews(
    rules: Rules, until: datetime | None, at: datetime, bringers: list[str], holders: list[str]
) -> bool:
    """Whether a revisit at `at` renews the protection ending at `until`: one of the
    holders brought the customer inside the last `renewal.window` before the end."""
    renewal = rules.visit.renewal
    if renewal is None or until is None or not set(bringers) & set(holders):
        return False
    return window_start(until, renewal.window, rules.zone) <= at < until


def renewal_end(rules: Rules, until: datetime) -> datetime | None:
    """The end of the renewed period: `renewal.extend` from the old end."""
    renewal = rules.visit.renewal
    assert renewal is not None, "renews() said the rules renew"
    return period_end(until, renewal.extend, rules.zone)


def lapsed(episodes: list[Episode], day_end: datetime) -> Episode | None:
    """P01 for a deal nobody holds on its day (ending at `day_end`): the latest channel
    episode whose first visit came before, which has lapsed."""
    before = [e for e in episodes if e.holds_by_visit and e.start is not None and e.start < day_end]
    return max(before, key=lambda e: e.start or day_end) if before else None


def _notes(rules: Rules) -> str:
    visit = rules.visit
    text = period_text(visit.protection, "首次到访时间", "首次到访当天")
    renewal = visit.renewal
    if visit.protection.forever:
        return text
    if renewal is None:
        return f"{text}；不续期"
    return (
        f"{text}；保护期最后 {duration_text(renewal.window)}内原渠道再次带看的，"
        f"从到期次日起延长 {duration_text(renewal.extend)}"
    )


REASON = Reason(
    Code.P01,
    "到访保护期已过",
    "A deal made after the owning channel's visit protection (visit.protection, renewed "
    "by visit.renewal) ended is that channel's customer but not payable (SPEC §6.2, §6.3).",
    decide=(lapsed, renews, protection_end),
    notes=Notes("到访保护期", _notes),
)
