"""N01 自然到访: no valid claim; the customer came to the developer on their own
(SPEC §6.2, §6.3 Report statuses; docs/judge.md stage 3, steps 4, 5 and 7).

Two ways: the policy makes a contested visit natural (a walk-in with
`conflict.natural_visit: natural`, or a bringer without a report with
`conflict.brought_by_other: natural`; the candidates are then invalid N01), or a visit
finds no candidate while nobody holds the customer (E01 when the developer does).
"""

from __future__ import annotations

from reconcile.config.rules import Rules
from reconcile.judge.reasons.entry import Notes, Reason
from reconcile.judge.vocabulary import Code


def decide(rules: Rules, bringers: list[str], brought_by_other: bool) -> bool:
    """Whether the policy makes a visit with candidate reports a natural one."""
    conflict = rules.conflict
    if brought_by_other:
        return conflict.brought_by_other == "natural"
    return not bringers and conflict.natural_visit == "natural"


def _notes(rules: Rules) -> str:
    outcome = (
        "归最早有效报备的渠道" if rules.conflict.natural_visit == "first_reporter" else "算自然到访"
    )
    return f"已报备的客户自己到访（无人带看）：{outcome}"


REASON = Reason(
    Code.N01,
    "自然到访",
    "A visit with no valid claim: the customer is the developer's natural visitor, and "
    "candidates the policy (natural_visit, brought_by_other: natural) overrules are "
    "invalid (SPEC §6.2, §6.3).",
    decide=(decide,),
    notes=Notes("自行到访", _notes),
)
