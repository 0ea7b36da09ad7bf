"""C02 带看未报备: the customer was brought by a channel without a report while another
channel held one (SPEC §6.2, §6.3; docs/judge.md stage 3, step 5).

Recorded on the attribution row, the bringer named in `flags` (`brought_by`); what the
customer becomes is `conflict.brought_by_other` (N01 when `natural`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconcile.config.rules import Rules
from reconcile.judge.reasons.entry import Notes, Reason
from reconcile.judge.vocabulary import Code

if TYPE_CHECKING:
    from reconcile.judge.timeline import Report


def decide(candidates: list[Report], bringers: list[str]) -> bool:
    """Someone brought the customer and no bringer has a candidate report.

    A bringer that reported but lost on type priority was not "brought by other"."""
    return bool(bringers) and not any(r.channel in bringers for r in candidates)


def _notes(rules: Rules) -> str:
    outcome = (
        f"客户归报备的渠道{REASON.cited}"
        if rules.conflict.brought_by_other == "reporter"
        else "算自然到访"
    )
    return f"带看了别家渠道已有效报备的客户而自己未报备：{outcome}"


REASON = Reason(
    Code.C02,
    "带看未报备",
    "A channel brought the customer without a report while another channel held a "
    "candidate report; conflict.brought_by_other decides the owner (SPEC §6.2, §6.3).",
    decide=(decide,),
    notes=Notes("带看未报备", _notes),
    confidential=True,
)
