"""Stage "link" (SPEC §5): which customer each masked report is about.

A customer is a full mobile number seen in a visit, deal or ruling. A report fits a
customer when every visible digit agrees and the names agree. Candidate pairs come
from a join on a blocking key (the visible digits every admitted pattern shows), so
nothing compares all pairs.

`link` returns one row per (report, customer) that fit: `row_id`, `phone`, and
`in_time`: whether the customer was first seen before the report's protection ended.
`self_pairs` finds compatible pairs among reports (self-duplicates, suspected
collisions).
"""

from __future__ import annotations

import polars as pl

from reconcile.normalise.names import agree_series

PHONE_LENGTH = 11


def compatible_expr(left: str, right: str) -> pl.Expr:
    """Whether two patterns (or a pattern and a full number) could be the same number."""
    checks = []
    for i in range(PHONE_LENGTH):
        a = pl.col(left).str.slice(i, 1)
        b = pl.col(right).str.slice(i, 1)
        checks.append((a == "*") | (b == "*") | (a == b))
    return pl.all_horizontal(checks)


def customers(visits: pl.DataFrame, deals: pl.DataFrame, rulings: pl.DataFrame) -> pl.DataFrame:
    """One row per full number: `phone`, `first_at` (earliest visit, else deal or ruling),
    `names` (distinct names it was recorded under), `bucket_phone`."""
    frames = [
        frame.select("phone", "at", "customer_name", rank=pl.lit(rank))
        for rank, frame in enumerate((visits, deals, rulings))
    ]
    every = pl.concat(frames).filter(pl.col("phone").is_not_null())
    return (
        every.sort("rank", "at", nulls_last=True)
        .group_by("phone", maintain_order=True)
        .agg(
            first_at=pl.col("at").filter(pl.col("rank") == pl.col("rank").min()).min(),
            names=pl.col("customer_name").drop_nulls().unique(maintain_order=True),
        )
        .sort("phone")
    )


def link(reports: pl.DataFrame, people: pl.DataFrame, bucket_of_phone: pl.Expr) -> pl.DataFrame:
    """Fitting (report, customer) pairs.

    `reports` needs `row_id`, `phone_pattern`, `customer_name`, `bucket`, `until`.
    """
    empty = {"row_id": pl.String, "phone": pl.String, "in_time": pl.Boolean}
    if reports.height == 0 or people.height == 0:
        return pl.DataFrame(schema=empty)
    keyed = people.with_columns(bucket=bucket_of_phone)
    pairs = (
        reports.select("row_id", "phone_pattern", "customer_name", "bucket", "until")
        .join(keyed, on="bucket", how="inner")
        .filter(compatible_expr("phone_pattern", "phone"))
    )
    if pairs.height == 0:
        return pl.DataFrame(schema=empty)
    pairs = pairs.with_columns(
        in_time=pl.col("until").is_null() | (pl.col("first_at") < pl.col("until"))
    )
    exploded = pairs.select("row_id", "phone", "in_time", "customer_name", "names").explode(
        "names", empty_as_null=True
    )
    # A customer recorded without any name cannot disagree.
    agree = exploded.with_columns(ok=agree_series(exploded["customer_name"], exploded["names"]))
    return (
        agree.group_by("row_id", "phone", "in_time", maintain_order=True)
        .agg(pl.col("ok").any())
        .filter("ok")
        .select("row_id", "phone", "in_time")
        .sort("row_id", "phone")
    )


def self_pairs(reports: pl.DataFrame, *, same_channel: bool) -> pl.DataFrame:
    """Ordered pairs of compatible reports with agreeing names: `first`, `second`.

    `first` is the earlier report (报备时间, then submission order) and `second` was made
    while `first` still protected the customer. `same_channel` selects pairs of one
    channel (self-duplicates) or of two different channels (suspected collisions).
    """
    columns = [
        "row_id",
        "channel",
        "phone_pattern",
        "customer_name",
        "bucket",
        "at",
        "until",
        "rank",
    ]
    ranked = reports.with_columns(rank=pl.int_range(pl.len())).select(columns)
    keys = ["bucket", "channel"] if same_channel else ["bucket"]
    joined = ranked.join(ranked, on=keys, how="inner", suffix="_2")
    if not same_channel:
        joined = joined.filter(pl.col("channel") != pl.col("channel_2"))
    joined = joined.filter(
        (
            (pl.col("at") < pl.col("at_2"))
            | ((pl.col("at") == pl.col("at_2")) & (pl.col("rank") < pl.col("rank_2")))
        )
        & (pl.col("until").is_null() | (pl.col("at_2") < pl.col("until")))
    ).filter(compatible_expr("phone_pattern", "phone_pattern_2"))
    if joined.height == 0:
        return pl.DataFrame(schema={"first": pl.String, "second": pl.String})
    agree = agree_series(joined["customer_name"], joined["customer_name_2"])
    return joined.filter(agree).select(first="row_id", second="row_id_2")
