"""H01 申诉期内暂缓结佣: commission held while the losers can still appeal (SPEC §6.2, §6.3 Deals).

The appeal window runs from the episode's first visit for `conflict.appeal_window`. A
deal of an episode that had a collision loser or a tie is held while it is open; a
disputed deal carries H01 beside D01 while it is open.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from reconcile.config.rules import Rules
from reconcile.judge.periods import period_end
from reconcile.judge.reasons.entry import Notes, Reason, duration_text
from reconcile.judge.vocabulary import Code

if TYPE_CHECKING:
    from reconcile.judge.timeline import Episode


def appeal_end(episode: Episode, rules: Rules) -> datetime | None:
    """When losers can no longer appeal: the first visit + `conflict.appeal_window`
    (None without a visit, and for `forever`: see :func:`appeal_open`)."""
    if episode.start is None:
        return None
    return period_end(episode.start, rules.conflict.appeal_window, rules.zone)


def appeal_open(episode: Episode, rules: Rules, at: datetime) -> bool:
    """Whether losers may still appeal at `at`: the episode has a visit and its appeal
    window has not ended (`forever` never ends). The one answer for held commission
    and for the dispute report."""
    if episode.start is None:
        return False
    end = appeal_end(episode, rules)
    return end is None or at < end


def decide(episode: Episode, rules: Rules, as_of_end: datetime) -> bool:
    """Whether a channel's deal of this episode is held tonight: unruled, with a
    collision loser or a tie, inside the appeal window."""
    return not episode.ruled and episode.had_collision and appeal_open(episode, rules, as_of_end)


def _notes(rules: Rules) -> str:
    # The window runs from the episode's start: the report in report mode (SPEC 6.8).
    start = "报备" if rules.conflict.mode == "report" else "到访"
    return (
        f"{start}后 {duration_text(rules.conflict.appeal_window)}内可向案场申诉；"
        f"期内涉及撞单的佣金暂缓结算{REASON.cited}"
    )


REASON = Reason(
    Code.H01,
    "申诉期内暂缓结佣",
    "A deal of an episode with a collision loser or a tie is held while the appeal window "
    "(conflict.appeal_window from the first visit) is open (SPEC §6.2, §6.3 Deals).",
    decide=(decide, appeal_open),
    notes=Notes("申诉期", _notes),
    confidential=True,
    receipt="结佣审核中",
)
