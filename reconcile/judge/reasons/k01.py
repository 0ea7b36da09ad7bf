"""K01 首次接待: the consultant of a customer's first recorded reception owns them
(建档, SPEC 6.7).

The first reception is the earliest 来访登记 with a 接待顾问 / 置业顾问, or a CRM
follow-up's 跟进人 when that is earlier. With `consultant.referral: receptionist` a
referred customer (老带新) is also simply the receptionist's.
"""

from __future__ import annotations

from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code


def decide(receptionist: str | None, follower: str | None) -> str | None:
    """Who a first contact makes the owner: the 接待顾问, else the follow-up's 跟进人."""
    return receptionist or follower or None


REASON = Reason(
    Code.K01,
    "首次接待",
    "The consultant of the customer's first recorded reception (or earlier CRM follow-up) "
    "owns the customer for the record's validity (SPEC 6.7).",
    decide=(decide,),
)
