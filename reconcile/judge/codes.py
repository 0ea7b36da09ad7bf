"""The vocabularies as tests/scenarios/test_scenarios.py still imports them.

Their one home is `reconcile.judge.vocabulary` (statuses, owner types) and
`reconcile.judge.reasons` (reason codes); this module only names them the old way and
goes once that test imports from there.
"""

from __future__ import annotations

from reconcile.judge.reasons import REASONS
from reconcile.judge.vocabulary import DealStatus, OwnerType, ReportStatus

REPORT_STATUSES = tuple(ReportStatus)
OWNER_TYPES = tuple(OwnerType)
DEAL_STATUSES = tuple(DealStatus)

__all__ = ["DEAL_STATUSES", "OWNER_TYPES", "REASONS", "REPORT_STATUSES"]
