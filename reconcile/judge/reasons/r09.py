"""R09 报备保护期已过: the report's protection ended before the visit (SPEC §6.2, §6.3).

A report protects its customer from 报备时间 for the type's `validity`, else
`report.validity`; a report made before `opening_date` is protected until the opening
day + `validity_before_opening`. The end is exclusive.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.periods import midnight, period_end_expr
from reconcile.judge.reasons.entry import Notes, Reason, period_text
from reconcile.judge.vocabulary import Code


def protection_end(rules: Rules) -> pl.Expr:
    """Each report's protection end over a report frame (null: `forever`)."""
    report = rules.report
    zone = rules.timezone
    at = pl.col("at")
    expr = period_end_expr(at, report.validity, zone)
    for name, kind in report.types.items():
        if kind.validity is not None:
            expr = (
                pl.when(pl.col("report_type") == name)
                .then(period_end_expr(at, kind.validity, zone))
                .otherwise(expr)
            )
    if rules.opening_date is not None:
        opening = midnight(rules.opening_date, rules.zone)
        before = at < pl.lit(opening).dt.convert_time_zone(zone)
        opening_end = period_end_expr(
            pl.lit(opening).dt.convert_time_zone(zone), report.validity_before_opening, zone
        )
        expr = pl.when(before).then(opening_end).otherwise(expr)
    return expr


def decide(until: datetime | None, visit_at: datetime) -> bool:
    """R09 at the deciding visit: the report's protection ended at or before it (a
    date-only visit counts as 00:00 of its day here)."""
    return until is not None and visit_at >= until


def _notes(rules: Rules) -> str:
    validity = period_text(rules.report.validity, "报备时间", "报备当天")
    return f"{validity}；期满后客户才到访的，报备无效{REASON.cited}"


REASON = Reason(
    Code.R09,
    "报备保护期已过",
    "A report whose protection (validity, or validity_before_opening before the opening "
    "date) ended before the visit that decides it is invalid (SPEC §6.2, §6.3).",
    decide=(decide, protection_end),
    notes=Notes("报备有效期", _notes),
)
