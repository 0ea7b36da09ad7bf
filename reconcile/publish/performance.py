"""The sales manager's workbook (SPEC 6.7, §7): `outputs/<date>/performance.xlsx`.

Written when `consultant:` is set. Sheets, in reading order:
- 汇总: one row per consultant with live SUMPRODUCT/EXACT formulas over 明细 (成交套数
  and 业绩金额 by share, deals differing from the CRM) and 轮排 (turns, in-turn
  receptions, deviations, the in-turn share), and a 合计 row;
- 明细: every `performance.csv` row with the deal's date, stage and amount;
- 与CRM不符: the deals whose consultants differ from the CRM's 置业顾问 (K07);
- 客户归属: every consultant record (`consultants.csv`);
- 轮排: every audited reception (`rotation.csv`), when `rotation:` is set;
- 轮排日报: per consultant and day, receptions, in-turn receptions and their share, and
  the deviations with their source rows.

As in the settlement workbook, no formula holds a name: a consultant's row compares
明细's and 轮排's cells with its own 置业顾问 cell ($A) by EXACT, so LibreOffice and
Excel recompute every total from the lines when they open the file. Phones are masked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from reconcile.config.rules import Rules
from reconcile.judge import Judgement
from reconcile.judge.consultants import Share
from reconcile.judge.reasons import labels
from reconcile.judge.reasons.turns import IN_TURN, MISSED, OUT_OF_TURN, OWN_CUSTOMER, TURN_LABELS
from reconcile.judge.rotation import Turn
from reconcile.judge.vocabulary import Code
from reconcile.publish.report import one_line
from reconcile.publish.stream import Extra, Sheet, write_book
from reconcile.publish.text import masked_phone, yuan
from reconcile.publish.workbook import Column, Formula

FILE_NAME = "performance.xlsx"
TITLE = "置业顾问业绩表"
SUMMARY, DETAIL, CRM, RECORDS, ROTATION, DAILY = (
    "汇总", "明细", "与CRM不符", "客户归属", "轮排", "轮排日报",
)  # fmt: skip
NOBODY = "（无接待记录）"
_NAME_CHARS = 30  # of a consultant's name in the mail
VERDICT_LABELS = TURN_LABELS

DETAIL_COLUMNS = (
    Column("成交编号"),
    Column("客户"),
    Column("阶段"),
    Column("成交日期", "date"),
    Column("成交金额", "money"),
    Column("置业顾问"),
    Column("分成比例", "percent"),
    Column("业绩金额", "money"),
    Column("CRM置业顾问"),
    Column("与CRM不符", "count"),  # 1 or 0: 汇总 sums it, so no formula holds a text
    Column("原因", max_width=40),
)
_DETAIL = {column.title: xl_col_to_name(i) for i, column in enumerate(DETAIL_COLUMNS)}
ROTATION_COLUMNS = (
    Column("接待时间", "datetime"),
    Column("客户"),
    Column("接待顾问"),
    Column("应轮到"),
    Column("结果"),
    Column("原因", max_width=40),
    Column("来源", max_width=60),
)
_ROTATION = {column.title: xl_col_to_name(i) for i, column in enumerate(ROTATION_COLUMNS)}
SUMMARY_COLUMNS = (
    Column("置业顾问"),
    Column("成交套数(按分成)"),  # General: 0.8 套 as it is
    Column("业绩金额", "money"),
    Column("参与成交笔数", "count"),
    Column("与CRM不符笔数", "count"),
    Column("轮排接待", "count"),
    Column(VERDICT_LABELS[IN_TURN], "count"),
    Column("按轮排比例", "percent"),
    Column(VERDICT_LABELS[OUT_OF_TURN], "count"),
    Column(VERDICT_LABELS[MISSED], "count"),
    Column(VERDICT_LABELS[OWN_CUSTOMER], "count"),
)
_SHARE_COLUMNS = 5  # 置业顾问 … 与CRM不符笔数: the columns of a night without the rotation
_SUMMARY = {column.title: xl_col_to_name(i) for i, column in enumerate(SUMMARY_COLUMNS)}
CRM_COLUMNS = (
    Column("成交编号"),
    Column("客户"),
    Column("成交日期", "date"),
    Column("按规则分成", max_width=40),
    Column("CRM置业顾问"),
)
RECORD_COLUMNS = (
    Column("客户"),
    Column("客户姓名"),
    Column("置业顾问"),
    Column("建档时间", "datetime"),
    Column("建档截止", "datetime"),
    Column("原因", max_width=40),
    Column("来源", max_width=60),
)
DAILY_COLUMNS = (
    Column("日期", "date"),
    Column("置业顾问"),
    Column("接待", "count"),
    Column(VERDICT_LABELS[IN_TURN], "count"),
    Column("按轮排比例", "percent"),
    Column("偏离", max_width=30),
    Column("偏离来源", max_width=80),
)
NOTES = (
    "成交套数(按分成)：每笔成交按分成比例计，如 80/20 分成记 0.8 套与 0.2 套；"
    "业绩金额 = 成交金额 × 分成比例。",
    "各行均为公式：把“明细”“轮排”中置业顾问与本行逐字相同的行相加；修改明细后重新计算即更新。",
    "按轮排比例 = 按轮排 ÷ 轮排接待（轮排接待不含接待自己的老客户）。",
)


def write_performance(judgement: Judgement, rules: Rules, as_of: date, path: Path) -> Path:
    """Write the night's performance workbook to `path` (a folder gets `performance.xlsx`)."""
    if path.is_dir():
        path = path / FILE_NAME
    found = judgement.consultants
    shares = found.shares if found is not None else []
    turns = judgement.rotation or []
    sheets = [
        summary_sheet(shares, turns, audited=judgement.rotation is not None),
        Sheet(DETAIL, DETAIL_COLUMNS, [_detail_row(share) for share in shares]),
        Sheet(CRM, CRM_COLUMNS, _crm_rows(shares), empty="所有成交与 CRM 的置业顾问一致。"),
        Sheet(RECORDS, RECORD_COLUMNS, _record_rows(judgement)),
    ]
    if judgement.rotation is not None:
        sheets += [
            Sheet(ROTATION, ROTATION_COLUMNS, [_rotation_row(turn) for turn in turns]),
            Sheet(DAILY, DAILY_COLUMNS, daily_rows(turns, rules)),
        ]
    return write_book(path, sheets, rules.project, TITLE, as_of, rules.zone)


@dataclass(frozen=True)
class ConsultantTotal:
    """One consultant's line of the mail: the figures 汇总 computes with formulas."""

    name: str
    deals: float  # 成交套数 by share
    amount: float  # 业绩金额
    differs: int  # deals differing from the CRM
    turns: int  # receptions in the rotation (own customers left out)
    in_turn: int
    deviations: int  # out of turn or missed

    @property
    def deals_text(self) -> str:
        return f"{self.deals:.2f}".rstrip("0").rstrip(".")

    @property
    def amount_text(self) -> str:
        return yuan(self.amount + 0.0)

    @property
    def in_turn_share(self) -> str:
        return f"{self.in_turn / self.turns:.0%}" if self.turns else "—"


def consultant_totals(judgement: Judgement) -> list[ConsultantTotal]:
    """Each consultant's figures for the mail (names on one line, cut short)."""
    found = judgement.consultants
    shares = found.shares if found is not None else []
    turns = judgement.rotation or []
    totals = []
    for name in consultant_names(shares, turns):
        mine = [s for s in shares if (s.consultant or NOBODY) == name]
        counted = [t for t in turns if t.consultant == name and t.verdict != OWN_CUSTOMER]
        totals.append(
            ConsultantTotal(
                one_line(name)[:_NAME_CHARS],
                sum(s.share or 0.0 for s in mine),
                sum(s.amount or 0.0 for s in mine),
                sum(Code.K07 in s.codes for s in mine),
                len(counted),
                sum(t.verdict == IN_TURN for t in counted),
                sum(t.verdict in (OUT_OF_TURN, MISSED) for t in counted),
            )
        )
    return totals


def consultant_names(shares: list[Share], turns: list[Turn]) -> list[str]:
    named = {share.consultant or NOBODY for share in shares} | {t.consultant for t in turns}
    return sorted(named)


def summary_sheet(shares: list[Share], turns: list[Turn], *, audited: bool) -> Sheet:
    """汇总: a row of formulas per consultant, 合计 and notes; the rotation's columns only
    when the night audited it (their formulas read the 轮排 sheet)."""
    columns = SUMMARY_COLUMNS if audited else SUMMARY_COLUMNS[:_SHARE_COLUMNS]
    detail = _Ranges(DETAIL, _DETAIL, len(shares))
    rotation = _Ranges(ROTATION, _ROTATION, len(turns))
    table: list[list[object]] = []
    for row, name in enumerate(consultant_names(shares, turns), start=2):
        mine = detail.equals("置业顾问", f"$A{row}")
        turned = rotation.equals("接待顾问", f"$A{row}")

        def verdict(label: str, turned: str = turned) -> Formula:
            header = f"{_SUMMARY[label]}$1"
            return Formula(f"=SUMPRODUCT({turned}*EXACT({rotation.cells('结果')},{header}))")

        in_turn, turns_cell = _SUMMARY[VERDICT_LABELS[IN_TURN]], _SUMMARY["轮排接待"]
        own = _SUMMARY[VERDICT_LABELS[OWN_CUSTOMER]]
        row_cells: list[object] = [
            name,
            Formula(f"=SUMPRODUCT({mine}*1,{detail.cells('分成比例')})"),
            Formula(f"=SUMPRODUCT({mine}*1,{detail.cells('业绩金额')})"),
            Formula(f"=SUMPRODUCT({mine}*1)"),
            Formula(f"=SUMPRODUCT({mine}*1,{detail.cells('与CRM不符')})"),
            Formula(f"=SUMPRODUCT({turned}*1)-{own}{row}"),
            verdict(VERDICT_LABELS[IN_TURN]),
            Formula(f"=IF({turns_cell}{row}>0,{in_turn}{row}/{turns_cell}{row},0)"),
            verdict(VERDICT_LABELS[OUT_OF_TURN]),
            verdict(VERDICT_LABELS[MISSED]),
            verdict(VERDICT_LABELS[OWN_CUSTOMER]),
        ]
        table.append(row_cells[: len(columns)])
    last = max(len(table) + 1, 2)
    totals: list[Extra | None] = [Extra("合计", bold=True)]
    for index, column in enumerate(columns[1:], start=1):
        letter = xl_col_to_name(index)
        if column.title == "按轮排比例":
            in_turn, turns_cell = _SUMMARY[VERDICT_LABELS[IN_TURN]], _SUMMARY["轮排接待"]
            total = last + 1
            value = f"=IF({turns_cell}{total}>0,{in_turn}{total}/{turns_cell}{total},0)"
            totals.append(Extra(Formula(value), column.kind, bold=True))
            continue
        totals.append(Extra(Formula(f"=SUM({letter}2:{letter}{last})"), column.kind, bold=True))
    notes = NOTES if audited else NOTES[:-1]
    explained: list[list[Extra | None]] = [[Extra(note)] for note in notes]
    below = [totals, [], *explained]
    return Sheet(SUMMARY, columns, table, below=below)


@dataclass(frozen=True)
class _Ranges:
    """A sheet's column as an absolute range over its rows (2 … last)."""

    sheet: str
    letters: dict[str, str]
    rows: int

    def cells(self, title: str) -> str:
        letter = self.letters[title]
        return f"'{self.sheet}'!${letter}$2:${letter}${max(self.rows + 1, 2)}"

    def equals(self, title: str, cell: str) -> str:
        return f"EXACT({self.cells(title)},{cell})"


def _detail_row(share: Share) -> list[object]:
    return [
        share.deal_id,
        masked_phone(share.phone),
        share.stage,
        share.deal_date,
        None if share.amount is None or share.share is None else share.amount / share.share,
        share.consultant or NOBODY,
        share.share,
        share.amount,
        share.crm_consultant,
        int(Code.K07 in share.codes),
        labels(share.codes),
    ]


def _crm_rows(shares: list[Share]) -> list[list[object]]:
    by_deal: dict[str, list[Share]] = defaultdict(list)
    for share in shares:
        if Code.K07 in share.codes:
            by_deal[share.deal_id].append(share)
    return [
        [
            deal_id,
            masked_phone(rows[0].phone),
            rows[0].deal_date,
            "、".join(
                f"{row.consultant or NOBODY} {row.share:.0%}" if row.share is not None else NOBODY
                for row in rows
            ),
            rows[0].crm_consultant,
        ]
        for deal_id, rows in by_deal.items()
    ]


def _record_rows(judgement: Judgement) -> list[list[object]]:
    found = judgement.consultants
    records = sorted(found.records, key=lambda r: (r.phone, r.valid_from)) if found else []
    return [
        [
            masked_phone(r.phone),
            r.customer_name,
            r.consultant,
            r.valid_from,
            r.valid_until,
            labels(r.codes),
            r.source,
        ]
        for r in records
    ]


def _rotation_row(turn: Turn) -> list[object]:
    return [
        turn.visit_at,
        masked_phone(turn.phone),
        turn.consultant,
        turn.in_turn,
        VERDICT_LABELS[turn.verdict],
        labels(turn.codes),
        turn.source,
    ]


def daily_rows(turns: list[Turn], rules: Rules) -> list[list[object]]:
    """Per day and consultant: receptions in the rotation, in-turn ones and their share,
    and the deviations (not in turn, missed) with their source rows."""
    days: dict[tuple[date, str], list[Turn]] = defaultdict(list)
    for turn in turns:
        days[(turn.visit_at.astimezone(rules.zone).date(), turn.consultant)].append(turn)
    rows: list[list[object]] = []
    for (day, who), mine in sorted(days.items()):
        counted = [t for t in mine if t.verdict != OWN_CUSTOMER]
        in_turn = sum(t.verdict == IN_TURN for t in counted)
        off = [t for t in counted if t.verdict in (OUT_OF_TURN, MISSED)]
        rows.append(
            [
                day,
                who,
                len(counted),
                in_turn,
                in_turn / len(counted) if counted else None,
                "；".join(f"{VERDICT_LABELS[t.verdict]}（应轮到 {t.in_turn}）" for t in off),
                "；".join(t.source for t in off),
            ]
        )
    return rows
