"""K04 老带新: a customer referred by an existing customer (推荐人电话 / 介绍人 naming
them) belongs to the referrer's owner, with `consultant.referral: referrer_owner`
(the default); with `receptionist` the receptionist owns them (K01). SPEC 6.7.

The referrer is named by a full number; a referrer without a valid record at the
reception (nobody owns them then) leaves the receptionist as the owner (K01).
"""

from __future__ import annotations

from reconcile.config.rules import ConsultantRules
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code


def decide(referrer_owner: str | None, rules: ConsultantRules) -> str | None:
    """The owner a referral gives, or None when the receptionist keeps the customer."""
    return referrer_owner if rules.referral == "referrer_owner" else None


REASON = Reason(
    Code.K04,
    "老带新",
    "A customer referred by an existing customer belongs to the referrer's owner with "
    "referral: referrer_owner (SPEC 6.7).",
    decide=(decide,),
)
