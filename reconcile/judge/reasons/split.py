"""K02 客户指定他人接待 and K03 协助接待: how a deal splits when someone other than the
owner received the customer while the owner's record was valid (SPEC 6.7).

One function decides both, from the latest such reception up to the deal:
- the customer asked for the receptionist (指定顾问 naming them): `designated_other`
  [the asked-for, the owner], K02 (seed 002's "designated at the N-th visit, 50/50" is
  `designated_other: [0.5, 0.5]`);
- a 协助/代接 cell marks that the receptionist received on the owner's behalf:
  `assisted` [the owner, the assistant], K03; with `assisted_same_day_only` (seed 001)
  the assistant shares only when the deal reaches `deal.commission_stage` on a day they
  assisted, at `assisted_same_day_split`, and otherwise the owner keeps it alone.
Consultants whose share is 0 are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconcile.config.rules import ConsultantRules
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code

DESIGNATED, ASSISTED = "designated", "assisted"


@dataclass(frozen=True, slots=True)
class Help:
    """A reception by someone other than the owner during the owner's record."""

    role: str  # DESIGNATED | ASSISTED
    consultant: str  # the receptionist: the asked-for consultant, or the assistant
    day: int  # its local calendar day, as days since 1970-01-01


def shares(
    owner: str, helps: list[Help], reached_day: int | None, rules: ConsultantRules
) -> tuple[list[tuple[str, float]], Code | None]:
    """The deal's shares among consultants, and the code that split it (None: the owner
    alone). `helps`: the record's other receptions up to the deal, in time order;
    `reached_day`: the local day the deal reached `deal.commission_stage`, if it did."""
    if not helps:
        return [(owner, 1.0)], None
    latest = helps[-1]
    if latest.role == DESIGNATED:
        split = [(latest.consultant, rules.designated_other[0]), (owner, rules.designated_other[1])]
        return _kept(split), Code.K02
    if not rules.assisted_same_day_only:
        return _kept([(owner, rules.assisted[0]), (latest.consultant, rules.assisted[1])]), Code.K03
    same_day = [h for h in helps if h.role == ASSISTED and h.day == reached_day]
    if reached_day is None or not same_day:
        return [(owner, 1.0)], None
    pair = rules.assisted_same_day_split
    return _kept([(owner, pair[0]), (same_day[-1].consultant, pair[1])]), Code.K03


def _kept(split: list[tuple[str, float]]) -> list[tuple[str, float]]:
    merged: dict[str, float] = {}
    for consultant, share in split:
        merged[consultant] = merged.get(consultant, 0.0) + share
    return [(consultant, share) for consultant, share in merged.items() if share > 0]


K02 = Reason(
    Code.K02,
    "客户指定他人接待",
    "The customer asked for another consultant while the owner's record was valid: the deal "
    "is split designated_other [asked-for, owner] (SPEC 6.7).",
    decide=(shares,),
)
K03 = Reason(
    Code.K03,
    "协助接待",
    "A colleague received the customer on the owner's behalf (协助/代接): the deal is split "
    "assisted [owner, assistant], or only on the same day with assisted_same_day_only "
    "(SPEC 6.7).",
    decide=(shares,),
)
