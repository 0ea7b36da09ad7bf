"""X01 退房追回 and X02 退房无需追回: what a refunded deal owes (SPEC §6.2, §6.3 Deals, §6.6).

One decision gives either. With `deal.clawback_on_refund` off nothing is clawed back (X02).
A workspace that keeps payment records (SPEC 6.6) claws back only what had actually been
paid on the line when the refund came (X01), and a refund of an unpaid line is X02. A
workspace without any payment records keeps 6.3's rule: a refund after the deal reached
`deal.commission_stage` is assumed paid in full and claws the whole commission back (X01).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconcile.config.rules import Rules
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code
from reconcile.normalise.deals import STAGES

if TYPE_CHECKING:
    from reconcile.judge.deals import Deal

REFUNDED = STAGES[-1]


def payable_before(rules: Rules, deal: Deal) -> bool:
    """Whether the deal reached the commission stage before its refund (it was owed)."""
    refunded_at = deal.stage_at.get(REFUNDED)
    stage = rules.deal.commission_stage
    payable_at = deal.reached_at(stage)
    return deal.reached(stage) and (
        payable_at is None or refunded_at is None or payable_at < refunded_at
    )


def decide(rules: Rules, deal: Deal, paid: float | None = None) -> Code | None:
    """X01 or X02 for a refunded deal; None when it was not refunded.

    `paid`: what the line had been paid when the refund came, or None when the
    workspace keeps no payment records (then 6.3's rule assumes the commission paid).
    """
    if REFUNDED not in deal.stage_at:
        return None
    if not rules.deal.clawback_on_refund:
        return Code.X02
    if paid is None:
        return Code.X01 if payable_before(rules, deal) else Code.X02
    return Code.X01 if paid > 0 else Code.X02


X01 = Reason(
    Code.X01,
    "退房追回",
    "A refund claws back what was paid on the line as a negative line when "
    "deal.clawback_on_refund: with payment records the part actually paid, without any "
    "the whole commission once the commission stage was reached (SPEC §6.3 Deals, §6.6).",
    decide=(decide,),
)
X02 = Reason(
    Code.X02,
    "退房无需追回",
    "A refund of a line nothing was paid on (or before any commission was due), or with "
    "clawback_on_refund off, is not payable and claws nothing back (SPEC §6.2, §6.6).",
    decide=(decide,),
)
