"""The rotation audit (轮排, SPEC 6.7): did receptions follow the day's roster?

The roster (`inputs/roster/`, 轮排表) gives per day each consultant's place in the order
and whether they are away (休班/请假/外出). Receptions come from the consultant judge,
each knowing whose record held the customer just before; `reasons/turns.py` decides
every turn (T01–T03) and the own-customer skips. Days without a roster are not audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from reconcile.config.rules import RotationRules, Rules
from reconcile.judge.consultants import YES, Reception, epoch_day
from reconcile.judge.inputs import Inputs
from reconcile.judge.periods import local_day
from reconcile.judge.reasons.turns import OWN_CUSTOMER, Rotation
from reconcile.judge.vocabulary import Code

# Cells of an attendance column that say the consultant is not there that day.
AWAY = YES | frozenset(
    {"休", "休息", "休班", "轮休", "调休", "请假", "事假", "病假", "年假", "外出", "缺勤", "不在岗"}
)
_NUMBER = re.compile(r"\d+")


@dataclass(slots=True)  # not frozen: built for every audited reception
class Turn:
    """One reception the audit judged: one `rotation.csv` row."""

    visit_at: datetime
    phone: str
    consultant: str  # who received the customer
    in_turn: str | None  # whose turn it was
    verdict: str  # in_turn | out_of_turn | own_customer | missed
    codes: tuple[Code, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Day:
    order: list[str]
    away: frozenset[str]


def roster_days(roster: pl.DataFrame, rules: Rules) -> dict[int, Day]:
    """The roster by local day (days since 1970-01-01): consultants in order (by 顺序,
    then row), who is away.

    A consultant listed twice on a day (a roster re-saved with a correction keeps its old
    row in the ledger) counts once, as the row first seen last says."""
    latest: dict[tuple[int, str], tuple[int, tuple, bool]] = {}
    frame = roster.filter(pl.col("at").is_not_null() & pl.col("consultant").is_not_null())
    frame = frame.sort("first_seen_at", "path", "sheet", "row_no", nulls_last=False)
    for at, order, consultant, away, path, sheet, row_no in frame.select(
        "at", "roster_order", "consultant", "away", "path", "sheet", "row_no"
    ).iter_rows():
        name = consultant.strip()
        if not name:
            continue
        number = _NUMBER.search(order or "")
        rank = int(number.group()) if number else 10**6
        absent = (away or "").strip() in AWAY
        latest[(epoch_day(local_day(at, rules.zone)), name)] = (rank, (path, sheet, row_no), absent)
    rows: dict[int, list[tuple[int, tuple, str, bool]]] = {}
    for (day, name), (rank, where, absent) in latest.items():
        rows.setdefault(day, []).append((rank, where, name, absent))
    return {
        day: Day(
            [name for _, _, name, _ in sorted(entries)],
            frozenset(name for _, _, name, absent in entries if absent),
        )
        for day, entries in rows.items()
    }


def audit(
    receptions: list[Reception], inputs: Inputs, rules: Rules, settings: RotationRules
) -> list[Turn]:
    """Every audited reception, in time order."""
    days = roster_days(inputs.roster, rules)
    if not days:
        return []
    state = Rotation(settings)
    current: int | None = None
    turns: list[Turn] = []
    for reception in sorted(receptions, key=lambda r: (r.at_us, r.order)):
        day = reception.day
        if day not in days:
            continue
        if day != current:
            current = day
            state.start_day(days[day].order, days[day].away)
        if reception.owner is None:
            verdict, due, codes = state.turn(reception.consultant)
        elif reception.owner == reception.consultant:
            verdict, due, codes = (
                OWN_CUSTOMER,
                reception.consultant,
                state.own_customer(reception.consultant),
            )
        else:
            continue  # received for the owner (指定/协助/代接): not a turn
        turns.append(
            Turn(
                reception.at,
                reception.phone,
                reception.consultant,
                due,
                verdict,
                tuple(codes),
                reception.source,
            )
        )
    return turns
