"""K05 建档失效: a consultant's record of a customer ends (SPEC 6.7).

It ends at whichever comes first: `consultant.record_validity` after the first
reception, or `consultant.release_without_follow_up` after the owner's own latest
reception or follow-up of the customer (receptions by anyone else never keep it
alive). Both count calendar days as every period does (SPEC 6.3). From that instant
the customer is free and the next reception starts a new owner.
"""

from __future__ import annotations

from datetime import datetime

from reconcile.config.rules import ConsultantRules
from reconcile.judge.periods import period_end
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code


def record_end(
    started: datetime, last_own_contact: datetime, rules: ConsultantRules, zone
) -> datetime | None:
    """The exclusive end of a record begun at `started` whose owner last contacted the
    customer at `last_own_contact`; None when neither period ever ends."""
    ends = [
        end
        for end in (
            period_end(started, rules.record_validity, zone),
            period_end(last_own_contact, rules.release_without_follow_up, zone),
        )
        if end is not None
    ]
    return min(ends) if ends else None


REASON = Reason(
    Code.K05,
    "建档失效",
    "A consultant's record ends at record_validity after the first reception or at "
    "release_without_follow_up after the owner's own latest contact, whichever is first; "
    "the customer is then free (SPEC 6.7).",
    decide=(record_end,),
)
