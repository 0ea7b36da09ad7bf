"""R04 超出报备限额: reports beyond the daily quota (SPEC §6.2, docs/judge.md stage 1)."""

from __future__ import annotations

import polars as pl

from reconcile.config.rules import Quota, Rules
from reconcile.judge.reasons.entry import Notes, Reason, quota_text
from reconcile.judge.vocabulary import Code
from reconcile.normalise.places import place_expr

_BASE_POOL = "\x00base"
# Rows rejected before the quota counts (SPEC §6.3 Quota).
_NOT_COUNTED = [Code.R01.value, Code.R02.value, Code.R03.value]


def decide(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """R04 appended to `codes`: per day and agent/channel, the rows beyond the first
    `limit` of those that passed R01–R03.

    Counting is by source row (a cell with two numbers counts once), in submission
    order: 报备时间, then file, sheet and row. Date-only rows count after the day's
    timed rows, in file and row order (SPEC §6.4). A type with its own `quota` counts
    only its reports; the others share `report.quota`.
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
        per_key=per.fill_null(""), limit=limit, day=pl.col("at").dt.date(), place=place_expr()
    )
    counted = (
        frame.filter(
            pl.col("pool").is_not_null()
            & ~pl.col("codes").list.eval(pl.element().is_in(_NOT_COUNTED)).list.any()
        )
        .group_by("pool", "per_key", "day", "place")
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
        .select("place", over=pl.lit(True))
    )
    return (
        frame.join(counted, on="place", how="left", maintain_order="left")
        .with_columns(
            codes=pl.when(pl.col("over").fill_null(False))
            .then(pl.col("codes").list.concat(pl.lit([Code.R04.value])))
            .otherwise(pl.col("codes"))
        )
        .drop("pool", "per_key", "limit", "day", "place", "over")
    )


def _notes(rules: Rules) -> str:
    quota = rules.report.quota
    if quota is None:
        return "不限"
    return f"{quota_text(quota)}，按报备时间先后计，超出的报备无效{REASON.cited}"


REASON = Reason(
    Code.R04,
    "超出报备限额",
    "Per calendar day and agent or channel (quota.per), in submission order, the reports "
    "beyond quota.limit among those that passed R01–R03 are invalid (SPEC §6.2, §6.3 Quota).",
    decide=(decide,),
    notes=Notes("名额", _notes),
)
