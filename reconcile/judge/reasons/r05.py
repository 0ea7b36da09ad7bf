"""R05 重复报备: a channel reports again a customer it already holds (SPEC §6.2).

Two moments decide it: at admission, while the channel's own earlier report still
protects the customer (`link.self_duplicates`); on the timeline, while the channel
holds the customer through visit protection.
"""

from __future__ import annotations

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.link import PAIR_COLUMNS, self_duplicates
from reconcile.judge.reasons.entry import Notes, Reason
from reconcile.judge.vocabulary import Code


def decide(admitted: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """R05 appended to `codes` of the admitted reports the channel's own earlier report
    still protects (`report.self_duplicate`: keep_first or invalidate_all)."""
    clean = admitted.select(PAIR_COLUMNS).filter(admitted["codes"].list.len() == 0)
    invalidate_all = rules.report.self_duplicate == "invalidate_all"
    duplicates = self_duplicates(clean, invalidate_all=invalidate_all)
    if not duplicates:
        return admitted
    return admitted.with_columns(
        codes=pl.when(pl.col("row_id").is_in(list(duplicates)))
        .then(pl.col("codes").list.concat(pl.lit([Code.R05.value])))
        .otherwise(pl.col("codes"))
    )


def re_reported(channel: str, holders: list[str]) -> bool:
    """R05 on the timeline: the report's channel holds the customer through a visit."""
    return channel in holders


def _notes(rules: Rules) -> str:
    outcome = "只保留第一条" if rules.report.self_duplicate == "keep_first" else "全部作废"
    return f"同一渠道重复报备同一客户：{outcome}{REASON.cited}"


REASON = Reason(
    Code.R05,
    "重复报备",
    "The same channel reports a compatible number with agreeing surname while its "
    "earlier report still protects the customer, or while it holds the customer through "
    "visit protection; keep_first invalidates the later reports, invalidate_all all of "
    "them (SPEC §6.2, docs/judge.md stage 1).",
    decide=(decide, re_reported),
    notes=Notes("重复报备", _notes),
)
