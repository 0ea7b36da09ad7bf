"""Stage "link" (SPEC §5): which customer each masked report is about.

A customer is a full mobile number seen in a visit, deal, ruling or the CRM. A report
fits a customer when every visible digit agrees and the names agree; a customer known
only from the CRM also needs a surname that agrees (one on each side), unless the
report gives the full number. Candidate pairs come from a join on a blocking key (the
visible digits every admitted pattern shows), so nothing compares all pairs.

`link` returns one row per (report, customer) that fit: `row_id`, `phone`, `in_time`
(whether the customer was first seen before the report's protection ended) and
`crm_only` (the customer is known only from the CRM). `self_pairs` finds compatible
pairs among reports (self-duplicates, suspected collisions).
"""

from __future__ import annotations

import polars as pl

from reconcile.normalise.names import agree_series, name_series

PHONE_LENGTH = 11


def compatible_expr(left: str, right: str) -> pl.Expr:
    """Whether two patterns (or a pattern and a full number) could be the same number."""
    checks = []
    for i in range(PHONE_LENGTH):
        a = pl.col(left).str.slice(i, 1)
        b = pl.col(right).str.slice(i, 1)
        checks.append((a == "*") | (b == "*") | (a == b))
    return pl.all_horizontal(checks)


def customers(
    visits: pl.DataFrame,
    deals: pl.DataFrame,
    rulings: pl.DataFrame,
    crm: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per full number: `phone`, `first_at`, `names`, `crm_only`, `surnames`.

    `first_at` is when the number was first seen: its earliest visit, else deal or
    ruling, or its earliest CRM contact when that is earlier. `names` are the distinct
    names a visit, deal or ruling recorded it under; for a customer known only from
    the CRM (`crm_only`), the CRM names that carry a surname, and `surnames` the
    distinct surnames of those names (null for the other customers).
    """
    frames = [
        frame.select("phone", "at", "customer_name", rank=pl.lit(rank))
        for rank, frame in enumerate((visits, deals, rulings))
    ]
    every = pl.concat(frames).filter(pl.col("phone").is_not_null())
    seen = (
        every.sort("rank", "at", nulls_last=True)
        .group_by("phone", maintain_order=True)
        .agg(
            first_at=pl.col("at").filter(pl.col("rank") == pl.col("rank").min()).min(),
            names=pl.col("customer_name").drop_nulls().unique(maintain_order=True),
        )
        .with_columns(crm_only=pl.lit(False), surnames=pl.lit(None, pl.List(pl.String)))
    )
    if crm is None or crm.height == 0:
        return seen.sort("phone")
    contacts = _crm_customers(crm)
    known = seen.join(contacts, on="phone", how="full", coalesce=True)
    crm_only = pl.col("crm_only").is_null()
    return known.select(
        "phone",
        first_at=pl.when(crm_only)
        .then("crm_at")
        .otherwise(pl.min_horizontal("first_at", "crm_at")),
        names=pl.when(crm_only).then("crm_names").otherwise("names"),
        crm_only=crm_only,
        surnames=pl.when(crm_only).then("crm_surnames"),
    ).sort("phone")


def _crm_customers(crm: pl.DataFrame) -> pl.DataFrame:
    """Per number in the CRM: `crm_at` (earliest dated contact), `crm_names` (the
    names with a surname it was recorded under) and `crm_surnames` (their surnames)."""
    rows = crm.filter(pl.col("phone").is_not_null())
    if "surnames" in rows.columns:
        surnames = rows["surnames"]
    else:
        surnames = name_series(rows["customer_name"])["surnames"]
    named = pl.when(surnames.is_not_null()).then(pl.col("customer_name"))
    return (
        rows.select("phone", "at", named=named, surnames=surnames)
        .group_by("phone")
        .agg(
            crm_at=pl.col("at").min(),
            crm_names=pl.col("named").drop_nulls().unique(maintain_order=True),
            crm_surnames=pl.col("surnames")
            .drop_nulls()
            .str.split(";")
            .explode()
            .unique(maintain_order=True),
        )
    )


def link(reports: pl.DataFrame, people: pl.DataFrame, bucket_of_phone: pl.Expr) -> pl.DataFrame:
    """Fitting (report, customer) pairs.

    `reports` needs `row_id`, `phone_pattern`, `customer_name`, `bucket`, `until` (and
    may give `surnames`); `people` is `customers()`, where `crm_only` and `surnames`
    may be left out. A customer known only from the CRM fits a masked report only
    with a surname in common, so it is joined on bucket and surname; and only when
    first seen before the report's protection ended: later, it can neither have
    known the customer before the report nor be brought by it.
    """
    empty = {"row_id": pl.String, "phone": pl.String, "in_time": pl.Boolean, "crm_only": pl.Boolean}
    if reports.height == 0 or people.height == 0:
        return pl.DataFrame(schema=empty)
    if "crm_only" not in people.columns:
        people = people.with_columns(crm_only=pl.lit(False))
    if "surnames" in reports.columns:
        surnames = reports["surnames"]
    else:
        surnames = name_series(reports["customer_name"])["surnames"]
    asked = reports.select(
        "row_id",
        "customer_name",
        "bucket",
        "until",
        visible=_nibbles("phone_pattern", mask=True),
        digits=_nibbles("phone_pattern"),
        masked=pl.col("phone_pattern").str.contains("*", literal=True),
        surnames=surnames,
    )
    keyed = people.select(
        "phone", "first_at", "names", "crm_only", bucket=bucket_of_phone, number=_nibbles("phone")
    )
    found = [asked.join(keyed.filter(~pl.col("crm_only")), on="bucket", how="inner")]
    crm = keyed.filter("crm_only")
    if crm.height:
        by_surname = crm.join(_crm_surnames(people), on="phone", how="inner")
        named = asked.filter(pl.col("masked") & pl.col("surnames").is_not_null())
        named = named.with_columns(surname=pl.col("surnames").str.split(";")).explode("surname")
        met = named.join(by_surname, on=["bucket", "surname"]).drop("surname")
        # A couple's two surnames may both meet the same CRM customer: one pair.
        found.append(met.unique(["row_id", "phone"], keep="any"))
        # A full number needs no surname, as with any customer.
        found.append(asked.filter(~pl.col("masked")).join(crm, on="bucket", how="inner"))
    # Every digit the pattern shows agrees with the number.
    shown = (pl.col("number") & pl.col("visible")) == pl.col("digits")
    pairs = pl.concat(found).filter(shown)
    seen = pl.col("first_at") < pl.col("until")
    pairs = pairs.with_columns(
        # An undated CRM contact still counts: rows without a date always count.
        in_time=pl.col("until").is_null() | seen.fill_null(pl.col("crm_only"))
    ).filter(~pl.col("crm_only") | pl.col("in_time"))
    if pairs.height == 0:
        return pl.DataFrame(schema=empty)
    pairs = pairs.select("row_id", "phone", "in_time", "crm_only", "customer_name", "names")
    exploded = pairs.select("customer_name", "names", pair=pl.int_range(pl.len())).explode(
        "names", empty_as_null=True
    )
    # A customer recorded without any name cannot disagree.
    agree = agree_series(exploded["customer_name"], exploded["names"])
    fit = pl.repeat(False, pairs.height, eager=True).scatter(
        exploded["pair"].filter(agree).unique(), True
    )
    return (
        pairs.filter(fit).select("row_id", "phone", "in_time", "crm_only").sort("row_id", "phone")
    )


def _crm_surnames(people: pl.DataFrame) -> pl.DataFrame:
    """`phone`, `surname`: each surname of each customer known only from the CRM."""
    crm = people.filter("crm_only")
    if "surnames" in crm.columns:
        return crm.select("phone", surname="surnames").explode("surname").drop_nulls()
    named = crm.select("phone", name="names").explode("name").drop_nulls()
    split = name_series(named["name"])["surnames"].str.split(";")
    return named.select("phone", surname=split).explode("surname").drop_nulls().unique()


def _nibbles(column: str, *, mask: bool = False) -> pl.Expr:
    """An 11-character number or pattern read as hexadecimal (`*` as 0): one nibble
    per digit, so a bitwise mask compares every visible digit at once. `mask`: `F`
    for each visible digit instead. Null when the text is not 11 digits and stars."""
    text = pl.col(column)
    shown = text.str.replace_all("[0-9]", "F") if mask else text
    value = shown.str.replace_all("*", "0", literal=True).str.to_integer(base=16, strict=False)
    return pl.when(text.str.contains(f"^[0-9*]{{{PHONE_LENGTH}}}$")).then(value)


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
