"""One receipt workbook per agency (SPEC §7): `outputs/<date>/channels/<渠道>.xlsx`.

A receipt shows an agency only what came from its own rows: its reports and their
status, the customers it owns, its commission lines. It never names another channel,
another channel's agent, or a customer only another channel reported.

Its money (SPEC 6.6) is its own too: each of its lines with what was paid, what is
outstanding, what it claimed and how the claim checked, its claim lines that match none
of its lines, and its 累计应结, 已付, 本期应付 and 预付余额. A claim on another
channel's deal reads as one on nobody's: the same check, the same words, the deal as
the agency wrote it.

The seed rule (在客户签定正式合同前不得将撞单信息通知任意方): until the customer's
contract is signed, a receipt does not even say that a collision happened. Lost and
disputed reports, the confidential codes (C01, C02, D01, H01, J01: `Reason.confidential`)
and shares are shown in neutral words (`Reason.receipt`); after signing, the codes' own
labels may be shown.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from reconcile.config.rules import Rules
from reconcile.judge import Judgement, cycle_collector_paused
from reconcile.judge.claims import Claim, Settled
from reconcile.judge.deals import DealLine
from reconcile.judge.reasons import CONFIDENTIAL, REASONS
from reconcile.judge.timeline import Episode, QueueSpot, Report, Request
from reconcile.judge.vocabulary import ClaimCheck, Code, DealStatus, OwnerType, ReportStatus
from reconcile.normalise.places import place_text
from reconcile.publish.settlement import ordered_lines
from reconcile.publish.stream import Sheet, write_book
from reconcile.publish.text import mask_numbers, masked_phone, safe_filename, until_text
from reconcile.publish.workbook import Column, cell_text

OVERVIEW, REPORTS, CUSTOMERS, COMMISSION = "概要", "报备回执", "归属客户", "佣金"
SETTLE = "结算"
EXTENSIONS = "延期与排队"
TITLE = "渠道回执"

OVERVIEW_COLUMNS = (Column("项目"), Column("数量", "count"), Column("金额", "money"))
REPORT_COLUMNS = (
    Column("报备编号"),
    Column("经纪人"),
    Column("客户"),
    Column("号码"),
    Column("报备时间", "datetime"),
    Column("报备类型"),
    Column("状态"),
    Column("原因", max_width=40, wrap=True),
    # A pending report: until when it holds without a visit, and the days left (SPEC 6.8
    # reminders: red under 3), as 归属客户 shows a held customer's.
    Column("保护期至", "text"),
    Column("剩余天数", "days"),
    Column("来源", max_width=60, wrap=True),
)
CUSTOMER_COLUMNS = (
    Column("客户"),
    Column("客户姓名"),
    Column("首次到访", "datetime"),
    Column("保护期至", "text"),
    Column("经纪人"),
    Column("报备编号"),
    Column("备注", max_width=40, wrap=True),
    Column("剩余天数", "days"),  # red under 3 (SPEC 6.8 reminders)
)
COMMISSION_COLUMNS = (
    Column("成交编号"),
    Column("客户"),
    Column("阶段"),
    Column("成交日期", "date"),
    Column("成交金额", "money"),
    Column("分成比例", "percent"),
    Column("佣金", "money"),
    Column("状态"),
    Column("原因", max_width=40, wrap=True),
)
# Its own extension requests and queued reports (SPEC 6.8): never who holds or who is ahead.
EXTENSION_COLUMNS = (
    Column("类别"),
    Column("客户"),
    Column("时间", "datetime"),
    Column("结果"),
    Column("保护期至", "text"),
    Column("说明", max_width=40, wrap=True),
    Column("来源", max_width=60, wrap=True),
)
SETTLE_COLUMNS = (
    Column("成交编号"),
    Column("客户"),
    Column("状态"),
    Column("佣金", "money"),
    Column("已付", "money"),
    Column("本期应付", "money"),
    Column("请款金额", "money"),
    Column("核对结果"),
    Column("说明", max_width=40, wrap=True),
)


def _neutral(code: Code) -> str:
    wording = REASONS[code].receipt
    assert wording is not None, f"{code} decides a status and needs a neutral wording"
    return wording


# Neutral wording before signing: (status, reason), the reason that of the code deciding it.
NEUTRAL_REPORT = {
    ReportStatus.LOST: ("未获归属", _neutral(Code.C01)),
    ReportStatus.DISPUTED: ("审核中", _neutral(Code.D01)),
}
NEUTRAL_HELD = (DealStatus.HELD.label, _neutral(Code.H01))
FOREVER = "长期"
OTHER_FILE = "（非本渠道文件）第 {row} 行"
FAMILY = "（家庭成员）"
SIGNED_STAGE = "签约"


def write_receipts(
    judgement: Judgement, rules: Rules, as_of: date, folder: Path
) -> dict[str, Path]:
    """Write one receipt per channel into `folder`; returns each channel's file.

    Other `.xlsx` files in `folder` (receipts of an earlier run of the same night) are
    removed.
    """
    receipts = Receipt.all(judgement, signed_phones(judgement))
    written = write_each(receipts, rules, as_of, receipt_paths(receipts, folder))
    remove_stale(folder, list(written.values()))
    return written


def receipt_paths(channels: Iterable[str], folder: Path) -> dict[str, Path]:
    """Each channel's receipt file in `folder` (made here)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    # Keys of the names given so far: `ABC` and `Abc` are one file on Windows and macOS
    # (and in a zip opened there), so the second one gets a suffix.
    taken: set[str] = set()
    paths = {}
    for channel in channels:
        # The file name comes from the channel name, which is cell text: never trusted.
        # Channels come sorted, so each keeps its file from one run of the night to the next.
        path = folder / f"{safe_filename(channel, taken)}.xlsx"
        if path.resolve().parent != root:
            raise ValueError(f"receipt path escapes its folder: {path!r}")
        paths[channel] = path
    return paths


def write_each(
    receipts: dict[str, Receipt], rules: Rules, as_of: date, paths: dict[str, Path]
) -> dict[str, Path]:
    """Write each of `receipts` (gathered by `Receipt.all`) to its path (`receipt_paths`).

    Pure Python, polars never called: this is what the forked children of
    reconcile.publish.background run, and polars' thread pool is not there.

    Without the cycle collector: a night's receipts make millions of acyclic rows and
    cells, which it only walked (~0.6 s of ~4.6 at 200,000 reports).
    """
    with cycle_collector_paused():
        return {channel: _write(r, rules, as_of, paths[channel]) for channel, r in receipts.items()}


def remove_stale(folder: Path, written: list[Path]) -> None:
    """Receipts an earlier run of the night left that this one did not write again.

    The folder holds exactly tonight's receipts, so an agency is never sent an old one
    that a re-run has since corrected.
    """
    keep = {path.name for path in written}
    for old in folder.glob("*.xlsx"):
        if old.name not in keep and old.is_file():
            old.unlink()


def receipt_channels(judgement: Judgement) -> list[str]:
    """Every channel with a report (readable or not), a deal line, a customer or a claim."""
    channels = {report.channel for report in judgement.reports}
    channels.update(row.channel for row in judgement.settlement if row.channel)
    channels.update(c for c in judgement.error_reports["channel"].to_list() if c)
    channels.update(line.channel for line in judgement.deals if line.channel)
    channels.update(
        c for e in judgement.episodes if e.owner_type == OwnerType.CHANNEL for c in e.channels
    )
    return sorted(c for c in channels if c)


@dataclass(frozen=True)
class ReceiptSummary:
    """What an agency's mail says of its receipt: figures the receipt itself shows."""

    channel: str
    reports: int  # its report rows, unreadable ones included
    statuses: tuple[tuple[str, int], ...]  # (status as the receipt words it, count)
    deals: int  # its commission lines
    to_pay: float | None  # 本期应付 (SPEC 6.6): its lines' outstanding; None without lines


def receipt_summaries(
    judgement: Judgement, channels: Iterable[str], gathered: dict[str, Receipt] | None = None
) -> dict[str, ReceiptSummary]:
    """The summary of each of `channels` that has a receipt tonight (from `gathered`, the
    night's `Receipt.all`, when the caller has it)."""
    wanted = set(channels)
    if not wanted:
        return {}
    receipts = gathered or Receipt.all(judgement, signed_phones(judgement))
    return {channel: receipts[channel].summary() for channel in sorted(wanted & set(receipts))}


def signed_phones(judgement: Judgement) -> set[str]:
    """Numbers of customers whose deal reached 签约 by the night, as the judge dated it."""
    return {
        deal.phone
        for deal in judgement.deal_records.values()
        if deal.phone and SIGNED_STAGE in deal.stage_at
    }


@dataclass
class Receipt:
    """One channel's own rows, and which of its customers have signed."""

    channel: str
    reports: list[Report]
    errors: list[dict]
    episodes: list[Episode]
    deals: list[DealLine]
    signed: set[str]
    # Its settlement.csv rows: its lines, then its claim lines matching none of them.
    settled: list[Settled] = field(default_factory=list)
    credit: float = 0.0  # paid to it and not yet allocated to a line (预付余额)
    # Customers this channel reported or owns: the only ones its receipt may show.
    own_phones: set[str] = field(default_factory=set)
    by_phone: dict[str, list[Report]] = field(default_factory=dict)  # its linked reports
    requests: list[Request] = field(default_factory=list)  # its extension requests (6.8)
    queue: dict[str, QueueSpot] = field(default_factory=dict)  # its queued reports' places

    @property
    def size(self) -> int:
        """About how many rows its workbook has: what writing it costs."""
        rows = (self.reports, self.errors, self.episodes, self.deals, self.settled)
        return sum(len(part) for part in rows)

    @classmethod
    def all(cls, judgement: Judgement, signed: set[str]) -> dict[str, Receipt]:
        """Every channel's receipt, its rows gathered in one pass over the night (without
        the cycle collector, which walked the growing lists again and again)."""
        with cycle_collector_paused():
            return cls._all(judgement, signed)

    @classmethod
    def _all(cls, judgement: Judgement, signed: set[str]) -> dict[str, Receipt]:
        receipts = {
            channel: cls(channel, [], [], [], [], signed) for channel in receipt_channels(judgement)
        }
        for report in judgement.reports:
            receipts[report.channel].reports.append(report)
        for error in judgement.error_reports.iter_rows(named=True):
            if error["channel"]:
                receipts[error["channel"]].errors.append(error)
        for episode in judgement.episodes:
            if episode.owner_type == OwnerType.CHANNEL:
                for channel in dict.fromkeys(episode.channels):
                    receipts[channel].episodes.append(episode)
        for line in ordered_lines(judgement.deals):
            if line.channel:
                receipts[line.channel].deals.append(line)
        for row in judgement.settlement:
            if row.channel:
                receipts[row.channel].settled.append(row)
        for request in judgement.requests:
            if request.channel in receipts:
                receipts[request.channel].requests.append(request)
        for report in judgement.reports:
            if report.row_id in judgement.queue:
                receipts[report.channel].queue[report.row_id] = judgement.queue[report.row_id]
        for receipt in receipts.values():
            receipt.credit = judgement.credit.get(receipt.channel, 0.0)
            receipt.reports.sort(key=operator.attrgetter("order", "phone_pattern"))
            for report in receipt.reports:
                if report.phone:
                    receipt.by_phone.setdefault(report.phone, []).append(report)
            receipt.own_phones = set(receipt.by_phone) | {e.phone for e in receipt.episodes}
        return receipts

    # 报备回执 -------------------------------------------------------------------------
    def report_rows(self, as_of: date | None = None) -> list[list[object]]:
        # A night has a few hundred (status, codes, signed) and 200,000 rows that show them.
        views: dict[tuple, tuple[str, str]] = {}
        ends: dict[tuple[datetime, tzinfo | None], str] = {}  # see `_end_text`
        lefts: dict[datetime | None, int | None] = {}  # days left, by end (a few a night)
        rows = [self._report_row(report, views, as_of, ends, lefts) for report in self.reports]
        rows += [self._error_row(error) for error in self.errors]
        return rows

    def _report_row(
        self,
        report: Report,
        views: dict[tuple, tuple[str, str]],
        as_of: date | None,
        ends: dict[tuple[datetime, tzinfo | None], str],
        lefts: dict[datetime | None, int | None],
    ) -> list[object]:
        seen = (report.status, tuple(report.codes), report.phone in self.signed)
        view = views.get(seen)
        if view is None:
            view = views[seen] = report_view(*seen)
        status, reason = view
        if report.row_id in self.queue:
            reason = queue_text(self.queue[report.row_id])
        end = left = None
        if report.status == ReportStatus.PENDING:
            until = report.until
            end = _end_text(until, ends)
            left = (
                lefts[until] if until in lefts else lefts.setdefault(until, days_left(until, as_of))
            )
        return [
            report.row_id,
            report.agent,
            report.customer_name,
            masked_phone(report.phone_pattern),
            report.at,
            report.report_type,
            status,
            reason,
            end,
            left,
            self._place(report.order),
        ]

    def _error_row(self, error: dict) -> list[object]:
        detail = mask_numbers(error.get("reason") or "")
        reason = REASONS[Code.R02].text + (f"（{detail}）" if detail else "")
        return [
            error["row_id"],
            error["agent"],
            error["customer_name"],
            None,
            error["reported_at"],
            error["report_type"],
            ReportStatus.INVALID.label,
            reason,
            None,
            None,
            self._source(error["source"], error["path"], error["row_no"]),
        ]

    def _source(self, source: str, path: str | None, row: int | None) -> str:
        """The row's file, when it lies in this channel's own folder.

        A file elsewhere (another agency's folder, a combined list) would name its
        owner through its path or sheet, so only the row number is shown.
        """
        return source if self._own_file(path) else _other_file(row)

    def _place(self, order: tuple[str, str, int]) -> str:
        """`_source` of a judged row by its place (path, sheet, row), its text made only
        for this channel's own files (200,000 rows at a night)."""
        path, _, row = order
        return place_text(order) if self._own_file(path) else _other_file(row)

    def _own_file(self, path: str | None) -> bool:
        return path is not None and path.startswith(self._own_folder)

    @functools.cached_property
    def _own_folder(self) -> str:
        return f"channels/{self.channel}/"

    # 归属客户 -------------------------------------------------------------------------
    def customer_rows(self, as_of: date | None = None) -> list[list[object]]:
        ends: dict[tuple[datetime, tzinfo | None], str] = {}  # see `_end_text`
        return [self._customer_row(e, as_of, ends) for e in self.episodes]

    def _customer_row(
        self, episode: Episode, as_of: date | None, ends: dict[tuple[datetime, tzinfo | None], str]
    ) -> list[object]:
        mine = self._own_report(episode)
        name = mine.customer_name if mine else None
        agent = mine.agent if mine else None
        if not (name and agent):
            brought = [v for v in episode.visits if v.channel == self.channel]
            name = name or next((v.customer_name for v in brought if v.customer_name), None)
            agent = agent or next((v.agent for v in brought if v.agent), None)
        # The agency's own pattern where it has one, so no digit it did not give is shown.
        phone = mine.phone_pattern if mine else episode.phone
        return [
            masked_phone(phone),
            name,
            episode.first_visit_at,
            _end_text(episode.until, ends),
            agent,
            mine.row_id if mine else None,
            self._customer_note(episode),
            days_left(episode.until, as_of),
        ]

    def _own_report(self, episode: Episode) -> Report | None:
        if episode.report is not None and episode.report.channel == self.channel:
            return episode.report
        candidates = [r for r in episode.contested if r.channel == self.channel]
        candidates += self.by_phone.get(episode.phone, [])
        valid = [r for r in candidates if r.status == ReportStatus.VALID] or candidates
        return min(valid, key=lambda r: (r.at, r.order), default=None)

    def _customer_note(self, episode: Episode) -> str:
        notes = []
        if episode.flags.renewed:
            notes.append(f"到访保护期已续期 {episode.flags.renewed} 次")
        if episode.flags.extended:
            notes.append(f"已按延期申请延期 {episode.flags.extended} 次")
        if episode.flags.takeover:
            notes.append("排队顺延获得，不能延期")
        if episode.phone in self.signed and episode.ruled:
            share = dict(episode.shares).get(self.channel)
            notes.append(REASONS[Code.J01].text)
            if share is not None and share < 1:
                notes.append(f"分成 {share:.0%}")
        return "；".join(notes)

    # 延期与排队 ------------------------------------------------------------------------
    def extension_rows(self) -> list[list[object]]:
        """Its requests, honoured with the new end or invalid (R11), then its queued
        reports with their place and the earliest date they could hold."""
        rows: list[list[object]] = []
        for request in sorted(self.requests, key=lambda r: (r.at, r.order)):
            until = request.until
            rows.append(
                [
                    "延期申请",
                    masked_phone(request.phone_pattern),
                    request.at,
                    "已延期" if request.honoured else "无效",
                    until_text(until, until.tzinfo) if until else None,
                    "；".join(REASONS[code].text for code in request.codes),
                    self._place(request.order),
                ]
            )
        for report in self.reports:
            spot = self.queue.get(report.row_id)
            if spot is not None:
                rows.append(
                    [
                        "排队",
                        masked_phone(report.phone_pattern),
                        report.at,
                        ReportStatus.QUEUED.label,
                        None,
                        queue_text(spot),
                        self._place(report.order),
                    ]
                )
        return rows

    # 佣金 ------------------------------------------------------------------------------
    def deal_rows(self) -> list[list[object]]:
        return [self._deal_row(line) for line in self.deals]

    def _deal_row(self, line: DealLine) -> list[object]:
        signed = line.customer_phone in self.signed
        status, reason = deal_view(line.status, line.reason_codes, signed)
        return [
            line.deal_id,
            self._customer(line),
            line.stage,
            line.deal_date,
            line.amount,
            line.share if signed else None,
            line.commission,
            status,
            reason,
        ]

    def _customer(self, line: DealLine) -> str:
        """The line's customer as this channel knows them: a buyer it never reported
        (a spouse, a family member) is not shown."""
        phone = line.customer_phone if line.customer_phone in self.own_phones else None
        return masked_phone(phone) if phone else FAMILY

    # 结算 ------------------------------------------------------------------------------
    def settles(self) -> bool:
        """Whether there is money to show: a line, a claim, or money paid ahead."""
        return bool(self.settled) or self.credit != 0

    def settle_rows(self) -> list[list[object]]:
        """Its lines, then each of its claim lines that matches none of them.

        A claim line matching none is shown on its own, as the agency wrote it: not as
        the deal it was found to be (which may be another channel's), and not merged
        with its other lines found to be the same deal (which would tell it which flat
        its customer bought).
        """
        rows: list[list[object]] = []
        for row in self.settled:
            if row.line is not None:
                rows.append(self._line_row(row, row.line))
            else:
                rows += [self._claim_row(row, claim) for claim in row.claims]
        return rows

    def _line_row(self, row: Settled, line: DealLine) -> list[object]:
        status, _ = deal_view(line.status, line.reason_codes, line.customer_phone in self.signed)
        return [
            line.deal_id,
            self._customer(line),
            status,
            line.commission + 0.0,  # + 0.0: never -0
            line.paid + 0.0,
            line.outstanding + 0.0,
            row.claimed,
            row.check.label,
            self._notice(row),
        ]

    def _claim_row(self, row: Settled, claim: Claim) -> list[object]:
        # A deal number as the agency wrote it; a flat or a customer may hold a phone.
        written = claim.written if claim.numbers else mask_numbers(claim.written)
        return [
            written,
            masked_phone(claim.phone_pattern),
            None,  # no status, commission or payment of ours: the line is not its
            None,
            None,
            None,
            round(claim.amount, 2),
            row.check.label,
            self._notice(row),
        ]

    @functools.cached_property
    def _own_deals(self) -> set[str]:
        return {line.deal_id for line in self.deals}

    def _notice(self, row: Settled) -> str:
        notice = row.check.notice
        # The deals an ambiguous claim fits are its own lines (judge/claims.py); kept to
        # those all the same, so no other channel's deal is ever named here.
        fits = [deal for deal in row.candidates if deal in self._own_deals]
        if row.check == ClaimCheck.AMBIGUOUS and fits:
            notice += f"（可能对应：{'、'.join(fits)}）"
        return notice

    def money_rows(self) -> list[list[object]]:
        """概要's money: what was earned, paid and is owed, and how its claims checked."""
        rows: list[list[object]] = [
            ["累计应结", None, _total(line.due for line in self.deals)],
            ["已付", None, _total(line.paid for line in self.deals)],
            ["本期应付", None, _total(line.outstanding for line in self.deals)],
            ["预付余额", None, round(self.credit, 2) + 0.0],
        ]
        # The checks as its 结算 sheet shows them: counts of its rows, sums of its claims.
        counts: Counter[str] = Counter()
        claimed: defaultdict[str, float] = defaultdict(float)
        for row in self.settle_rows():
            label, amount = str(row[7]), row[6]
            counts[label] += 1
            claimed[label] += amount if isinstance(amount, int | float) else 0.0
        for check in ClaimCheck:
            if counts[check.label] and check != ClaimCheck.NO_CLAIM:
                amount = _total([claimed[check.label]]) if claimed[check.label] else None
                rows.append([f"请款核对·{check.label}", counts[check.label], amount])
        return rows

    # The mail ---------------------------------------------------------------------------
    def summary(self) -> ReceiptSummary:
        # The 状态 column of 报备回执, without building its rows (a mail needs the counts):
        # counted by what decides it, then worded.
        statuses = map(operator.attrgetter("status"), self.reports)
        signing = map(self.signed.__contains__, map(operator.attrgetter("phone"), self.reports))
        decided = Counter(zip(statuses, signing, strict=True))
        shown: Counter[str] = Counter()
        for (status, signed), count in decided.items():
            shown[_status_text(status, signed)] += count
        shown[ReportStatus.INVALID.label] += len(self.errors)
        to_pay = round(sum(line.outstanding for line in self.deals), 2) if self.deals else None
        return ReceiptSummary(
            self.channel,
            len(self.reports) + len(self.errors),
            tuple(_in_order(shown)),
            len(self.deals),
            to_pay,
        )

    # 概要 ------------------------------------------------------------------------------
    def overview_rows(self, report_rows: list[list[object]]) -> list[list[object]]:
        shown = Counter(row[6] for row in report_rows)
        # The whole channel name, as the settlement's 汇总 and 明细 show it: the file name
        # may be cleaned or suffixed, so this row is what says whose receipt it is.
        rows: list[list[object]] = [[f"渠道：{cell_text(self.channel)}", None, None]]
        rows.append(["报备总数", len(self.reports) + len(self.errors), None])
        rows += [[f"报备·{status}", count, None] for status, count in _in_order(shown)]
        rows.append(["归属客户", len(self.episodes), None])
        money: defaultdict[str, float] = defaultdict(int)  # an int 0 where none, as before
        counts: Counter = Counter()
        for line in self.deals:
            money[line.status] += line.commission
            counts[line.status] += 1
        rows.append(["成交笔数", len(self.deals), None])
        for status in (
            DealStatus.PAYABLE,
            DealStatus.HELD,
            DealStatus.CLAWBACK,
            DealStatus.NOT_PAYABLE,
        ):
            if counts[status]:
                rows.append([f"佣金·{status.label}", counts[status], round(money[status], 2)])
        if self.settles():
            rows += self.money_rows()
        return rows


def days_left(until: datetime | None, as_of: date | None) -> int | None:
    """Whole days of a protection ending at `until` left after the night `as_of` (SPEC 6.8
    reminders); None when it never ends or has ended."""
    if until is None or as_of is None:
        return None
    last_day = (until - timedelta(microseconds=1)).date()
    left = (last_day - as_of).days
    return left if left >= 0 else None


def _end_text(until: datetime | None, ends: dict[tuple[datetime, tzinfo | None], str]) -> str:
    """When a customer's protection ends, as the report shows it (periods end at 24:00 of
    their last day), each made into text once: `ends` holds those made so far (by zone
    too: one instant reads differently in another). A night's periods end on a few days."""
    if until is None:
        return FOREVER
    end = (until, until.tzinfo)
    text = ends.get(end)
    if text is None:
        text = ends[end] = until_text(until, until.tzinfo)
    return text


def _other_file(row: int | None) -> str:
    return OTHER_FILE.format(row=row if row is not None else "?")


def queue_text(spot: QueueSpot) -> str:
    """A queued report's place as its agency reads it: never who is ahead (SPEC 7)."""
    if spot.earliest is None:
        return f"排队第 {spot.position} 位"
    return f"排队第 {spot.position} 位；最早 {spot.earliest.date():%Y-%m-%d} 起可持有"


def _total(amounts: Iterable[float]) -> float:
    return round(sum(amounts), 2) + 0.0  # + 0.0: never -0


def _in_order(counts: Counter) -> Iterable[tuple[str, int]]:
    order = [*(status.label for status in ReportStatus), *(s for s, _ in NEUTRAL_REPORT.values())]
    return sorted(counts.items(), key=lambda item: (_rank(order, item[0]), item[0]))


def _rank(order: list[str], status: str) -> int:
    return order.index(status) if status in order else len(order)


def report_view(status: ReportStatus, codes: Iterable[Code], signed: bool) -> tuple[str, str]:
    """A report's status and reason as its own agency may read them tonight."""
    if not signed and status in NEUTRAL_REPORT:
        return NEUTRAL_REPORT[status]
    return status.label, _reasons(codes, signed)


def _status_text(status: ReportStatus, signed: bool) -> str:
    """`report_view`'s status alone (a mail counts them; it shows no reasons)."""
    return NEUTRAL_REPORT[status][0] if not signed and status in NEUTRAL_REPORT else status.label


def deal_view(status: DealStatus, codes: Iterable[Code], signed: bool) -> tuple[str, str]:
    """A deal line's status and reason as the agency may read them tonight."""
    if not signed and status == DealStatus.HELD:
        return NEUTRAL_HELD
    return status.label, _reasons(codes, signed)


def _reasons(codes: Iterable[Code], signed: bool) -> str:
    return _reasons_text(tuple(codes), signed)


@functools.lru_cache(maxsize=4096)
def _reasons_text(codes: tuple[Code, ...], signed: bool) -> str:
    # A night has a few hundred combinations of codes and 200,000 rows that show them.
    return "；".join(REASONS[code].text for code in codes if signed or code not in CONFIDENTIAL)


def _write(receipt: Receipt, rules: Rules, as_of: date, path: Path) -> Path:
    reports = receipt.report_rows(as_of)
    sheets = [
        Sheet(OVERVIEW, OVERVIEW_COLUMNS, receipt.overview_rows(reports)),
        Sheet(REPORTS, REPORT_COLUMNS, reports),
        Sheet(CUSTOMERS, CUSTOMER_COLUMNS, receipt.customer_rows(as_of)),
        Sheet(COMMISSION, COMMISSION_COLUMNS, receipt.deal_rows()),
    ]
    if receipt.requests or receipt.queue:
        sheets.append(Sheet(EXTENSIONS, EXTENSION_COLUMNS, receipt.extension_rows()))
    # A channel with nothing to settle keeps a receipt of its reports alone.
    if receipt.settles():
        sheets.append(Sheet(SETTLE, SETTLE_COLUMNS, receipt.settle_rows()))
    return write_book(path, sheets, rules.project, TITLE, as_of, rules.zone)
