"""X01 退房追回 and X02 退房无需追回: what a refunded deal owes (SPEC §6.2, §6.3 Deals, §6.6).

One decision gives either: a refund (退房) after the deal reached `deal.commission_stage`
claws the commission back (X01) when `deal.clawback_on_refund`; a refund before any
payment, or with clawback off, leaves nothing to claw back (X02).
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


def decide(rules: Rules, deal: Deal) -> Code | None:
    """X01 or X02 for a refunded deal; None when it was not refunded."""
    if REFUNDED not in deal.stage_at:
        return None
    refunded_at = deal.stage_at[REFUNDED]
    stage = rules.deal.commission_stage
    paid_at = deal.reached_at(stage)
    paid_before = deal.reached(stage) and (
        paid_at is None or refunded_at is None or paid_at < refunded_at
    )
    return Code.X01 if paid_before and rules.deal.clawback_on_refund else Code.X02


X01 = Reason(
    Code.X01,
    "退房追回",
    "A refund dated after the commission-stage date claws the commission back as a "
    "negative line when deal.clawback_on_refund (SPEC §6.2, §6.3 Deals).",
    decide=(decide,),
)
X02 = Reason(
    Code.X02,
    "退房无需追回",
    "A refund before any commission was due, or with clawback_on_refund off, is not "
    "payable and claws nothing back (SPEC §6.2, §6.6).",
    decide=(decide,),
)
