"""S01 未到结佣节点: a deal below `deal.commission_stage` (SPEC §6.2, §6.3 Deals)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconcile.config.rules import Rules
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code

if TYPE_CHECKING:
    from reconcile.judge.deals import Deal


def decide(rules: Rules, deal: Deal) -> bool:
    """The deal has not reached the commission stage (签约 implies 认购 and 小订)."""
    return not deal.reached(rules.deal.commission_stage)


REASON = Reason(
    Code.S01,
    "未到结佣节点",
    "A deal that has not reached deal.commission_stage is not payable yet (SPEC §6.2, §6.3).",
    decide=(decide,),
)
