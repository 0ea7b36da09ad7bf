"""K06 家庭成员: a spouse or relative who comes later belongs to the household's first
receptionist (seed 002: 客户中家庭有一方先来看房，另一方后来看房，成交后以先接待者为准;
SPEC 6.7).

Households are the numbers the 配偶/家属 columns join (SPEC 5). The household's earliest
record still valid at the newcomer's first reception decides; a household whose
records have all lapsed leaves the newcomer to the receptionist (K01).
"""

from __future__ import annotations

from collections.abc import Iterable

from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code


def decide(records: Iterable[tuple[int, int, str]], at: int) -> str | None:
    """The consultant of the household's earliest record valid at `at`, if any.
    `records`: the other members' records as (start, exclusive end, consultant)."""
    holding = [(start, who) for start, end, who in records if start <= at < end]
    return min(holding)[1] if holding else None


REASON = Reason(
    Code.K06,
    "家庭成员",
    "A spouse or relative who comes later belongs to the household's first receptionist "
    "while that record is valid (SPEC 6.7).",
    decide=(decide,),
)
