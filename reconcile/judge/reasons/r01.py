"""R01 缺少客户姓氏: a report whose name cell gives no surname (SPEC §6.2, judge.md stage 1)."""

from __future__ import annotations

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code


def decide(rules: Rules) -> pl.Expr | None:
    """R01 over a report frame: `report.require_surname` and no surname (`先生` alone,
    blank, `**`); None when the rule is off."""
    if not rules.report.require_surname:
        return None
    return pl.when(pl.col("surnames").fill_null("") == "").then(pl.lit(Code.R01.value))


REASON = Reason(
    Code.R01,
    "缺少客户姓氏",
    "With report.require_surname, a report whose name gives no surname is invalid "
    "(SPEC §6.2, §6.3 Names); the template explains it beside the 客户姓名 column.",
    decide=(decide,),
)
