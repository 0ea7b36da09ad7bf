"""Stage 1 of the judge: each report on its own (R01–R05, R10) and its protection end.

Adds to the reports frame:
- `prefix`, `suffix`: the visible leading and trailing digits of the pattern;
- `until`: the report's protection end (exclusive; null = forever), SPEC §6.3;
- `codes`: list of admission reason codes (empty = admitted), each decided by its
  module of `reconcile.judge.reasons`, in this order.
R05 here covers a channel re-reporting while its own earlier report still protects
the customer; re-reports during its visit protection are found on the timeline.
"""

from __future__ import annotations

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.reasons import r01, r02, r03, r04, r09, r10


def admit(reports: pl.DataFrame, rules: Rules, first_run: int | None) -> pl.DataFrame:
    frame = reports.with_columns(
        prefix=pl.col("phone_pattern").str.extract(r"^(\d*)", 1),
        suffix=pl.col("phone_pattern").str.extract(r"(\d*)$", 1),
        time_known=pl.col("time_known").fill_null(True),
    ).with_columns(
        # A full number has no hidden run: all of it is "prefix".
        suffix=pl.when(pl.col("prefix").str.len_chars() == 11).then(pl.lit("")).otherwise("suffix"),
        until=r09.protection_end(rules),
    )
    checks = [
        check
        for check in (
            r01.decide(rules),
            r02.decide(rules),
            r03.decide(rules),
            r10.decide(rules, first_run),
        )
        if check is not None
    ]
    frame = frame.with_columns(codes=pl.concat_list(checks).list.drop_nulls())
    frame = r04.decide(frame, rules)
    return frame.with_columns(bucket=bucket_expr(rules, "prefix", "suffix"))


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
