"""R08 报备晚于到访: a report not made `lead_time` before the visit that decides it
(SPEC §6.2, §6.3 Time arithmetic; docs/judge.md stage 3).

The lead time is the report type's `lead_time`, else `report.lead_time`, and inclusive:
reported exactly that long before the visit is in time. A calendar lead time (`1d`)
means reported on an earlier day. Against a visit of the same day with a date but no
clock time, the report is in time (SPEC §6.4).
"""

from __future__ import annotations

from datetime import datetime

from reconcile.config.rules import Duration, ReportRules, Rules
from reconcile.judge.periods import end_of_day, window_start
from reconcile.judge.reasons.entry import Notes, Reason, duration_text, type_rules
from reconcile.judge.vocabulary import Code


def lead_time(report: ReportRules, report_type: str | None) -> Duration:
    """The lead time a report of `report_type` must keep."""
    kind = type_rules(report, report_type)
    return kind.lead_time if kind is not None and kind.lead_time is not None else report.lead_time


def decide(
    rules: Rules,
    report_type: str | None,
    reported_at: datetime,
    visit_at: datetime,
    visit_time_known: bool,
    order_unknown: bool,
) -> bool:
    """Whether the report is R08 at this visit.

    `order_unknown`: the report and the visit share a day and one of them has no clock
    time, so the report is in time. A date-only visit of another day is as late as its
    day allows (24:00): on another day, the day decides.
    """
    if order_unknown:
        return False
    reading = visit_at if visit_time_known else end_of_day(visit_at, rules.zone)
    # The latest report time that is still `lead_time` before the visit (inclusive).
    latest = window_start(reading, lead_time(rules.report, report_type), rules.zone)
    return reported_at > latest


def _notes(rules: Rules) -> str:
    return (
        f"报备须早于客户首次到访至少 {duration_text(rules.report.lead_time)}"
        f"（正好提前这么久也算），否则报备无效{REASON.cited}"
    )


REASON = Reason(
    Code.R08,
    "报备晚于到访",
    "A report made later than lead_time (its type's, else report.lead_time) before the "
    "visit that decides it is invalid; exactly lead_time before is in time (SPEC §6.2, "
    "§6.3, §6.4).",
    decide=(decide, lead_time),
    notes=Notes("提前报备时间", _notes),
)
