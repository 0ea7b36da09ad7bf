"""R03 超出报备时段: a report outside the reporting hours or its type's window (SPEC §6.2).

Both halves of the rule live here: the clock time, checked on each report at admission,
and a `window` with `day: before`, which needs the visit that decides the report.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import polars as pl

from reconcile.config.rules import Hours, ReportRules, Rules
from reconcile.judge.periods import in_clock_range_expr, local_day
from reconcile.judge.reasons.entry import Notes, Reason, clock_range_text, type_rules
from reconcile.judge.vocabulary import Code


def decide(rules: Rules) -> pl.Expr:
    """R03 over a report frame for the clock time: the type's window or hours, else the
    base `report.hours` (both ends included)."""
    report = rules.report

    def outside(start: time, end: time) -> pl.Expr:
        return ~in_clock_range_expr(pl.col("at"), start, end)

    expr: pl.Expr = outside(report.hours.start, report.hours.end) if report.hours else pl.lit(False)
    for name, kind in report.types.items():
        limits = kind.window or kind.hours or report.hours
        if limits is not None:
            expr = (
                pl.when(pl.col("report_type") == name)
                .then(outside(limits.start, limits.end))
                .otherwise(expr)
            )
    # A date written without a clock time cannot be checked against hours (SPEC §6.4).
    return pl.when(expr & pl.col("time_known")).then(pl.lit(Code.R03.value))


def not_day_before(
    report: ReportRules,
    report_type: str | None,
    reported_at: datetime,
    visit_at: datetime,
    zone: ZoneInfo,
) -> bool:
    """R03 at the deciding visit: a `day: before` type reported on the visit's day (or later).

    It compares calendar days, which a date-only row knows too."""
    kind = type_rules(report, report_type)
    return (
        kind is not None
        and kind.window is not None
        and kind.window.day == "before"
        and local_day(reported_at, zone) >= local_day(visit_at, zone)
    )


def _notes(rules: Rules) -> str:
    hours: Hours | None = rules.report.hours
    if hours is None:
        return "不限"
    return f"{clock_range_text(hours)}（含两端），时段外的报备无效{REASON.cited}"


REASON = Reason(
    Code.R03,
    "超出报备时段",
    "A report made outside report.hours (or its type's hours), or outside its type's "
    "window, or a `day: before` type made on the visit's day, is invalid (SPEC §6.2, "
    "docs/judge.md stages 1 and 3).",
    decide=(decide, not_day_before),
    notes=Notes("报备时间段", _notes),
)
