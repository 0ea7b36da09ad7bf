"""The night in the admin's words: what the dispute report says, as plain data.

`build_digest` turns a judgement (and `Before`, what the previous night decided, for
what changed) into headline tiles and sections of cards. Every value is already people-facing text —
phones masked, times local, reasons in Chinese — so the HTML and plain-text
renderings in `report.py` only lay it out. Sections list the most urgent first and
are capped so a mail stays readable; the CSV contract always has everything.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from reconcile.config.rules import Rules
from reconcile.judge import Judgement, cycle_collector_paused
from reconcile.judge.deals import CLOSED_BY_MOVE, DealLine, commission_for
from reconcile.judge.reasons import REASONS, labels
from reconcile.judge.reasons.entry import duration_text
from reconcile.judge.reasons.h01 import appeal_end, appeal_open
from reconcile.judge.timeline import Episode, OrderUnknown, Report, Request
from reconcile.judge.vocabulary import Code, DealStatus, OwnerType, ReportStatus
from reconcile.normalise.places import place_text, sheet_label
from reconcile.publish.settlement import NO_CHANNEL, dispute_ceiling, tied_channels
from reconcile.publish.text import (
    local_time,
    mask_numbers,
    masked_phone,
    reason_text,
    until_text,
    yuan,
)
from reconcile.store.ledger import Ledger

CARDS_PER_GROUP = 50
EXPIRING_WITHIN = timedelta(days=7)
RECENT_COLLISIONS = timedelta(days=7)


@dataclass(frozen=True)
class Card:
    """One thing to look at: a customer, a report, a file."""

    title: str
    badge: str
    tone: str  # urgent | warn | info | ok: how it is coloured
    fields: tuple[tuple[str, str], ...]
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    title: str  # '' when the section has a single group
    cards: tuple[Card, ...]
    total: int  # cards before the cap

    @property
    def hidden(self) -> int:
        return self.total - len(self.cards)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    note: str  # one line under the title: what the section holds
    groups: tuple[Group, ...]
    empty: str  # said when there is nothing
    action: str = ""  # what the admin does about the section's items, in one line

    @property
    def total(self) -> int:
        return sum(group.total for group in self.groups)


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str
    tone: str
    anchor: str = ""  # the section it leads to


@dataclass(frozen=True)
class Digest:
    project: str
    night: date
    judged_at: str
    status_tiles: tuple[Tile, ...]
    action_tiles: tuple[Tile, ...]
    money_tiles: tuple[Tile, ...]
    sections: tuple[Section, ...]
    # The night's pre-filled 裁决表, relative to the workspace; None when nothing is open.
    ruling_sheet: str | None = None

    @property
    def headline(self) -> tuple[Tile, ...]:
        return (*self.action_tiles, *self.money_tiles, *self.status_tiles)


@dataclass(frozen=True)
class ChannelMoney:
    """One channel's commission as of the night, for finance's mail."""

    channel: str
    deals: int
    payable: str
    held: str
    clawback: str
    net: str
    # What to pay this time (SPEC 6.6): the lines' outstanding, claw-backs netted.
    outstanding: float
    credit: float  # paid ahead and not yet allocated (预付余额)

    @property
    def to_pay(self) -> str:
        return yuan(self.outstanding)

    @property
    def prepaid(self) -> str:
        return yuan(self.credit) if self.credit else ""


def money_by_channel(judgement: Judgement) -> list[ChannelMoney]:
    """Commission and 本期应付 per channel, as settlement.xlsx's 汇总 sums them.

    Lines without a channel (disputes, natural visits, the developer's own customers)
    share one row; a channel with credit and no line yet has a row of its own.
    """
    totals: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(int))
    deals: dict[str, set[str]] = defaultdict(set)
    outstanding: defaultdict[str, float] = defaultdict(float)
    for line in judgement.deals:
        channel = line.channel or NO_CHANNEL
        totals[channel][line.status] += line.commission
        deals[channel].add(line.deal_id)
        outstanding[channel] += line.outstanding
    for channel, credit in judgement.credit.items():
        if credit:
            totals.setdefault(channel, defaultdict(int))
    return [
        ChannelMoney(
            channel,
            len(deals[channel]),
            yuan(money[DealStatus.PAYABLE]),
            yuan(money[DealStatus.HELD]),
            yuan(money[DealStatus.CLAWBACK]),
            yuan(money[DealStatus.PAYABLE] + money[DealStatus.CLAWBACK]),
            round(outstanding[channel], 2) + 0.0,  # + 0.0: never -0.00
            judgement.credit.get(channel, 0.0),
        )
        for channel, money in sorted(totals.items(), key=lambda item: item[0] == NO_CHANNEL)
    ]


@dataclass(frozen=True)
class RejectedFile:
    path: str
    reason: str
    first_seen: datetime


@dataclass(frozen=True)
class RejectedRow:
    path: str
    sheet: str
    row_no: int
    kind: str
    reason: str


@dataclass(frozen=True)
class SheetNote:
    """A sheet of a new file that was set aside, or whose columns were not all used."""

    path: str
    sheet: str
    set_aside: str | None  # why the sheet was not read (None: it was read)
    unused: dict[str, str]  # header -> why no field reads it
    # what the clerk should know of a sheet that was read (it names only other projects)
    heed: str | None = None


@dataclass
class FileNews:
    """Files and rows the night turned away, from the ledger (and this run's read errors)."""

    quarantined: list[RejectedFile] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # retried next run
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    sheets: list[SheetNote] = field(default_factory=list)


def file_news(
    ledger: Ledger, rules: Rules, night: date, failed: list[tuple[str, str]] | None = None
) -> FileNews:
    """Quarantined files still in `inputs/` that night, and rows rejected from its new files.

    A file counts if its newest version as of the night is quarantined and it was seen
    that night or later (it had not been removed). `first_seen` and `last_seen` only
    grow, so a replay of the night lists the same files.
    """
    start = datetime.combine(night, datetime.min.time(), rules.zone)
    end = start + timedelta(days=1)
    news = FileNews(failed=list(failed or []))
    latest: dict[str, tuple] = {}
    for file in ledger.files():
        seen = datetime.fromisoformat(file.first_seen)
        if seen < end and (file.path not in latest or latest[file.path][2] <= seen):
            latest[file.path] = (
                file.status,
                file.reason,
                seen,
                datetime.fromisoformat(file.last_seen),
            )
    for path, (status, reason, seen, last) in sorted(latest.items()):
        if status == "quarantined" and last >= start:
            news.quarantined.append(RejectedFile(path, reason or "", seen))
    for error in ledger.error_rows():
        if start <= datetime.fromisoformat(error.first_seen) < end:
            news.rejected_rows.append(
                RejectedRow(error.path, error.sheet, error.row_no, error.kind, error.reason)
            )
    for sheet in ledger.sheet_rows():
        seen = datetime.fromisoformat(sheet.first_seen)
        if not start <= seen < end or sheet.file_status == "quarantined":
            continue
        if sheet.note or sheet.unused:
            set_aside = sheet.note if sheet.kind is None else None
            heed = sheet.note if sheet.kind is not None else None
            news.sheets.append(SheetNote(sheet.path, sheet.sheet, set_aside, sheet.unused, heed))
    return news


# Who holds a customer: the owner type, channels and shares (a change of which is news),
# and the agent, with which the report words the owner (`_owner_text`).
Holder = tuple[OwnerType, list[str], list[tuple[str, float]], str | None]


@dataclass(frozen=True)
class Before:
    """What a night decided that the next night's report compares with: the invalid
    reports, the collisions, each customer's latest holder and the refunded deals.

    A few bytes per report, so a night keeps it in the ledger (ops/reuse.py) and the
    next night reads it instead of judging the night before again. Only the reports
    judged invalid are kept, not every report's status: the next night asks no more
    (a fifth of the rows, and of the time to keep them).
    """

    night: date
    invalid: frozenset[str]  # row ids of the reports judged invalid, unreadable rows among them
    contested: frozenset[tuple[str, str]]  # (phone, first visit) of collisions and disputes
    holders: dict[str, Holder]  # phone -> who held the customer
    refunded: frozenset[str]  # deal ids

    @classmethod
    def of(cls, judgement: Judgement) -> Before:
        with cycle_collector_paused():  # as `build_digest`
            return cls._of(judgement)

    @classmethod
    def _of(cls, judgement: Judgement) -> Before:
        holders = {phone: _holder(_latest(e)) for phone, e in _by_phone(judgement.episodes).items()}
        return cls(
            night=judgement.inputs.as_of,
            invalid=_invalid(judgement),
            contested=frozenset(_episode_key(e) for e in judgement.episodes if _contested(e)),
            holders=holders,
            refunded=frozenset(line.deal_id for line in judgement.deals if line.stage == REFUNDED),
        )

    def to_bytes(self) -> bytes:
        document = {
            "night": self.night.isoformat(),
            "invalid": sorted(self.invalid),
            "contested": sorted(self.contested),
            "holders": self.holders,
            "refunded": sorted(self.refunded),
        }
        text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return zlib.compress(text.encode(), 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> Before:
        with cycle_collector_paused():  # as `build_digest`
            document = json.loads(zlib.decompress(data))
            holders = document["holders"]
            return cls(
                night=date.fromisoformat(document["night"]),
                invalid=frozenset(document["invalid"]),
                contested=frozenset((phone, first) for phone, first in document["contested"]),
                holders={
                    phone: (OwnerType(owner), channels, [(c, share) for c, share in shares], agent)
                    for phone, (owner, channels, shares, agent) in holders.items()
                },
                refunded=frozenset(document["refunded"]),
            )


def build_digest(
    judgement: Judgement,
    previous: Before | None,
    files: FileNews,
    rules: Rules,
    ruling_sheet: str | None = None,
) -> Digest:
    # Paused: the pending cards of a large night are many small objects, and a night
    # frozen while publishing (ops/pipeline.py) has every collection sweep all of them.
    with cycle_collector_paused():
        return _digest(judgement, previous, files, rules, ruling_sheet)


def _digest(
    judgement: Judgement,
    previous: Before | None,
    files: FileNews,
    rules: Rules,
    ruling_sheet: str | None,
) -> Digest:
    night = judgement.inputs.as_of
    end = judgement.inputs.as_of_end
    view = _View(judgement, rules)
    to_verify = view.order_unknown()
    sold_twice = view.flats_sold_twice()
    moves = view.moves_followed()
    unpriced = view.unpriced()
    sections = (
        view.collisions(),
        view.disputes(),
        view.ambiguous(),
        # Only on nights that have one: most projects write every clock time.
        *((to_verify,) if to_verify.total else ()),
        # Only when the CRM shows one flat sold to two buyers at once.
        *((sold_twice,) if sold_twice.total else ()),
        # Only when a 明源 record closed by 换房 was followed to the buyer's next deal.
        *((moves,) if moves.total else ()),
        # Only when a channel's deal has no amount to rate its commission on.
        *((unpriced,) if unpriced.total else ()),
        view.invalid(previous),
        view.expiring(),
        view.changes(previous),
        _files_section(files, rules.zone),
    )
    by_key = {section.key: section for section in sections}
    return Digest(
        project=rules.project,
        night=night,
        judged_at=local_time(end, rules.zone, seconds=True),
        status_tiles=view.status_tiles(),
        action_tiles=(
            Tile("disputes", "待裁决", str(by_key["disputes"].total), "urgent", "disputes"),
            Tile("collisions", "撞单", str(by_key["collisions"].total), "warn", "collisions"),
            Tile("to_confirm", "号码待确认", str(by_key["ambiguous"].total), "warn", "ambiguous"),
            Tile(
                "files",
                "拒收文件",
                str(len(files.quarantined) + len(files.failed)),
                "warn",
                "files",
            ),
        ),
        money_tiles=view.money_tiles(),
        sections=sections,
        ruling_sheet=ruling_sheet,
    )


class _View:
    """The judgement seen from the admin's desk on the morning after the night."""

    def __init__(self, judgement: Judgement, rules: Rules) -> None:
        self.j = judgement
        self.rules = rules
        self.zone: ZoneInfo = rules.zone
        self.end: datetime = judgement.inputs.as_of_end
        self.deals_by_phone: dict[str, list[DealLine]] = defaultdict(list)
        for line in judgement.deals:
            if line.customer_phone:
                self.deals_by_phone[line.customer_phone].append(line)
        self.episodes_by_phone = _by_phone(judgement.episodes)
        # Each report and each episode walked once (a night has hundreds of thousands):
        # the sections read one status or the contested episodes, in the judge's order.
        self.by_status: defaultdict[ReportStatus, list[Report]] = defaultdict(list)
        for report in judgement.reports:
            self.by_status[report.status].append(report)
        self.contested = [e for e in judgement.episodes if _contested(e)]

    # --- headline ----------------------------------------------------------------------
    def status_tiles(self) -> tuple[Tile, ...]:
        counts = Counter({status: len(reports) for status, reports in self.by_status.items()})
        counts[ReportStatus.INVALID] += self.j.error_reports.height
        tones = {
            ReportStatus.VALID: "ok",
            ReportStatus.INVALID: "warn",
            ReportStatus.DISPUTED: "urgent",
            ReportStatus.AMBIGUOUS: "warn",
        }
        return tuple(
            Tile(status, status.label, str(counts[status]), tones.get(status, "info"))
            for status in ReportStatus
            # Only a project with a queue (SPEC 6.8) has queued reports to count.
            if status != ReportStatus.QUEUED or counts[status]
        )

    def money_tiles(self) -> tuple[Tile, ...]:
        total: defaultdict[str, float] = defaultdict(int)
        payable, held, clawback = DealStatus.PAYABLE, DealStatus.HELD, DealStatus.CLAWBACK
        held_lines = 0
        for line in self.j.deals:
            total[line.status] += line.commission
            # A held line with a channel carries the commission that will be paid when
            # its appeal window closes. A disputed deal's line has no owner and so no
            # commission: it is counted, with its ceiling, by the tile below, not here.
            held_lines += line.status == DealStatus.HELD and line.channel is not None
        tiles = [Tile(payable, payable.label, yuan(total[payable]), "ok")]
        if held_lines:  # a ¥0 held tile only makes finance look for money that is not there
            tiles.append(Tile(held, f"{held.label}（{held_lines} 笔）", yuan(total[held]), "warn"))
        tiles += [
            Tile(clawback, clawback.label, yuan(total[clawback]), "info"),
            Tile("net", "应付净额", yuan(total[payable] + total[clawback]), "ok"),
        ]
        # A disputed deal carries no commission until ruled; say what is at stake.
        disputed = [line for line in self.j.deals if Code.D01 in line.reason_codes]
        if disputed:
            stake = sum(
                dispute_ceiling(line, tied_channels(line, self.episodes_by_phone), self.rules)
                for line in disputed
            )
            label = f"待裁决成交佣金（{len(disputed)} 笔，至多）"
            tiles.append(Tile("disputed_deals", label, yuan(stake), "urgent"))
        return tuple(tiles)

    # --- sections ----------------------------------------------------------------------
    def collisions(self) -> Section:
        recent_from = self.end - RECENT_COLLISIONS
        collided = [e for e in self.contested if e.owner_type != OwnerType.DISPUTED]
        chosen = [
            e
            for e in collided
            if self._appeal_open(e) or (e.first_visit_at and e.first_visit_at >= recent_from)
        ]
        older = len(collided) - len(chosen)
        chosen.sort(
            key=lambda e: (not self._appeal_open(e), _sort_time(self._appeal_end(e)), e.phone)
        )
        cards = [((n,), partial(self._collision_card, e)) for n, e in enumerate(chosen)]
        suspected = [
            ((n,), partial(self._suspected_card, a, b)) for n, (a, b) in enumerate(self.j.suspected)
        ]
        note = "申诉期内或近 7 天到访的撞单，申诉截止最早的在前。"
        if older:
            note += f"更早的 {older} 起见 attribution.csv。"
        groups = [_first_group("已到访的撞单", cards)]
        if suspected:
            groups.append(_first_group("疑似撞单（尚未到访，号码可能是同一客户）", suspected))
        return Section(
            "collisions",
            "撞单",
            note,
            tuple(groups),
            "没有需要关注的撞单。",
            "申诉期内有渠道申诉时，在裁决表填写归属渠道或分成，放入 inputs/rulings/；"
            "无人申诉则无需处理。",
        )

    def disputes(self) -> Section:
        disputed = sorted(
            (e for e in self.contested if e.owner_type == OwnerType.DISPUTED),
            key=lambda e: (_sort_time(self._appeal_end(e)), e.phone),
        )
        cards = []
        for episode in disputed:
            fields = [("首次到访", local_time(episode.first_visit_at, self.zone))]
            fields += [
                ("候选", self._claim(r))
                for r in episode.contested
                if r.status == ReportStatus.DISPUTED
            ]
            fields.append(("申诉截止", self._deadline_text(episode)))
            for line in self.deals_by_phone.get(episode.phone, []):
                fields.append(
                    ("涉及成交", f"{line.deal_id} · {line.stage} · {yuan(line.amount)}，佣金暂缓")
                )
            cards.append(
                Card(
                    self._customer(episode.phone, episode.customer_name),
                    "待裁决",
                    "urgent",
                    tuple(fields),
                    self._sources(episode),
                )
            )
        return Section(
            "disputes",
            "待裁决的争议",
            "报备时间过近或同时带看，需案场在裁决表中写明归属渠道；申诉截止最早的在前。",
            (_group("", cards),),
            "没有等待裁决的争议。",
            "在裁决表填写归属渠道或分成，放入 inputs/rulings/，下一晚生效。",
        )

    def ambiguous(self) -> Section:
        reports = sorted(
            self.by_status[ReportStatus.AMBIGUOUS],
            key=lambda r: (r.at, r.order),
        )
        cards = []
        for report in reports:
            fields = [
                ("渠道", _who(report.channel, report.agent)),
                ("报备时间", self._at(report.at)),
            ]
            for phone in self.j.fits.get(report.row_id, []):
                fields.append(("可能是", self._candidate(phone)))
            cards.append(
                Card(
                    f"{report.phone_pattern} {report.customer_name or ''}".strip(),
                    "号码待确认",
                    "warn",
                    tuple(fields),
                    (report.source,),
                )
            )
        return Section(
            "ambiguous",
            "号码待确认",
            "隐号报备同时符合多位客户，需在裁决表中写明是哪位客户。",
            (_group("", cards),),
            "没有匹配到多位客户的报备。",
            "在裁决表中该客户完整号码的那一行填写归属渠道，删去其余候选号码的行，"
            "放入 inputs/rulings/。",
        )

    def order_unknown(self) -> Section:
        """需核实: a date without a clock time against a row of the same day (SPEC §6.4).

        The judge resolved the unknown order for the report; the admin checks the two
        rows and writes a ruling when the originals say otherwise.
        """
        flagged = sorted(
            (e for e in self.j.episodes if e.flags.order_unknown and e.order_unknown),
            key=lambda e: (_sort_time(e.first_visit_at), e.phone),
        )
        cards = []
        for episode in flagged:
            fields = [
                ("首次到访", local_time(episode.first_visit_at, self.zone)),
                ("归属", _owner(episode)),
            ]
            sources: list[str] = []
            for item in episode.order_unknown:
                fields.append(
                    ("先后不明", f"{self._dated_claim(item.report)} 与 {self._other(item)}")
                )
                sources += [item.report.source, item.source]
            cards.append(
                Card(
                    self._customer(episode.phone, episode.customer_name),
                    "需核实",
                    "warn",
                    tuple(fields),
                    tuple(dict.fromkeys(sources)),
                )
            )
        return Section(
            "order_unknown",
            "需核实：同一天先后不明",
            "只写了日期、没有写钟点的记录与同一天的另一条记录谁先谁后无法确定，已按报备方在先判定"
            "（两份报备则为撞单待裁决）。请对照两条来源记录核实；如有出入，请在裁决表中裁决。",
            (_group("", cards),),
            "没有先后不明需核实的记录。",
            "对照两条来源记录核实；与判定不符时在裁决表中裁决，相符则无需处理。",
        )

    def flats_sold_twice(self) -> Section:
        """需核实: two open deals of different buyers on one flat (SPEC 6.5).

        One flat is sold once, so the CRM holds a mistake (a missing 退房, a wrong 房号).
        Both deals stay as they are — nothing merged, nothing dropped — until it is fixed.
        """
        cards = []
        seen: set[str] = set()
        for deal_id, deal in sorted(self.j.deal_records.items()):
            if not deal.rivals or deal_id in seen:
                continue
            group = [deal, *deal.rivals]
            seen.update(d.deal_id for d in group)
            fields = tuple(
                (
                    d.deal_id,
                    f"{masked_phone(d.phone)} {d.customer_name or ''} · {d.stage} · "
                    f"{yuan(d.amount)}".strip(),
                )
                for d in group
            )
            sources = tuple(dict.fromkeys(t for d in group for t in d.source_texts))
            cards.append(Card("、".join(deal.flats) or deal_id, "需核实", "warn", fields, sources))
        return Section(
            "flats_sold_twice",
            "需核实：同一房源两笔未退成交",
            "CRM 中同一套房有两位客户各自的成交且都未退房。一套房只能卖一次，可能缺少退房记录或"
            "房号录错；两笔成交均按原样判定，请在 CRM 中更正后重新导出。",
            (_group("", cards),),
            "没有重复成交的房源。",
            "在 CRM 中补录退房或更正房号，重新导出后放入 inputs/crm/。",
        )

    def moves_followed(self) -> Section:
        """需核实: deals a 明源 record closed by 换房 was followed into (SPEC 6.5): the
        pairing is by buyer and date, so the admin checks it against the records."""
        cards = []
        for deal_id, deal in sorted(self.j.deal_records.items()):
            followed = [c for c in deal.changes if c.change_type == CLOSED_BY_MOVE]
            if not followed:
                continue
            fields = (
                ("客户", f"{masked_phone(deal.phone)} {deal.customer_name or ''}".strip()),
                ("房间", " → ".join(deal.flats)),
                ("成交金额", yuan(deal.amount)),
            )
            cards.append(Card(deal_id, "需核实", "warn", fields, deal.source_texts))
        return Section(
            "moves_followed",
            "需核实：认购/签约记录以换房关闭",
            "CRM 导出中原房间的记录以“换房”关闭，又没有交易变更明细；已把同一客户（没有时为其"
            "家庭成员）之后的成交当作这笔成交换到的新房间（成交编号、成交日期不变，金额取新房间的），"
            "不算第二笔成交。",
            (_group("", cards),),
            "没有以换房关闭的记录。",
            "与 CRM 核对；有交易变更明细时放入 inputs/crm/，以明细为准。",
        )

    def unpriced(self) -> Section:
        """需核实: a channel's deal with no amount, whose commission is a rate of it."""
        owed = (DealStatus.PAYABLE, DealStatus.HELD, DealStatus.CLAWBACK)
        cards = []
        for line in self.j.deals:
            if line.amount is not None or line.status not in owed or line.channel is None:
                continue
            if commission_for(self.rules, line.channel, 1.0) == commission_for(
                self.rules, line.channel, 0.0
            ):
                continue  # a fixed sum, whatever the amount
            deal = self.j.deal_records.get(line.deal_id)
            fields = (
                ("客户", masked_phone(line.customer_phone)),
                ("渠道", _who(line.channel, line.agent)),
                ("状态", line.status.label),
            )
            sources = deal.source_texts if deal is not None else ()
            cards.append(Card(line.deal_id, "需核实", "warn", fields, sources))
        return Section(
            "unpriced",
            "需核实：成交没有成交金额",
            "渠道的成交记录里没有成交金额（成交总价），按成交金额比例计算的佣金只能记为 0，"
            "渠道应得的佣金还没有算出来。",
            (_group("", cards),),
            "所有渠道成交都有成交金额。",
            "在 CRM 导出中补上成交金额后重新放入 inputs/crm/。",
        )

    def invalid(self, previous: Before | None) -> Section:
        before = previous.invalid if previous is not None else frozenset()
        # (order, how to make its card): a first night has every invalid report as new,
        # and only the first `CARDS_PER_GROUP` of each reason are shown, so only those
        # cards are made.
        by_reason: dict[str, list[tuple[tuple, Callable[[], Card]]]] = defaultdict(list)
        invalid = self.by_status[ReportStatus.INVALID]
        for report in invalid:
            if report.row_id not in before:
                by_reason[report.codes[0]].append(
                    ((report.at, report.source), partial(self._report_card, report))
                )
        for row in self.j.error_reports.iter_rows(named=True):
            if row["row_id"] not in before:
                order = (row["reported_at"] or self.end, row["source"])
                by_reason[Code.R02].append((order, partial(self._unreadable_card, row)))
        # Extension requests are no reports (SPEC 6.8): the invalid ones made since the
        # night before are listed with them; only their own channel's receipt tells them.
        since = previous.night if previous is not None else None
        for request in self.j.requests:
            if request.codes and (since is None or request.at.astimezone(self.zone).date() > since):
                card = partial(self._request_card, request)
                by_reason[request.codes[0]].append(((request.at, request.source), card))
        groups = tuple(
            _first_group(REASONS[Code(code)].text, items)
            for code, items in sorted(by_reason.items())
        )
        total = len(invalid) + self.j.error_reports.height
        return Section(
            "invalid",
            "今晚新判无效的报备（按原因）",
            f"与上一晚相比新出现的无效报备；目前无效报备共 {total} 条，全部见 reports.csv。",
            groups,
            "今晚没有新判无效的报备。",
            "无需处理，回执已告知渠道。",
        )

    def expiring(self) -> Section:
        horizon = self.end + EXPIRING_WITHIN
        # (order, how to make its card): only the first `CARDS_PER_GROUP` are made.
        items: list[tuple[tuple, Callable[[], Card]]] = []
        for e in self.j.episodes:
            if (
                e.owner_type == OwnerType.CHANNEL
                and e.until is not None
                and self.end < e.until <= horizon
            ):
                items.append(((e.until, e.phone), partial(self._expiring_episode_card, e)))
        for r in self.by_status[ReportStatus.PENDING]:
            if r.until is not None and self.end < r.until <= horizon:
                items.append(((r.until, r.phone_pattern), partial(self._expiring_report_card, r)))
        return Section(
            "expiring",
            "7 天内到期的保护",
            "到访保护期和未到访报备的保护期，最先到期的在前。",
            (_first_group("", items),),
            "7 天内没有到期的保护。",
            "提醒渠道尽快带看；已到访的客户请跟进成交。",
        )

    def _expiring_episode_card(self, e: Episode) -> Card:
        assert e.until is not None, "only an episode with an end expires"
        # Report mode holds by the report (SPEC 6.8), the other modes by the visit.
        by_report = e.held_from is not None
        fields: tuple[tuple[str, str], ...] = (
            ("渠道", _who(e.channels[0] if e.channels else None, e.agent)),
            ("首次到访", local_time(e.first_visit_at, self.zone)),
            (f"{'报备' if by_report else '到访'}保护期至", until_text(e.until, self.zone)),
        )
        left = self._extensions_left(e.flags.extended) if by_report else 0
        if e.flags.takeover:
            left = 0
        if left:
            fields += (("延期申请", self._extension_text(left)),)
        return Card(
            self._customer(e.phone, e.customer_name),
            ("报备保护将到期" if by_report else "到访保护将到期") + ("·可申请延期" if left else ""),
            "info",
            fields,
            self._sources(e),
        )

    def _expiring_report_card(self, r: Report) -> Card:
        assert r.until is not None, "only a report with an end expires"
        fields: tuple[tuple[str, str], ...] = (
            ("渠道", _who(r.channel, r.agent)),
            ("报备时间", self._at(r.at)),
            ("报备保护期至", until_text(r.until, self.zone)),
        )
        used = sum(
            1
            for q in self.j.requests
            if q.honoured and q.channel == r.channel and q.phone == r.phone
        )
        left = self._extensions_left(used) if r.phone else 0
        if left:
            fields += (("延期申请", self._extension_text(left)),)
        return Card(
            f"{r.phone_pattern} {r.customer_name or ''}".strip(),
            "报备将到期" + ("·可申请延期" if left else ""),
            "info",
            fields,
            (r.source,),
        )

    def changes(self, previous: Before | None) -> Section:
        if previous is None:
            return Section("changes", "与上一晚相比", "", (), "上一晚尚无数据，无从比较。")
        new_collisions = [
            Card(
                self._customer(e.phone, e.customer_name),
                "新撞单" if e.owner_type != OwnerType.DISPUTED else "新争议",
                "warn",
                (("首次到访", local_time(e.first_visit_at, self.zone)), ("现归属", _owner(e))),
                self._sources(e),
            )
            for e in self.contested
            if _episode_key(e) not in previous.contested
        ]
        flips = []
        for phone, episodes in sorted(self.episodes_by_phone.items()):
            old = previous.holders.get(phone)
            if old is None:
                continue
            now_latest = _latest(episodes)
            if _holder(now_latest)[:3] != old[:3]:
                flips.append(
                    Card(
                        self._customer(phone, now_latest.customer_name),
                        "归属变化",
                        "warn",
                        (
                            ("昨晚", _owner_text(*old)),
                            ("今晚", _owner(now_latest)),
                            ("依据", reason_text(now_latest.codes) or "—"),
                        ),
                        self._sources(now_latest),
                    )
                )
        # Every refund is news, clawed back (X01) or not (X02: nothing had been paid).
        refunds = [
            Card(
                line.deal_id,
                "新退房",
                "info",
                (
                    ("客户", masked_phone(line.customer_phone)),
                    ("渠道", _who(line.channel, line.agent)),
                    ("成交金额", yuan(line.amount)),
                    (
                        "佣金",
                        yuan(line.commission)
                        + ("（追回）" if line.status == DealStatus.CLAWBACK else "（不结佣）"),
                    ),
                ),
                self.j.deal_records[line.deal_id].source_texts,
            )
            for line in self.j.deals
            if line.stage == REFUNDED and line.deal_id not in previous.refunded
        ]
        groups = tuple(
            group
            for group in (
                _group("新出现的撞单与争议", new_collisions),
                _group("归属发生变化的客户", flips),
                _group("新退房", refunds),
            )
            if group.total
        )
        return Section(
            "changes",
            "与上一晚相比",
            f"与 {previous.night} 的判定相比。",
            groups,
            "与上一晚相比没有变化。",
            "知悉即可；想知道某位客户为何变化，运行 reconcile explain 手机号。",
        )

    # --- pieces ------------------------------------------------------------------------
    def _collision_card(self, episode: Episode) -> Card:
        fields = [
            ("首次到访", local_time(episode.first_visit_at, self.zone)),
            ("归属", _owner(episode)),
        ]
        for report in episode.contested:
            if report is not episode.report:
                fields.append(
                    (
                        report.status.label,
                        f"{self._claim(report)}：{reason_text(report.codes) or '—'}",
                    )
                )
        fields.append(("申诉截止", self._deadline_text(episode)))
        return Card(
            self._customer(episode.phone, episode.customer_name),
            "撞单",
            "warn",
            tuple(fields),
            self._sources(episode),
        )

    def _suspected_card(self, first: Report, second: Report) -> Card:
        return Card(
            f"{first.phone_pattern} / {second.phone_pattern}",
            "疑似撞单",
            "info",
            (("报备一", self._claim(first)), ("报备二", self._claim(second))),
            (first.source, second.source),
        )

    def _extensions_left(self, used: int) -> int:
        """How many more extension requests a holder may make (SPEC 6.8)."""
        extension = self.rules.report.extension
        return max(extension.times - used, 0) if extension is not None else 0

    def _extension_text(self, left: int) -> str:
        extension = self.rules.report.extension
        assert extension is not None, "only a project with extensions has some left"
        return f"保护期最后 {duration_text(extension.window)}内可由持有渠道申请，还可 {left} 次"

    def _request_card(self, request: Request) -> Card:
        return Card(
            f"{request.phone_pattern} {request.customer_name or ''}".strip(),
            "延期申请无效",
            "warn",
            (
                ("渠道", _who(request.channel, request.agent)),
                ("申请时间", self._at(request.at)),
                ("原因", labels(request.codes)),
            ),
            (request.source,),
        )

    def _unreadable_card(self, row: dict) -> Card:
        """A report row whose phone could not be read (R02, rejected at ingest)."""
        return Card(
            (row["customer_name"] or "（无姓名）"),
            "无效",
            "warn",
            (
                ("渠道", _who(row["channel"], row["agent"])),
                ("报备时间", self._at(row["reported_at"])),
                ("原因", f"{REASONS[Code.R02].text}：无法识别号码"),
            ),
            (row["source"],),
        )

    def _report_card(self, report: Report) -> Card:
        return Card(
            f"{report.phone_pattern} {report.customer_name or ''}".strip(),
            report.status.label,
            "warn",
            (
                ("渠道", _who(report.channel, report.agent)),
                ("报备时间", self._at(report.at)),
                ("原因", labels(report.codes)),
            ),
            (report.source,),
        )

    def _claim(self, report: Report) -> str:
        return claim_text(report, self.zone)

    def _dated_claim(self, report: Report) -> str:
        """A claim whose date-only 报备时间 reads as a day, not as 00:00."""
        kind = f"{report.report_type}·" if report.report_type else ""
        when = self._at(report.at) if report.time_known else self._day(report.at)
        return f"{_who(report.channel, report.agent)}（{kind}报备 {when}）"

    def _other(self, item: OrderUnknown) -> str:
        """The row whose order with the report is unknown, in the admin's words."""
        when = self._at(item.at) if item.time_known else self._day(item.at)
        if item.kind == "visit":
            bringer = f"{item.channel} 带看" if item.channel else "自行到访"
            return f"到访 {when}（{bringer}）"
        if item.kind == "report":
            return f"{item.channel or '—'}（报备 {when}）"
        return f"{'CRM 跟进' if item.kind == 'followup' else 'CRM 客户登记'} {when}"

    def _day(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.zone).date().isoformat()}（未写时刻）"

    def _candidate(self, phone: str) -> str:
        episodes = self.episodes_by_phone.get(phone, [])
        name = next((e.customer_name for e in episodes if e.customer_name), "")
        first = min((e.first_visit_at for e in episodes if e.first_visit_at), default=None)
        seen = f"，首次到访 {local_time(first, self.zone)}" if first else ""
        return f"{masked_phone(phone)} {name}{seen}".strip()

    def _customer(self, phone: str, name: str | None) -> str:
        return f"{masked_phone(phone)} {name or ''}".strip()

    def _sources(self, episode: Episode) -> tuple[str, ...]:
        sources = [visit.source for visit in episode.visits]
        sources += [report.source for report in episode.contested]
        return tuple(dict.fromkeys(sources))

    def _appeal_end(self, episode: Episode) -> datetime | None:
        return appeal_end(episode, self.rules)

    def _appeal_open(self, episode: Episode) -> bool:
        return appeal_open(episode, self.rules, self.end)

    def _deadline_text(self, episode: Episode) -> str:
        return deadline_text(episode, self.rules, self.end)

    def _at(self, moment: datetime | None) -> str:
        return local_time(moment, self.zone)


def claim_text(report: Report, zone: ZoneInfo) -> str:
    """`链家 / 王五（临报·报备 2026-11-19 09:00）`: who claimed the customer, and when."""
    kind = f"{report.report_type}·" if report.report_type else ""
    return f"{_who(report.channel, report.agent)}（{kind}报备 {local_time(report.at, zone)}）"


def deadline_text(episode: Episode, rules: Rules, end: datetime) -> str:
    """The episode's appeal deadline as of the night ending at `end` (SPEC 6.3 H01)."""
    until = appeal_end(episode, rules)
    if until is None:
        return "不截止" if appeal_open(episode, rules, end) else "—"
    return until_text(until, rules.zone) + ("" if end < until else "（已截止）")


def _files_section(files: FileNews, zone: ZoneInfo) -> Section:
    quarantined = [
        Card(
            item.path,
            "已隔离",
            "urgent",
            (("原因", item.reason), ("首次收到", local_time(item.first_seen, zone))),
            (item.path,),
        )
        for item in files.quarantined
    ]
    quarantined += [
        Card(path, "读取出错", "urgent", (("原因", reason),), (path,))
        for path, reason in files.failed
    ]
    by_file: dict[str, list[Card]] = defaultdict(list)
    for row in files.rejected_rows:
        by_file[row.path].append(
            Card(
                f"{sheet_label(row.sheet)} 第 {row.row_no} 行",
                "拒收",
                "warn",
                (("原因", mask_numbers(row.reason)),),
                (place_text((row.path, row.sheet, row.row_no)),),
            )
        )
    set_aside = _sheet_cards(files.sheets, "未读取", "urgent", lambda n: _said("原因", n.set_aside))
    heeded = _sheet_cards(files.sheets, "已读取", "warn", lambda n: _said("注意", n.heed))
    unused = _sheet_cards(files.sheets, "有未使用的列", "info", lambda n: tuple(n.unused.items()))
    groups = [_group("整份拒收的文件（修改后重新放入即可）", quarantined)] if quarantined else []
    groups += [_group("未读取的工作表（数据未进入台账）", set_aside)] if set_aside else []
    groups += [_group("读取时需要核对的工作表", heeded)] if heeded else []
    groups += [_group(f"{path} 中拒收的行", cards) for path, cards in sorted(by_file.items())]
    if unused:
        groups.append(
            _group(
                "未使用的列（原文保留；如需读取，可在 rules.yaml 的 columns 中补充列名）", unused
            )
        )
    return Section(
        "files",
        "拒收的文件与数据行",
        "整份隔离的文件及今晚新文件中被拒收的行。",
        tuple(groups),
        "没有拒收的文件或数据行。",
        "按原因修改后重新放入 inputs/ 原来的文件夹；拒收的行改好后连同整份文件重新放入。",
    )


def _sheet_cards(
    notes: list[SheetNote],
    badge: str,
    tone: str,
    fields: Callable[[SheetNote], tuple[tuple[str, str], ...]],
) -> list[Card]:
    """A card per sheet whose `fields` say something, titled by its file and sheet."""
    return [
        Card(f"{note.path} · {sheet_label(note.sheet)}", badge, tone, said, (note.path,))
        for note in notes
        if (said := fields(note))
    ]


def _said(label: str, text: str | None) -> tuple[tuple[str, str], ...]:
    return ((label, text),) if text else ()


REFUNDED = "退房"  # deals.csv's stage word for a refunded deal (SPEC 6.5)


def _group(title: str, cards: list[Card]) -> Group:
    return Group(title, tuple(cards[:CARDS_PER_GROUP]), len(cards))


def _first_group(title: str, items: Sequence[tuple[tuple, Callable[[], Card]]]) -> Group:
    """`_group` of cards in the order of their keys, making only the cards shown."""
    ordered = sorted(items, key=lambda item: item[0])
    shown = tuple(make() for _, make in ordered[:CARDS_PER_GROUP])
    return Group(title, shown, len(items))


def _who(channel: str | None, agent: str | None) -> str:
    if channel and agent:
        return f"{channel} / {agent}"
    return channel or agent or "—"


def _sort_time(moment: datetime | None) -> tuple:
    return (moment is None, moment)


def _owner(episode: Episode) -> str:
    """The customer's owner in the report's words: a channel and agent, shares, or who."""
    return _owner_text(episode.owner_type, episode.channels, episode.shares, episode.agent)


def _owner_text(
    owner: OwnerType, channels: list[str], shares: list[tuple[str, float]], agent: str | None
) -> str:
    if owner == OwnerType.CHANNEL:
        if len(shares) > 1:
            return "、".join(f"{channel} {share:.0%}" for channel, share in shares)
        return _who(channels[0] if channels else None, agent)
    return owner.label


def _by_phone(episodes: list[Episode]) -> dict[str, list[Episode]]:
    by_phone: defaultdict[str, list[Episode]] = defaultdict(list)
    for episode in episodes:
        by_phone[episode.phone].append(episode)
    return by_phone


def _invalid(judgement: Judgement) -> frozenset[str]:
    invalid = [r.row_id for r in judgement.reports if r.status == ReportStatus.INVALID]
    return frozenset([*invalid, *judgement.error_reports["row_id"]])


def _contested(episode: Episode) -> bool:
    # Without candidates no collision (walk-ins, the developer's own): none walked.
    return episode.owner_type == OwnerType.DISPUTED or bool(
        episode.contested and episode.had_collision
    )


def _episode_key(episode: Episode) -> tuple[str, str]:
    first = episode.first_visit_at
    return (episode.phone, first.isoformat() if first is not None else "")


def _latest(episodes: list[Episode]) -> Episode:
    if len(episodes) == 1:  # most customers
        return episodes[0]
    return max(episodes, key=lambda e: (e.first_visit_at is not None, e.first_visit_at))


def _holder(episode: Episode) -> Holder:
    shares = [(channel, share) for channel, share in episode.shares]
    return (episode.owner_type, list(episode.channels), shares, episode.agent)
