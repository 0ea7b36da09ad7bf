"""J01 按裁决: a ruling decided it (SPEC §6.2, §6.3 Rulings; docs/judge.md stage 5).

The ruling's shares are its own (`分成`), else the named owner's whole; a ruling that
names, without shares, a channel that lost the automatic contest upholds its appeal:
the automatic owner and the appellant share by `conflict.upheld_split`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconcile.config.rules import Rules
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code, OwnerType, ReportStatus

if TYPE_CHECKING:
    from reconcile.judge.rulings import Ruling
    from reconcile.judge.timeline import Episode


def decide(rules: Rules, ruling: Ruling, episode: Episode) -> list[tuple[str, float]]:
    """The shares a ruling gives on `episode`, the owner first when it names one."""
    if ruling.shares or not ruling.owner:
        return list(ruling.shares)
    automatic = (
        episode.channels[0]
        if episode.owner_type == OwnerType.CHANNEL and episode.channels
        else None
    )
    appellant_lost = any(
        r.channel == ruling.owner and r.status == ReportStatus.LOST for r in episode.contested
    )
    if appellant_lost and automatic and automatic != ruling.owner and not episode.ruled:
        first, second = rules.conflict.upheld_split
        return [(automatic, first), (ruling.owner, second)]
    return [(ruling.owner, 1.0)]


REASON = Reason(
    Code.J01,
    "按裁决",
    "An admin's ruling (裁决表) sets the owner or shares of an episode: every channel "
    "given a share has its report valid, the others lost; an upheld appeal without "
    "shares splits by conflict.upheld_split (SPEC §6.2, §6.3 Rulings).",
    decide=(decide,),
    confidential=True,
)
