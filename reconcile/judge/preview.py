"""What the night will say of a file's report rows that the file alone decides (SPEC 4.1).

`reconcile check` runs the judge's own admission (R01 surname, R02 visible digits,
R03 hours or type window) on a file's normalised report records, with the
workspace's rules, so its verdicts cannot drift from the night's. Rules that need
other files (quota, repeats, visits, the CRM) are left to the night. A report time
after now is shown too: the night does not judge it until that day.

An extension request (报备类型 延期/延续, a 延期申请 sheet; SPEC 6.8) is no report: no
surname or hours rule applies to it, but a number without enough visible digits fits
no customer, and the night calls the request R11. Only that, and a time after now, is
shown for a request (`request` is true).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from reconcile.config.rules import EXTENSION_TYPES, Rules
from reconcile.judge.admission import admit
from reconcile.judge.inputs import rows_frame
from reconcile.judge.vocabulary import Code
from reconcile.normalise.records import ids_from_keys

FILE_CODES = (Code.R01.value, Code.R02.value, Code.R03.value)
FUTURE = "future"


def report_verdicts(records: pl.DataFrame, path: str, rules: Rules, now: datetime) -> pl.DataFrame:
    """One row per report record the night will reject or postpone: `row_no`,
    `phone_pattern`, `codes` (list: R01–R03, or `future`), `request` (an extension
    request, of which R02 alone is checked)."""
    reports = records.filter(pl.col("kind") == "report")
    empty = pl.DataFrame(
        schema={
            "row_no": pl.Int64,
            "phone_pattern": pl.String,
            "codes": pl.List(pl.String),
            "request": pl.Boolean,
        }
    )
    if reports.height == 0:
        return empty
    ledger_like = reports.with_columns(
        row_id=ids_from_keys(reports["row_key"]),
        path=pl.lit(path),
        first_run=pl.lit(None, pl.Int64),
        first_seen=pl.lit(now.astimezone(rules.zone).isoformat("T", "seconds")),
        corrected_in=pl.lit(None, pl.String),
        corrected_seen=pl.lit(None, pl.String),
    )
    frame = rows_frame(ledger_like, "report", rules.timezone)
    admitted = admit(frame, rules, None)
    request = pl.col("report_type").is_in(EXTENSION_TYPES).fill_null(False)
    judged = admitted.with_columns(
        request=request,
        codes=pl.when(request)
        .then(pl.col("codes").list.eval(pl.element().filter(pl.element() == Code.R02.value)))
        .otherwise(pl.col("codes").list.eval(pl.element().filter(pl.element().is_in(FILE_CODES)))),
    ).with_columns(
        codes=pl.when(pl.col("at") > now)
        .then(pl.col("codes").list.concat(pl.lit([FUTURE])))
        .otherwise(pl.col("codes"))
    )
    return (
        judged.filter(pl.col("codes").list.len() > 0)
        .select("row_no", "phone_pattern", "codes", "request")
        .sort("row_no", "phone_pattern")
    )
