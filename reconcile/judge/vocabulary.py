"""The judge's vocabularies (SPEC §6.2, §7): reason codes, report statuses, owner types,
deal statuses and episode flags, each a `StrEnum` whose value is what the CSVs write and
whose `label` is what people read; `Flags`, an episode's flags as typed fields. A reason
code's label, meaning and wording live in its registry entry (`reconcile.judge.reasons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    """Reason codes of SPEC §6.2 that the judge decides."""

    R01 = "R01"
    R02 = "R02"
    R03 = "R03"
    R04 = "R04"
    R05 = "R05"
    R06 = "R06"
    R07 = "R07"
    R08 = "R08"
    R09 = "R09"
    R10 = "R10"
    A01 = "A01"
    C01 = "C01"
    C02 = "C02"
    D01 = "D01"
    N01 = "N01"
    E01 = "E01"
    P01 = "P01"
    H01 = "H01"
    X01 = "X01"
    S01 = "S01"
    J01 = "J01"
    X02 = "X02"
    # Extension requests and the queue (SPEC 6.8)
    R11 = "R11"
    Q01 = "Q01"
    # In-house consultants and the reception rotation (SPEC 6.7)
    K01 = "K01"
    K02 = "K02"
    K03 = "K03"
    K04 = "K04"
    K05 = "K05"
    K06 = "K06"
    K07 = "K07"
    T01 = "T01"
    T02 = "T02"
    T03 = "T03"


class ReportStatus(StrEnum):
    """`reports.csv` status (SPEC §7), in the order summaries list them."""

    VALID = "valid"
    INVALID = "invalid"
    PENDING = "pending"
    EXPIRED_UNVISITED = "expired_unvisited"
    AMBIGUOUS = "ambiguous"
    LOST = "lost"
    DISPUTED = "disputed"
    QUEUED = "queued"  # waiting behind the holder (report.queue, SPEC 6.8)

    @property
    def label(self) -> str:
        return _REPORT_STATUS_LABELS[self]


class OwnerType(StrEnum):
    """`attribution.csv` / `deals.csv` owner_type (SPEC §7)."""

    CHANNEL = "channel"
    NATURAL = "natural"
    EXISTING = "existing"
    DISPUTED = "disputed"

    @property
    def label(self) -> str:
        return _OWNER_TYPE_LABELS[self]


class DealStatus(StrEnum):
    """`deals.csv` status (SPEC §7)."""

    PAYABLE = "payable"
    HELD = "held"
    NOT_PAYABLE = "not_payable"
    CLAWBACK = "clawback"

    @property
    def label(self) -> str:
        return _DEAL_STATUS_LABELS[self]


class ClaimCheck(StrEnum):
    """`settlement.csv` check: a line against the agency's claim and our payments (SPEC §6.6)."""

    OK = "ok"
    AMOUNT_DIFFERS = "amount_differs"
    NOT_OURS = "not_ours"
    ALREADY_PAID = "already_paid"
    AMBIGUOUS = "ambiguous"
    UNCLAIMED = "unclaimed"
    NO_CLAIM = "no_claim"  # the agency sent no claim at all, or the line has no channel

    @property
    def label(self) -> str:
        return _CLAIM_CHECK_LABELS[self]

    @property
    def advice(self) -> str:
        """What finance does with a line of this check (the settlement's 对账 sheet)."""
        return _CLAIM_CHECK_ADVICE[self]

    @property
    def notice(self) -> str:
        """What the agency reads of a line of this check on its receipt: never which
        channel holds a deal, nor what finance will do."""
        return _CLAIM_CHECK_NOTICE[self]


_REPORT_STATUS_LABELS = {
    ReportStatus.VALID: "有效",
    ReportStatus.INVALID: "无效",
    ReportStatus.PENDING: "待到访",
    ReportStatus.EXPIRED_UNVISITED: "过期未到访",
    ReportStatus.AMBIGUOUS: "号码待确认",
    ReportStatus.LOST: "撞单未获归属",
    ReportStatus.DISPUTED: "撞单待裁决",
    ReportStatus.QUEUED: "排队中",
}
_OWNER_TYPE_LABELS = {
    OwnerType.CHANNEL: "渠道客户",
    OwnerType.NATURAL: "自然到访",
    OwnerType.EXISTING: "案场老客户",
    OwnerType.DISPUTED: "待裁决",
}
_DEAL_STATUS_LABELS = {
    DealStatus.PAYABLE: "可结佣",
    DealStatus.HELD: "暂缓结佣",
    DealStatus.NOT_PAYABLE: "不结佣",
    DealStatus.CLAWBACK: "追回佣金",
}
_CLAIM_CHECK_LABELS = {
    ClaimCheck.OK: "相符",
    ClaimCheck.AMOUNT_DIFFERS: "金额不符",
    ClaimCheck.NOT_OURS: "非本渠道成交",
    ClaimCheck.ALREADY_PAID: "已无未付金额",
    ClaimCheck.AMBIGUOUS: "对应多笔成交",
    ClaimCheck.UNCLAIMED: "应付未请款",
    ClaimCheck.NO_CLAIM: "无请款",
}
_CLAIM_CHECK_ADVICE = {
    ClaimCheck.OK: "按请款金额支付",
    ClaimCheck.AMOUNT_DIFFERS: "按本期应付支付，差额与渠道核对",
    ClaimCheck.NOT_OURS: "不予支付：该成交不归属本渠道",
    ClaimCheck.ALREADY_PAID: "不予支付：已付清或暂无应付，防止重复付款",
    ClaimCheck.AMBIGUOUS: "请渠道补充成交编号或房号后再核对",
    ClaimCheck.UNCLAIMED: "渠道未请款，可提醒渠道或按本期应付支付",
    ClaimCheck.NO_CLAIM: "无需核对",
}
_CLAIM_CHECK_NOTICE = {
    ClaimCheck.OK: "请款金额与本期应付相符",
    ClaimCheck.AMOUNT_DIFFERS: "请款金额与本期应付不符，请与开发商财务核对",
    ClaimCheck.NOT_OURS: "该成交不归属贵司",
    ClaimCheck.ALREADY_PAID: "该笔已无未付金额，请勿重复请款",
    ClaimCheck.AMBIGUOUS: "请补充成交编号或房号",
    ClaimCheck.UNCLAIMED: "尚未请款",
    ClaimCheck.NO_CLAIM: "",
}


class Flag(StrEnum):
    """What `attribution.csv` `flags` tell of an episode (docs/judge.md, stage 3)."""

    PROVISIONAL = "provisional"
    BROUGHT_BY = "brought_by"
    TIE = "tie"
    LOST = "lost"
    ORDER_UNKNOWN = "order_unknown"
    RENEWED = "renewed"
    EXTENDED = "extended"
    TAKEOVER = "takeover"
    SPLIT = "split"
    RULING = "ruling"

    @property
    def label(self) -> str:
        return _FLAG_LABELS[self]


_FLAG_LABELS = {
    Flag.PROVISIONAL: "按报备类型优先暂定（需核实证据）",
    Flag.BROUGHT_BY: "带看渠道",
    Flag.TIE: "并列待裁决",
    Flag.LOST: "撞单未获归属",
    Flag.ORDER_UNKNOWN: "同一天先后不明，按报备方认定（需核实）",
    Flag.RENEWED: "续期次数",
    Flag.EXTENDED: "延期次数",
    Flag.TAKEOVER: "排队顺延",
    Flag.SPLIT: "分成",
    Flag.RULING: "裁决依据",
}
# The only value `provisional` takes: the contest was decided by report type first.
TYPE_PRIORITY = "type_priority"
FlagValue = str | int | tuple[tuple[str, float], ...] | None


@dataclass(slots=True)
class Flags:
    """An episode's flags, typed; `attribution.csv` writes them as text (publish/contract).

    Set in place as the timeline finds them (each episode has its own), not rebuilt with
    `dataclasses.replace`, which cost a tenth of the judge's time on large nights."""

    provisional: bool = False  # `report.type_priority` decided the contest (provisionally)
    brought_by: tuple[str, ...] = ()  # bringers without a candidate report (C02, walk-ins)
    tie: tuple[str, ...] = ()  # the disputants of a tie (D01)
    lost: tuple[str, ...] = ()  # collision losers (C01), sorted
    order_unknown: bool = False  # an unknown same-day order was resolved for the report
    renewed: int = 0  # how often visit protection was renewed
    extended: int = 0  # extension requests honoured (report.extension, SPEC 6.8)
    takeover: bool = False  # a queued report took over at the former holder's end (6.8)
    split: tuple[tuple[str, float], ...] = ()  # a ruling's shares, when several
    ruling: str | None = None  # the source row of the ruling that decided the episode

    def items(self) -> list[tuple[Flag, FlagValue]]:
        """Every flag set, with its value (None for a flag that is a statement alone), in
        the order the CSV lists them: what the automatic contest found, then what a
        ruling decided (its losers, shares and source) last."""
        head: list[tuple[Flag, FlagValue]] = []
        if self.provisional:
            head.append((Flag.PROVISIONAL, TYPE_PRIORITY))
        head += [(Flag.BROUGHT_BY, channel) for channel in self.brought_by]
        head += [(Flag.TIE, channel) for channel in self.tie]
        lost: list[tuple[Flag, FlagValue]] = [(Flag.LOST, channel) for channel in self.lost]
        tail: list[tuple[Flag, FlagValue]] = []
        if self.order_unknown:
            tail.append((Flag.ORDER_UNKNOWN, None))
        if self.renewed:
            tail.append((Flag.RENEWED, self.renewed))
        if self.extended:
            tail.append((Flag.EXTENDED, self.extended))
        if self.takeover:
            tail.append((Flag.TAKEOVER, None))
        if self.ruling is None:
            return [*head, *lost, *tail]
        ruled: list[tuple[Flag, FlagValue]] = [(Flag.SPLIT, self.split)] if self.split else []
        return [*head, *tail, *lost, *ruled, (Flag.RULING, self.ruling)]
