"""Stage 1 of the judge: each report on its own (R01–R05, R10) and its protection end.

Adds to the reports frame:
- `prefix`, `suffix`: the visible leading and trailing digits of the pattern;
- `until`: the report's protection end (exclusive; null = forever), SPEC §6.3;
- `codes`: list of admission reason codes (empty = admitted).
R05 here covers a channel re-reporting while its own earlier report still protects
the customer; re-reports during its visit protection are found on the timeline.
"""

from __future__ import annotations

from datetime import datetime, time

import polars as pl

from reconcile.config.rules import Duration, Quota, ReportRules, ReportType, Rules
from reconcile.judge.periods import in_clock_range_expr, period_end_expr

_BASE_POOL = "\x00base"


def type_rules(report: ReportRules, report_type: str | None) -> ReportType | None:
    return report.types.get(report_type) if report_type else None


def lead_time(report: ReportRules, report_type: str | None) -> Duration:
    kind = type_rules(report, report_type)
    return kind.lead_time if kind is not None and kind.lead_time is not None else report.lead_time


def admit(reports: pl.DataFrame, rules: Rules, first_run: int | None) -> pl.DataFrame:
    report = rules.report
    frame = reports.with_columns(
        prefix=pl.col("phone_pattern").str.extract(r"^(\d*)", 1),
        suffix=pl.col("phone_pattern").str.extract(r"(\d*)$", 1),
        time_known=pl.col("time_known").fill_null(True),
    ).with_columns(
        # A full number has no hidden run: all of it is "prefix".
        suffix=pl.when(pl.col("prefix").str.len_chars() == 11).then(pl.lit("")).otherwise("suffix"),
        until=_until(rules),
    )
    checks: list[pl.Expr] = []
    if report.require_surname:
        checks.append(pl.when(pl.col("surnames").fill_null("") == "").then(pl.lit("R01")))
    visible = report.min_visible
    checks.append(
        pl.when(
            (pl.col("prefix").str.len_chars() < visible.prefix)
            | (
                (pl.col("suffix").str.len_chars() < visible.suffix)
                & (pl.col("prefix").str.len_chars() < 11)
            )
        ).then(pl.lit("R02"))
    )
    checks.append(pl.when(_outside_hours(rules)).then(pl.lit("R03")))
    if report.max_delay is not None and first_run is not None:
        # A date-only report counts as made at the end of its day (SPEC §6.4).
        made = (
            pl.when(pl.col("time_known"))
            .then(pl.col("at"))
            .otherwise(pl.col("at").dt.offset_by("1d"))
        )
        late = pl.col("first_seen_at") > period_end_expr(made, report.max_delay, rules.timezone)
        checks.append(pl.when(late & (pl.col("first_run") != first_run)).then(pl.lit("R10")))
    frame = frame.with_columns(codes=pl.concat_list(checks).list.drop_nulls())
    frame = _quota(frame, rules)
    return frame.with_columns(bucket=bucket_expr(rules, "prefix", "suffix"))


def _until(rules: Rules) -> pl.Expr:
    """Report protection end: the type's validity or the base one; reports before the
    opening date are protected until opening + `validity_before_opening`."""
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
        opening = datetime.combine(rules.opening_date, time(0), rules.zone)
        before = at < pl.lit(opening).dt.convert_time_zone(zone)
        opening_end = period_end_expr(
            pl.lit(opening).dt.convert_time_zone(zone), report.validity_before_opening, zone
        )
        expr = pl.when(before).then(opening_end).otherwise(expr)
    return expr


def _outside_hours(rules: Rules) -> pl.Expr:
    """R03 for the clock time: the type's hours or window, else the base hours."""
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
    # A date written without a clock time cannot be checked against hours.
    return expr & pl.col("time_known")


def _quota(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """R04: per day and agent/channel, rows beyond the first `limit` that passed R01–R03.

    Counting is by source row (a cell with two numbers counts once), in submission
    order: 报备时间, then file, sheet and row. Date-only rows count after the day's
    timed rows, in file and row order (SPEC §6.4).
    """
    report = rules.report
    pools: dict[str, Quota] = {}
    if report.quota is not None:
        pools[_BASE_POOL] = report.quota
    for name, kind in report.types.items():
        if kind.quota is not None:
            pools[name] = kind.quota
    if not pools:
        return frame
    pool = pl.lit(_BASE_POOL if report.quota is not None else None, dtype=pl.String)
    for name, kind in report.types.items():
        if kind.quota is not None:
            pool = pl.when(pl.col("report_type") == name).then(pl.lit(name)).otherwise(pool)
    per = pl.lit(None, dtype=pl.String)
    limit = pl.lit(None, dtype=pl.Int64)
    for name, quota in pools.items():
        per = pl.when(pl.col("pool") == name).then(pl.col(quota.per)).otherwise(per)
        limit = pl.when(pl.col("pool") == name).then(pl.lit(quota.limit)).otherwise(limit)
    frame = frame.with_columns(pool=pool).with_columns(
        per_key=per.fill_null(""), limit=limit, day=pl.col("at").dt.date()
    )
    counted = (
        frame.filter(
            pl.col("pool").is_not_null()
            & ~pl.col("codes").list.eval(pl.element().is_in(["R01", "R02", "R03"])).list.any()
        )
        .group_by("pool", "per_key", "day", "source")
        .agg(
            pl.col("at").min(),
            date_only=~pl.col("time_known").all(),
            path=pl.col("path").first(),
            sheet=pl.col("sheet").first(),
            row_no=pl.col("row_no").first(),
            limit=pl.col("limit").first(),
        )
        .sort("date_only", "at", "path", "sheet", "row_no")
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("pool", "per_key", "day"))
        .filter(pl.col("rank") > pl.col("limit"))
        .select("source", over=pl.lit(True))
    )
    return (
        frame.join(counted, on="source", how="left", maintain_order="left")
        .with_columns(
            codes=pl.when(pl.col("over").fill_null(False))
            .then(pl.col("codes").list.concat(pl.lit(["R04"])))
            .otherwise(pl.col("codes"))
        )
        .drop("pool", "per_key", "limit", "day", "over")
    )


def bucket_expr(rules: Rules, prefix: str, suffix: str) -> pl.Expr:
    """The blocking key: the first `min_visible.prefix` and last `min_visible.suffix` digits.

    Every admitted pattern shows at least these, so compatible numbers share a bucket.
    """
    visible = rules.report.min_visible
    full = pl.col(prefix).str.len_chars() == 11
    head = pl.col(prefix).str.slice(0, visible.prefix)
    tail = (
        pl.when(full)
        .then(pl.col(prefix))
        .otherwise(pl.col(suffix))
        .str.slice(-visible.suffix, visible.suffix)
        if visible.suffix
        else pl.lit("")
    )
    return head + "|" + tail
