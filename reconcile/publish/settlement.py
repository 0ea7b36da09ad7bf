"""The settlement workbook for finance (SPEC §7): `outputs/<date>/settlement.xlsx`.

Sheets, in reading order:
- 汇总: one row per channel with live SUMPRODUCT/EXACT formulas over 明细 and 对账, a
  row for deal lines without a channel (disputes, natural and existing customers), a
  合计 row. Besides the commission by status it shows the money across nights (SPEC
  6.6): 累计应结, 已付, 本期应付 (= 累计应结 − 已付: claw-backs net against what is
  owed), the credit (预付余额), what the agency claimed and how many claim lines differ.
  No formula holds a name or any other text: each compares 明细's or 对账's cells with
  the cells of 汇总 that hold the channel (column A) and the status (the column's header).
- 明细: every deal line of deals.csv, in the same order, with settlement.csv's money
  and claim check.
- 对账: every claim check of settlement.csv (the rows of the channels that sent
  请款单/对账单, but for lines with nothing claimed and nothing owed), the rows needing
  action first, with a live 差额 = 请款金额 − 我方应付 and what to do.
- 暂缓: held lines, why, and until when.
- 调整: refund clawbacks and lines decided by a ruling.

Totals are formulas rather than numbers so that finance can filter or correct 明细 and
the summary follows; they agree with deals.csv and settlement.csv because 明细 holds
exactly their lines. Lines are values, not formulas: a night has tens of thousands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from xlsxwriter.utility import xl_col_to_name

from reconcile.config.rules import Rules
from reconcile.judge import Judgement
from reconcile.judge.claims import Settled
from reconcile.judge.deals import DealLine, commission_for
from reconcile.judge.reasons import REASONS, labels
from reconcile.judge.timeline import Episode
from reconcile.judge.vocabulary import ClaimCheck, Code, DealStatus, OwnerType
from reconcile.publish.stream import Extra, Sheet, write_book
from reconcile.publish.text import masked_phone, until_text, yuan
from reconcile.publish.workbook import Column, Formula

SUMMARY, DETAIL, CLAIMS, HELD, ADJUSTMENTS = "汇总", "明细", "对账", "暂缓", "调整"
NO_CHANNEL = "（无渠道 / 待裁决）"
NO_CLAIMS = "本期没有渠道提交请款单或对账单，无需对账。"
FILE_NAME = "settlement.xlsx"
TITLE = "佣金结算表"

DETAIL_COLUMNS = (
    Column("成交编号"),
    Column("客户"),
    Column("客户姓名"),
    Column("阶段"),
    Column("成交日期", "date"),
    Column("成交金额", "money"),
    Column("归属类型"),
    Column("渠道"),
    Column("经纪人"),
    Column("分成比例", "percent"),
    Column("计佣金额", "money"),
    Column("佣金", "money"),
    Column("状态"),
    Column("原因", max_width=40),
    # settlement.csv's money and check (SPEC 6.6), after the columns finance knew first
    Column("累计应结", "money"),
    Column("已付", "money"),
    Column("本期应付", "money"),
    Column("请款金额", "money"),
    Column("核对结果"),
)
# Where the summary's formulas look in 明细 (letters follow DETAIL_COLUMNS).
_DETAIL_LETTER = {
    column.title: xl_col_to_name(index - 1) for index, column in enumerate(DETAIL_COLUMNS, 1)
}
# The status columns' titles are the status labels of 明细's 状态 column: each of their
# formulas matches 状态 against its own header cell, so no label is inside a formula.
_PAYABLE, _HELD, _CLAWBACK = (
    status.label for status in (DealStatus.PAYABLE, DealStatus.HELD, DealStatus.CLAWBACK)
)
SUMMARY_COLUMNS = (
    Column("渠道"),
    Column("成交笔数", "count"),
    Column("成交金额(按分成)", "money"),
    Column(_PAYABLE, "money"),
    Column(_HELD, "money"),
    Column(_CLAWBACK, "money"),
    Column("应付净额", "money"),
    Column("累计应结", "money"),
    Column("已付", "money"),
    Column("本期应付", "money"),
    Column("预付余额", "money"),
    Column("请款金额", "money"),
    Column("待核对笔数", "count"),
)
_SUMMARY_LETTER = {
    column.title: xl_col_to_name(index - 1) for index, column in enumerate(SUMMARY_COLUMNS, 1)
}
# The deal line as held and adjustment sheets show it, before their own columns.
_LINE_COLUMNS = (
    Column("成交编号"),
    Column("客户"),
    Column("渠道"),
    Column("经纪人"),
    Column("成交日期", "date"),
    Column("成交金额", "money"),
    Column("分成比例", "percent"),
    Column("佣金", "money"),
)
HELD_COLUMNS = (
    *_LINE_COLUMNS,
    Column("原因", max_width=40),
    Column("申诉截止", "datetime"),
    Column("暂缓说明", max_width=60),
)
ADJUSTMENT_COLUMNS = (
    *_LINE_COLUMNS,
    Column("调整类型"),
    Column("原因", max_width=40),
    Column("说明", max_width=60),
)
CLAIM_COLUMNS = (
    Column("渠道"),
    Column("成交编号"),
    Column("客户"),
    Column("对方成交金额", "money"),
    Column("我方成交金额", "money"),
    Column("请款金额", "money"),
    Column("已付", "money"),
    Column("我方应付", "money"),
    Column("差额", "money"),
    Column("核对结果"),
    # Not wrapped: wrapping sizes every row, and 对账 may have as many rows as 明细.
    Column("处理建议", max_width=50),
    Column("来源", max_width=60),
)
_CLAIM_LETTER = {
    column.title: xl_col_to_name(index - 1) for index, column in enumerate(CLAIM_COLUMNS, 1)
}
# 对账's order within a channel: what must not be paid first, what matches last.
SEVERITY = (
    ClaimCheck.NOT_OURS,
    ClaimCheck.ALREADY_PAID,
    ClaimCheck.AMOUNT_DIFFERS,
    ClaimCheck.AMBIGUOUS,
    ClaimCheck.UNCLAIMED,
    ClaimCheck.OK,
)


def write_settlement(judgement: Judgement, rules: Rules, as_of: date, path: Path) -> Path:
    """Write the night's settlement workbook to `path` (a folder gets `settlement.xlsx`)."""
    if path.is_dir():
        path = path / FILE_NAME
    lines = ordered_lines(judgement.deals)
    book = _Book(judgement, rules, rules.zone)
    claimed = claim_rows(judgement.settlement)
    held = [line for line in lines if line.status == DealStatus.HELD]
    adjusted = [line for line in lines if _adjustment_kinds(line)]
    sheets = [
        summary_sheet(lines, judgement.credit, claimed),
        Sheet(DETAIL, DETAIL_COLUMNS, [book.detail_row(line) for line in lines]),
        Sheet(
            CLAIMS,
            CLAIM_COLUMNS,
            [book.claim_row(row, index) for index, row in enumerate(claimed, start=2)],
            empty=NO_CLAIMS,
        ),
        Sheet(HELD, HELD_COLUMNS, [book.held_row(line) for line in held]),
        Sheet(ADJUSTMENTS, ADJUSTMENT_COLUMNS, [book.adjustment_row(line) for line in adjusted]),
    ]
    return write_book(path, sheets, rules.project, TITLE, as_of, rules.zone)


def ordered_lines(lines: Sequence[DealLine]) -> list[DealLine]:
    """Deal lines in deals.csv order (reconcile.contract.deal_rows)."""
    return sorted(
        lines,
        key=lambda d: (d.deal_id, -(d.share if d.share is not None else 1.0), d.channel or ""),
    )


def claim_rows(settlement: Sequence[Settled]) -> list[Settled]:
    """对账's rows: every claim check of settlement.csv (the rows of the channels that sent
    claims, but for `no_claim` ones: nothing claimed and nothing owed, most of them lines
    paid in earlier months), by channel, then by what finance must act on first
    (SEVERITY), then in settlement.csv order."""
    claiming = {row.channel for row in settlement if row.claims}
    rows = [
        row for row in settlement if row.channel in claiming and row.check != ClaimCheck.NO_CLAIM
    ]
    return sorted(rows, key=lambda row: (row.channel or "", SEVERITY.index(row.check)))


@dataclass
class _Book:
    """What a settlement row needs beyond its deal line: names, episodes, rules."""

    judgement: Judgement
    rules: Rules
    zone: ZoneInfo

    def __post_init__(self) -> None:
        self.records = self.judgement.deal_records
        # The episodes of the deals' customers (notes on held and ruled lines), not of
        # every customer the night knows.
        buyers = {line.customer_phone for line in self.judgement.deals}
        self.episodes: dict[str, list[Episode]] = {}
        for episode in self.judgement.episodes:
            if episode.phone in buyers:
                self.episodes.setdefault(episode.phone, []).append(episode)
        # settlement.csv's row of each deal line (the very objects of judgement.deals)
        self.settled = {
            id(row.line): row for row in self.judgement.settlement if row.line is not None
        }

    def detail_row(self, line: DealLine) -> list[object]:
        settled = self.settled.get(id(line))
        check = settled.check if settled is not None else ClaimCheck.NO_CLAIM
        return [
            line.deal_id,
            masked_phone(line.customer_phone),
            self.records[line.deal_id].customer_name,
            line.stage,
            line.deal_date,
            line.amount,
            line.owner_type.label,
            line.channel,
            line.agent,
            line.share,
            commission_base(line),
            line.commission,
            line.status.label,
            labels(line.reason_codes),
            line.due,
            line.paid + 0.0,  # + 0.0: never -0
            line.outstanding + 0.0,
            settled.claimed if settled is not None else None,
            check.label,
        ]

    def claim_row(self, row: Settled, index: int) -> list[object]:
        """One 对账 row at sheet row `index` (its 差额 is a formula over the row's cells)."""
        line = row.line
        if line is not None:
            name = self.records[line.deal_id].customer_name
            phone = line.customer_phone
        else:
            name = next((c.customer_name for c in row.claims if c.customer_name), None)
            phone = next((c.phone_pattern for c in row.claims if c.phone_pattern), None)
        advice = row.check.advice
        if row.candidates:
            advice += f"（可能对应：{'、'.join(row.candidates)}）"
        claimed, owed = _CLAIM_LETTER["请款金额"], _CLAIM_LETTER["我方应付"]
        return [
            row.channel,
            row.deal_id,
            " ".join(part for part in (name, masked_phone(phone)) if part),
            next((c.deal_amount for c in row.claims if c.deal_amount is not None), None),
            line.amount if line is not None else None,
            row.claimed,
            row.paid + 0.0,
            row.outstanding + 0.0,
            Formula(f"={claimed}{index}-{owed}{index}"),
            row.check.label,
            advice,
            "；".join(claim.source for claim in row.claims),
        ]

    def held_row(self, line: DealLine) -> list[object]:
        return [
            *self._head(line),
            line.share,
            line.commission,
            labels(line.reason_codes),
            line.held_until,
            self._held_note(line),
        ]

    def adjustment_row(self, line: DealLine) -> list[object]:
        return [
            *self._head(line),
            line.share,
            line.commission,
            "；".join(_adjustment_kinds(line)),
            labels(line.reason_codes),
            self._adjustment_note(line),
        ]

    def _head(self, line: DealLine) -> list[object]:
        return [
            line.deal_id,
            masked_phone(line.customer_phone),
            line.channel,
            line.agent,
            line.deal_date,
            line.amount,
        ]

    def _held_note(self, line: DealLine) -> str:
        deadline = until_text(line.held_until, self.zone) if line.held_until else "未定"
        if Code.D01 not in line.reason_codes:
            return f"申诉期内暂缓结佣；申诉截止 {deadline}，期满且无裁决变更后可结佣"
        note = f"待裁决（申诉截止 {deadline}）"
        tied = tied_channels(line, self.episodes)
        if tied:
            note += f"；争议渠道：{'、'.join(tied)}"
            ceiling = dispute_ceiling(line, tied, self.rules)
            if ceiling:
                note += f"；裁决后按归属渠道计佣，预计不超过 {yuan(ceiling)}"
        return note

    def _adjustment_note(self, line: DealLine) -> str:
        notes = []
        if line.status == DealStatus.CLAWBACK:
            refunded = self.records[line.deal_id].stage_at.get("退房")
            when = f"（退房日期 {refunded.astimezone(self.zone).date()}）" if refunded else ""
            notes.append(f"结佣后退房{when}，追回佣金 {yuan(abs(line.commission))}")
        if Code.J01 in line.reason_codes:
            share = f"{line.share:.0%}" if line.share is not None else "全部"
            source = self._ruling_source(line)
            notes.append(f"按裁决{f'（{source}）' if source else ''}分得 {share}")
        return "；".join(notes)

    def _ruling_source(self, line: DealLine) -> str:
        for episode in self.episodes.get(line.customer_phone or "", []):
            if episode.ruled and episode.flags.ruling is not None:
                return episode.flags.ruling
        return ""


def tied_channels(line: DealLine, episodes: dict[str, list[Episode]]) -> list[str]:
    """The channels whose dispute holds a D01 line (its customer's disputed episodes)."""
    disputed = [
        e for e in episodes.get(line.customer_phone or "", []) if e.owner_type == OwnerType.DISPUTED
    ]
    return sorted({channel for e in disputed for channel in e.channels})


def dispute_ceiling(line: DealLine, channels: list[str], rules: Rules) -> float:
    """The most commission a disputed deal can cost once ruled: finance's provision."""
    return round(max((commission_for(rules, c, line.amount) for c in channels), default=0.0), 2)


def commission_base(line: DealLine) -> float | None:
    """The part of the deal amount a line is paid on: amount × share (whole deal if no share)."""
    if line.amount is None:
        return None
    return round(line.amount * (line.share if line.share is not None else 1.0), 2)


def _adjustment_kinds(line: DealLine) -> list[str]:
    kinds = []
    if line.status == DealStatus.CLAWBACK:
        kinds.append(REASONS[Code.X01].label)
    if Code.J01 in line.reason_codes:
        kinds.append("按裁决分成" if line.share is not None and line.share < 1 else "按裁决归属")
    return kinds


# 汇总 ------------------------------------------------------------------------------
#
# No formula holds text from the night: a channel's row compares 明细's 渠道 cells with
# its own 渠道 cell ($A) by EXACT, and a status column compares 明细's 状态 cells with
# its own header cell (row 1), whose title is the status label. Criteria strings
# (COUNTIFS/SUMIFS) are not used at all: they read `* ? ~` as wildcards and `< > =` as
# operators, and compare without case, so `链家*`, `A?B`, `~x`, `<5` or `Abc`/`ABC`
# would count other channels' lines or none.


def summary_sheet(lines: list[DealLine], credit: dict[str, float], claimed: list[Settled]) -> Sheet:
    """汇总: a row of formulas per channel (and one for lines without), 合计, notes, a check."""
    # A channel paid ahead or claiming only deals that are not its own still has a row.
    channels = sorted(
        {line.channel for line in lines if line.channel}
        | {channel for channel, amount in credit.items() if amount}
        | {row.channel for row in claimed if row.channel}
    )
    # An empty sheet still ends its ranges at row 2 (its 无 line): `$2:$1` would be read
    # as `$1:$2` and take in the header.
    detail = _DetailRanges(last=max(len(lines) + 1, 2))
    claims = _ClaimRanges(last=max(len(claimed) + 1, 2))
    table: list[list[object]] = []
    for row, name in enumerate(channels, start=2):
        match = detail.channel_is(f"$A{row}")
        table.append([name, *detail.row(row, match), credit.get(name, 0.0), *claims.row(row)])
    if any(line.channel is None for line in lines):
        # No claim and no payment names no channel: those cells stay empty.
        row = len(table) + 2
        table.append([NO_CHANNEL, *detail.row(row, detail.no_channel()), None, None, None])
    last = max(len(table) + 1, 2)
    totals: list[Extra | None] = [Extra("合计", bold=True)]
    for index, column in enumerate(SUMMARY_COLUMNS[1:], start=1):
        letter = xl_col_to_name(index)
        totals.append(Extra(Formula(f"=SUM({letter}2:{letter}{last})"), column.kind, bold=True))
    notes = [
        f"说明：应付净额 = {_PAYABLE} + {_CLAWBACK}（{_CLAWBACK}为负数）；{_HELD}的佣金待申诉期满"
        "或裁决后结算，不计入应付净额。",
        "本期应付 = 累计应结 − 已付：本次应付给渠道的金额，已结佣后退房的追回款已抵扣；"
        "负数表示渠道应退回。预付余额为多付或预付、尚未分摊到成交的款项。",
        "请款金额、待核对笔数取自“对账”表：待核对笔数为差额（请款金额 − 我方应付）不为零的行数。",
        "各行均为公式：把“明细”（或“对账”）中渠道与本行渠道逐字相同（区分大小写）、状态与本列标题"
        "逐字相同的行相加；在“明细”中修改后重新计算即更新。请勿改动本表的列标题。",
    ]
    if NO_CHANNEL in (row[0] for row in table):
        notes.append(
            f"{NO_CHANNEL}：“明细”中渠道为空的成交行——撞单待裁决、自然到访或案场老客户的成交，"
            "尚无渠道佣金；待裁决的成交及预计佣金见“暂缓”表。"
        )
    what = f"核对：明细表佣金合计（应等于 {_PAYABLE}+{_HELD}+{_CLAWBACK} 的合计）"
    check = Extra(Formula(f"=SUM({_column(DETAIL, '佣金')})"), "money")
    gap: list[Extra | None] = [None] * (len(SUMMARY_COLUMNS) - 2)
    # 合计 on the row after the table, a blank row, the notes, then the check.
    explained: list[list[Extra | None]] = [[Extra(note)] for note in notes]
    below = [totals, [], *explained, [Extra(what), *gap, check]]
    return Sheet(SUMMARY, SUMMARY_COLUMNS, table, below=below)


@dataclass(frozen=True)
class _DetailRanges:
    """明细's columns as absolute ranges over its lines (rows 2 … `last`), and 汇总's rows.

    Ranges end at the last line rather than taking whole columns: SUMPRODUCT over a
    whole column computes a million rows. A row inserted inside 明细 widens them, as
    Excel and LibreOffice adjust references when rows are inserted.
    """

    last: int

    def cells(self, title: str) -> str:
        letter = _DETAIL_LETTER[title]
        return f"'{DETAIL}'!${letter}$2:${letter}${self.last}"

    def channel_is(self, cell: str) -> str:
        """明细's 渠道 equals the text in `cell`, exactly (case counts, no wildcards)."""
        return f"EXACT({self.cells('渠道')},{cell})"

    def no_channel(self) -> str:
        """明细's 渠道 is empty: disputed, natural and existing-customer lines."""
        return f"(LEN({self.cells('渠道')})=0)"

    def row(self, row: int, match: str) -> list[Formula]:
        """成交笔数 … 本期应付 of summary row `row`, over the 明细 lines `match` selects.

        `match` is a TRUE/FALSE array over 明细's lines; a status column also takes
        EXACT of 明细's 状态 with its own header cell. SUMPRODUCT gets the summed column
        as a separate argument, so an empty or text cell there counts as 0, not an error.
        """

        def total(column: str, status: str | None = None) -> Formula:
            header = f"*EXACT({self.cells('状态')},{_SUMMARY_LETTER[status]}$1)" if status else "*1"
            return Formula(f"=SUMPRODUCT({match}{header},{self.cells(column)})")

        payable, clawback = _SUMMARY_LETTER[_PAYABLE], _SUMMARY_LETTER[_CLAWBACK]
        due, paid = _SUMMARY_LETTER["累计应结"], _SUMMARY_LETTER["已付"]
        return [
            Formula(f"=SUMPRODUCT({match}*1)"),
            total("计佣金额"),
            total("佣金", _PAYABLE),
            total("佣金", _HELD),
            total("佣金", _CLAWBACK),
            Formula(f"={payable}{row}+{clawback}{row}"),
            total("累计应结"),
            total("已付"),
            # due − paid: the sum of the lines' outstanding, and it follows an edited 已付
            Formula(f"={due}{row}-{paid}{row}"),
        ]


@dataclass(frozen=True)
class _ClaimRanges:
    """对账's columns as absolute ranges over its rows (2 … `last`): 汇总's claim columns."""

    last: int

    def cells(self, title: str) -> str:
        letter = _CLAIM_LETTER[title]
        return f"'{CLAIMS}'!${letter}$2:${letter}${self.last}"

    def row(self, row: int) -> list[Formula]:
        """请款金额 and 待核对笔数 of summary row `row` (its channel in $A)."""
        match = f"EXACT({self.cells('渠道')},$A{row})"
        # A difference of less than half a fen is none (sums of yuan in binary floats).
        differs = f"(({self.cells('差额')}>0.005)+({self.cells('差额')}<-0.005))"
        return [
            Formula(f"=SUMPRODUCT({match}*1,{self.cells('请款金额')})"),
            Formula(f"=SUMPRODUCT({match}*{differs})"),
        ]


def _column(sheet: str, title: str) -> str:
    letter = _DETAIL_LETTER[title]
    return f"'{sheet}'!${letter}:${letter}"
