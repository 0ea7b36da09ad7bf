"""A01 号码匹配多个客户: a masked number that fits several customers (SPEC §6.2;
docs/judge.md stage 2).

`link.link` finds the (report, customer) pairs that fit; this module decides which of
them count, and a report left with two or more customers is ambiguous and attributes
nobody.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from reconcile.judge.reasons.entry import Reason
from reconcile.judge.vocabulary import Code

if TYPE_CHECKING:
    from reconcile.judge.rulings import Ruling
    from reconcile.judge.timeline import Report


def choose_fits(
    pairs: pl.DataFrame, reports: Mapping[str, Report] | None = None
) -> dict[str, list[str]]:
    """The customers a report may be about.

    Customers first seen while the report protected them count; when there is none,
    a single later customer is still the report's (it visited too late: R09), while
    several later strangers make nobody's (the report simply expired unvisited).
    """
    in_time: dict[str, list[str]] = defaultdict(list)
    late: dict[str, list[str]] = defaultdict(list)
    # One copy of each number, however many reports fit it, and each report's own row id
    # (from `reports`, when given): half a million reports fit at a million. Read column
    # by column: polars makes a tuple per row slowly.
    copies: dict[str, str] = {}
    for row_id, phone, on_time in zip(
        pairs["row_id"].to_list(), pairs["phone"].to_list(), pairs["in_time"].to_list(),
        strict=True,
    ):  # fmt: skip
        fitting = in_time if on_time else late
        if row_id not in fitting and reports is not None:
            row_id = reports[row_id].row_id
        fitting[row_id].append(copies.setdefault(phone, phone))
    fits: dict[str, list[str]] = dict(in_time)
    for row_id, phones in late.items():
        if row_id not in fits and len(phones) == 1:
            fits[row_id] = phones
    return fits


def resolve_by_rulings(
    reports: dict[str, Report], fits: dict[str, list[str]], rulings: list[Ruling]
) -> None:
    """An ambiguous report is linked to the number a ruling gives its channel."""
    ruled_channels: dict[str, set[str]] = defaultdict(set)
    for ruling in rulings:
        ruled_channels[ruling.phone].update(ruling.channels)
    for row_id, phones in fits.items():
        if len(phones) > 1:
            channel = reports[row_id].channel
            named = [p for p in phones if channel in ruled_channels.get(p, ())]
            if len(named) == 1:
                fits[row_id] = named


def decide(phones: list[str]) -> bool:
    """A report that still fits several customers is ambiguous."""
    return len(phones) > 1


REASON = Reason(
    Code.A01,
    "号码匹配多个客户",
    "An admitted masked report that fits two or more customers (first seen in time) is "
    "ambiguous and attributes nobody, unless a ruling names its channel on one of them "
    "(SPEC §6.2, docs/judge.md stage 2).",
    decide=(decide, choose_fits, resolve_by_rulings),
)
