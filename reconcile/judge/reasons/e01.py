"""E01 案场老客户: the developer holds the customer at a visit (SPEC §6.2, §6.3).

The developer holds from a CRM contact or a natural visit until `released_after` has
passed since the latest such moment (`null`: for ever). R06 and R07 (`existing.py`)
ask the same question at a report's time.
"""

from __future__ import annotations

from datetime import datetime

from reconcile.config.rules import Rules
from reconcile.judge.periods import period_end
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code


def developer_until(rules: Rules, since: datetime | None) -> datetime | None:
    """When the developer's hold from `since` ends (None: never, or nothing to hold by)."""
    released = rules.existing_customer.released_after
    if since is None or released is None:
        return None
    return period_end(since, released, rules.zone)


def developer_holds(rules: Rules, at: datetime, since: datetime | None) -> bool:
    """Whether a contact or natural visit at `since` still holds the customer at `at`."""
    if since is None or since > at:
        return False
    end = developer_until(rules, since)
    return end is None or at < end


REASON = Reason(
    Code.E01,
    "案场老客户",
    "A visit with no candidate report while the developer holds the customer (a CRM "
    "contact or an earlier natural visit within existing_customer.released_after) opens "
    "an existing-customer episode (SPEC §6.2, §6.3 Who holds; docs/judge.md stage 3).",
    decide=(developer_holds, developer_until),
)
