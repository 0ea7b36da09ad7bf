"""R10 疑似倒签报备: a report first seen long after its 报备时间 (SPEC §6.2, §6.3 First seen)."""

from __future__ import annotations

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.periods import period_end_expr
from reconcile.judge.reasons.entry import Notes, Reason, duration_text
from reconcile.judge.vocabulary import Code


def decide(rules: Rules, first_run: int | None) -> pl.Expr | None:
    """R10 over a report frame: first seen more than `report.max_delay` after 报备时间.

    Rows first seen by the workspace's very first run have no arrival history and are
    never R10; None when the rule is off or no run is known.
    """
    delay = rules.report.max_delay
    if delay is None or first_run is None:
        return None
    # A date-only report counts as made at the end of its day (SPEC §6.4).
    made = (
        pl.when(pl.col("time_known")).then(pl.col("at")).otherwise(pl.col("at").dt.offset_by("1d"))
    )
    late = pl.col("first_seen_at") > period_end_expr(made, delay, rules.timezone)
    return pl.when(late & (pl.col("first_run") != first_run)).then(pl.lit(Code.R10.value))


def _notes(rules: Rules) -> str:
    delay = rules.report.max_delay
    if delay is None:
        return "不检查"
    return (
        f"填写的报备时间比表格实际交到案场的时间早 {duration_text(delay)}以上的，"
        f"视为倒签，报备无效{REASON.cited}"
    )


REASON = Reason(
    Code.R10,
    "疑似倒签报备",
    "With report.max_delay, a report row first seen (end of the as-of day of the first run "
    "that read it) more than max_delay after its 报备时间 is invalid; rows of the "
    "workspace's first run never are (SPEC §6.2, §6.3 First seen).",
    decide=(decide,),
    notes=Notes("倒签", _notes),
)
