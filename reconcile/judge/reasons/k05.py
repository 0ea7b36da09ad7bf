"""K05 建档失效: a consultant's record of a customer ends (SPEC 6.7).

It ends at whichever comes first: `consultant.record_validity` after the first
reception, or `consultant.release_without_follow_up` after the owner's own latest
reception or follow-up of the customer (receptions by anyone else never keep it
alive). Both count calendar days as every period does (SPEC 6.3). From that instant
the customer is free and the next contact starts a new owner.

The walk compares instants as integer microseconds: `period_ends` gives each contact's
end of a period begun at it, `record_end` the record's end from the two.
"""

from __future__ import annotations

import polars as pl

from reconcile.config.rules import Duration
from reconcile.judge.periods import period_end_expr
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code

NEVER = 2**62  # microseconds: a period that never ends (`forever`)


def period_ends(frame: pl.DataFrame, duration: Duration, zone: str) -> pl.Expr:
    """Each contact's end of a period of `duration` from it, in µs (NEVER for `forever`);
    `frame` has the contact's instant `at_us` and local calendar day `day`.

    A calendar period ends at a midnight that depends on the start's day alone: it is
    computed once per day of the night's contacts, not once per contact."""
    if duration.forever:
        return pl.lit(NEVER, pl.Int64)
    if duration.minutes is not None:
        return pl.col("at_us") + duration.minutes * 60_000_000
    days = frame.select(pl.col("day").unique()).to_series()
    # Noon of each day stands for it (a DST change never skips noon).
    noon = (pl.col("day").cast(pl.Datetime("us")) + pl.duration(hours=12)).dt.replace_time_zone(
        zone
    )
    end = period_end_expr(noon, duration, zone).dt.convert_time_zone("UTC").dt.epoch("us")
    table = pl.DataFrame({"day": days}).with_columns(end=end)
    return pl.col("day").replace_strict(table["day"], table["end"], return_dtype=pl.Int64)


def record_end(validity_end: int, release_end: int) -> int:
    """The end of a record whose `record_validity` ends at `validity_end` and whose
    owner's latest contact releases it at `release_end`: the earlier."""
    return validity_end if validity_end < release_end else release_end


REASON = Reason(
    Code.K05,
    "建档失效",
    "A consultant's record ends at record_validity after the first reception or at "
    "release_without_follow_up after the owner's own latest contact, whichever is first; "
    "the customer is then free (SPEC 6.7).",
    decide=(record_end, period_ends),
)
