"""In-house consultants (置业顾问, SPEC 6.7): who owns each customer inside the sales
office, and how each deal's 业绩 is shared among consultants.

Independent of the channel attribution: a channel customer also has a consultant. The
rules are in the registry (`reasons/k01.py` … `k07.py`, `reasons/split.py`); this module
walks each customer's contacts in time order and applies them:

- contacts are receptions (来访登记 rows with a 接待顾问, or a 指定顾问 alone) and CRM
  follow-ups with a 跟进人; a contact while nobody holds the customer starts a record
  (K01, or K04 for a referral, K06 for a household member);
- a record ends (K05) as `reasons/k05.py` says; only the owner's own contacts keep it;
- receptions by others while the record holds are remembered (指定 K02, 协助 K03) and
  split the deals made while it holds (`reasons/split.py`);
- a deal made while no record holds goes to the consultant who last received the
  customer (seed 001: 与原销售人员无关); shares are compared with the CRM's 置业顾问 (K07).

Customers are walked in the order of their first contact, so a referrer's or an earlier
household member's records are final when a newcomer needs them. Times are compared as
integer microseconds: polars computes every period end up front, so the walk over a
million follow-ups does no date arithmetic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from reconcile.config.rules import ConsultantRules, Rules
from reconcile.judge.deals import REFUNDED, SUBSCRIBED, Deal, Households
from reconcile.judge.inputs import Inputs
from reconcile.judge.periods import local_day
from reconcile.judge.reasons import k01, k04, k05, k06, k07, split
from reconcile.judge.reasons.split import ASSISTED, DESIGNATED, Help
from reconcile.judge.vocabulary import Code
from reconcile.normalise.places import place_expr

NEVER = k05.NEVER
# A 协助/代接 cell that only marks the reception as help, rather than naming the helper.
YES = frozenset(
    {"是", "是的", "有", "Y", "y", "YES", "Yes", "yes", "1", "√", "✓", "✔", "协助", "代接"}
)
NO = frozenset({"否", "无", "N", "n", "NO", "No", "no", "0", "×", "-", "—", "/"})
VISIT, FOLLOWUP = 0, 1
_NOT_YET = datetime.min.replace(tzinfo=UTC)  # a record's start, set once the walk is done


@dataclass(slots=True)
class Record:
    """A consultant's record of a customer (建档): one `consultants.csv` row."""

    phone: str
    customer_name: str | None
    consultant: str
    valid_from: datetime
    valid_until: datetime | None  # exclusive; None: never ends
    codes: list[Code]  # K01 | K04 | K06, and K05 once it ended by the night
    source: str  # the contact that started it
    helps: list[tuple[int, Help]] | None = None  # (at µs, help), in order; None: no help
    index: int = 0  # the contact that started it (the walk's order)
    start_us: int = 0
    validity_us: int = NEVER  # record_validity's end: fixed at the start
    end_us: int = NEVER  # the earlier of that and release_without_follow_up's end


@dataclass(frozen=True, slots=True)
class Share:
    """One consultant's share of a deal: one `performance.csv` row."""

    deal_id: str
    phone: str | None
    consultant: str | None  # None: nobody received the customer (the CRM names someone)
    share: float | None
    crm_consultant: str | None
    codes: tuple[Code, ...]
    deal_date: datetime | None
    amount: float | None  # the deal's amount times the share
    stage: str


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a third of the audit
class Reception:
    """A visit as the rotation audit sees it."""

    phone: str
    at: datetime
    consultant: str
    owner: str | None  # whose record held the customer just before (None: a turn)
    source: str
    order: int  # submission order (file, sheet, row) among the night's contacts
    at_us: int  # `at` as µs since the epoch, and its local day as days since 1970-01-01
    day: int


@dataclass
class Consultants:
    records: list[Record]
    shares: list[Share]
    receptions: list[Reception]

    def by_phone(self, phone: str) -> list[Record]:
        return [r for r in self.records if r.phone == phone]


def _us(expr: pl.Expr) -> pl.Expr:
    return expr.dt.convert_time_zone("UTC").dt.epoch("us")


def _text(column: str) -> pl.Expr:
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def contacts(inputs: Inputs, rules: Rules, settings: ConsultantRules) -> pl.DataFrame:
    """Every contact in walking order, with the period ends it would set, as integers,
    and its place in submission order (`file_order`: how the rotation orders ties)."""
    zone = rules.timezone
    visits = inputs.visits.filter(pl.col("phone").is_not_null() & pl.col("at").is_not_null())
    visits = visits.select(
        "phone", "at", "customer_name", "path", "sheet", "row_no", source=place_expr(),
        who=pl.coalesce(_text("consultant"), _text("designated")),
        designated=_text("designated"),
        assistant=_text("assistant"),
        referrer=_text("referrer"),
        kind=pl.lit(VISIT, pl.Int8),
    ).filter(pl.col("who").is_not_null())  # fmt: skip
    follow = inputs.followups.filter(pl.col("phone").is_not_null() & pl.col("at").is_not_null())
    follow = follow.select(
        "phone", "at", "customer_name", "path", "sheet", "row_no", source=place_expr(),
        who=pl.coalesce(_text("follower"), _text("consultant")),
        designated=pl.lit(None, pl.String),
        assistant=pl.lit(None, pl.String),
        referrer=pl.lit(None, pl.String),
        kind=pl.lit(FOLLOWUP, pl.Int8),
    ).filter(pl.col("who").is_not_null())  # fmt: skip
    # Each frame comes in submission order (judge/inputs.py): a visit's index is its place
    # among the visits, which is all the rotation and a same-instant tie need.
    frame = (
        pl.concat([visits, follow])
        .with_row_index("file_order")
        .with_columns(at_us=_us(pl.col("at")), day=pl.col("at").dt.date())
    )
    ends = [
        k05.period_ends(frame, duration, zone).alias(name)
        for name, duration in (
            ("release_us", settings.release_without_follow_up),
            ("validity_us", settings.record_validity),
        )
    ]
    return (
        frame.with_columns(*ends, day=pl.col("day").cast(pl.Int32))
        .with_columns(first_us=pl.col("at_us").min().over("phone"))
        .sort("first_us", "phone", "at_us", "kind", "file_order")
    )


def judge_consultants(
    inputs: Inputs, rules: Rules, deals: list[Deal], households: Households
) -> Consultants:
    settings = rules.consultant or ConsultantRules()
    frame = contacts(inputs, rules, settings)
    walk = _Walk(settings, households, frame)
    walk.run(frame)
    # Instants become datetimes only where a row shows them: records and receptions.
    starts = [r.index for r in walk.records]
    seen = [index for index, _, _ in walk.visited]
    moments = frame["at"].gather(starts + seen).to_list()
    sources = frame["source"].gather(starts + seen).to_list()
    names = frame["customer_name"].gather(starts).to_list()
    night_us = int(inputs.as_of_end.astimezone(UTC).timestamp() * 1_000_000)
    ends = pl.Series(
        [r.end_us if r.end_us != NEVER else None for r in walk.records], dtype=pl.Int64
    )
    untils = ends.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(rules.timezone).to_list()
    for record, moment, source, until, name in zip(
        walk.records, moments, sources, untils, names, strict=False
    ):
        record.valid_from, record.source, record.valid_until = moment, source, until
        record.customer_name = name
        if record.end_us <= night_us:
            record.codes.append(Code.K05)
    phones, who, order, day = walk.phones, walk.who, walk.order, walk.day
    receptions = [
        Reception(phones[index], moment, who[index], owner, source, order[index], at_us, day[index])
        for (index, owner, at_us), moment, source in zip(
            walk.visited, moments[len(starts) :], sources[len(starts) :], strict=True
        )
    ]
    crm = _crm_consultants(inputs)
    buyers = {buyer for deal in deals for buyer in deal.owners}
    received: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for reception in receptions:
        if reception.phone in buyers:
            received[reception.phone].append((reception.at_us, reception.day, reception.consultant))
    shares = [
        share
        for deal in sorted(deals, key=lambda d: d.deal_id)
        for share in _deal_shares(deal, walk, received, rules, settings, crm)
    ]
    return Consultants(walk.records, shares, receptions)


def epoch_day(day: date) -> int:
    """A calendar day as the walk counts days: days since 1970-01-01."""
    return (day - _EPOCH).days


_EPOCH = date(1970, 1, 1)


class _Walk:
    """The contacts of every customer, in order, and the records they make.

    The loop reads six columns; what only a record's start or a reception needs is
    looked up by the contact's index."""

    def __init__(self, settings: ConsultantRules, households: Households, frame: pl.DataFrame):
        self.settings = settings
        self.households = households
        self.records: list[Record] = []
        self.by_phone: dict[str, list[Record]] = defaultdict(list)
        # (contact index, owner before, at µs) of each reception
        self.visited: list[tuple[int, str | None, int]] = []
        self.phones: list[str] = frame["phone"].to_list()
        self.who: list[str] = frame["who"].to_list()
        self.order: list[int] = frame["file_order"].to_list()
        self.designated: list[str | None] = frame["designated"].to_list()
        self.assistant: list[str | None] = frame["assistant"].to_list()
        self.referrer: list[str | None] = frame["referrer"].to_list()
        self.day: list[int] = frame["day"].to_list()

    def run(self, frame: pl.DataFrame) -> None:
        hot = [frame[name].to_list() for name in ("at_us", "kind", "release_us", "validity_us")]
        record: Record | None = None
        rows = zip(self.phones, self.who, *hot, strict=True)
        for index, (phone, by, at_us, kind, release_us, validity_us) in enumerate(rows):
            if record is not None and (record.phone != phone or at_us >= record.end_us):
                record = None  # another customer, or lapsed (K05): free
            if kind == VISIT:
                owner = record.consultant if record is not None else None
                self.visited.append((index, owner, at_us))
            if record is None:
                record = self._start(index, at_us, kind, release_us, validity_us)
            elif by == record.consultant:
                record.end_us = k05.record_end(record.validity_us, release_us)
            elif kind == VISIT:
                helper = _help(by, self.designated[index], self.assistant[index], record.consultant)
                if helper is not None:  # another's follow-up neither keeps nor splits it
                    role, consultant = helper
                    if record.helps is None:
                        record.helps = []
                    record.helps.append((at_us, Help(role, consultant, self.day[index])))

    def _start(self, index: int, at_us: int, kind: int, release: int, validity: int) -> Record:
        phone, who = self.phones[index], self.who[index]
        owner, code = who, Code.K01
        if kind == VISIT:
            household = self._household_owner(phone, at_us)
            referrer = self.referrer[index]
            referred = self._referrer_owner(referrer, at_us) if referrer else None
            if household is not None:
                owner, code = household, Code.K06
            elif referred is not None:
                owner, code = referred, Code.K04
        if code is Code.K01:
            owner = k01.decide(who if kind == VISIT else None, who) or who
        end = k05.record_end(validity, release)
        record = Record(
            phone, None, owner, _NOT_YET, None, [code], "", None, index, at_us,
            validity, end,
        )  # fmt: skip
        self.records.append(record)
        self.by_phone[phone].append(record)
        return record

    def _holding(self, phone: str, at_us: int) -> list[Record]:
        return [r for r in self.by_phone.get(phone, ()) if r.start_us <= at_us < r.end_us]

    def _referrer_owner(self, referrer: str | None, at_us: int) -> str | None:
        if not referrer or "*" in referrer:
            return None
        holding = self._holding(referrer, at_us)
        return k04.decide(holding[0].consultant if holding else None, self.settings)

    def _household_owner(self, phone: str, at_us: int) -> str | None:
        members = [m for m in self.households.members(phone) if m != phone]
        records = [
            (r.start_us, r.end_us, r.consultant) for m in members for r in self.by_phone.get(m, ())
        ]
        return k06.decide(records, at_us) if records else None


def _help(
    who: str, designated: str | None, assistant: str | None, owner: str
) -> tuple[str, str] | None:
    """What a reception by someone else during the owner's record was: asked for
    (指定顾问 naming someone other than the owner), help (a 协助/代接 cell), or nothing."""
    if designated and designated not in NO and designated != owner:
        return DESIGNATED, designated
    if assistant and assistant not in NO:
        helper = who if assistant in YES else assistant
        if helper != owner:
            return ASSISTED, helper
    return None


def _crm_consultants(inputs: Inputs) -> dict[tuple, str]:
    """The CRM deal rows' 置业顾问 by (path, sheet, row)."""
    frame = inputs.deals.filter(pl.col("consultant").is_not_null())
    return {
        (path, sheet, row): consultant
        for path, sheet, row, consultant in frame.select(
            "path", "sheet", "row_no", "consultant"
        ).iter_rows()
    }


def _deal_shares(
    deal: Deal,
    walk: _Walk,
    received: dict[str, list[tuple[int, int, str]]],
    rules: Rules,
    settings: ConsultantRules,
    crm: dict[tuple, str],
) -> list[Share]:
    """The deal's `performance.csv` rows: the consultants holding at its date (SPEC 6.7)."""
    at = deal.deal_date
    if at is None or deal.stage == REFUNDED or not deal.reached(SUBSCRIBED):
        return []
    at_us = int(at.astimezone(UTC).timestamp() * 1_000_000)
    day = epoch_day(local_day(at, rules.zone))
    buyers = deal.owners
    family = [m for b in buyers for m in walk.households.members(b) if m not in buyers]
    holding = [
        r
        for phone in (*buyers, *family)
        for r in walk.by_phone.get(phone, ())
        if r.start_us <= at_us < r.end_us
    ]
    code: Code | None = None
    if holding:
        record = holding[0]
        reached = deal.reached_at(rules.deal.commission_stage)
        reached_day = epoch_day(local_day(reached, rules.zone)) if reached is not None else None
        helps = [h for _, h in record.helps or () if h.day <= day]
        split_shares, code = split.shares(record.consultant, helps, reached_day, settings)
    else:
        last = [
            (at_seen, who)
            for phone in buyers
            for at_seen, seen_day, who in received.get(phone, ())
            if seen_day <= day
        ]
        split_shares = [(max(last)[1], 1.0)] if last else []
    crm_cell = next((crm[s] for s in sorted(deal.sources) if s in crm), None)
    differs = k07.decide([who for who, _ in split_shares], crm_cell)
    codes = tuple(c for c in (code, Code.K07 if differs else None) if c is not None)
    if not split_shares:
        if crm_cell is None:
            return []
        split_shares = [(None, None)]  # type: ignore[list-item]
    return [
        Share(
            deal.deal_id,
            buyers[0] if buyers else deal.phone,
            who,
            share,
            crm_cell,
            codes,
            at,
            None if deal.amount is None or share is None else deal.amount * share,
            deal.stage,
        )
        for who, share in sorted(split_shares, key=lambda pair: -(pair[1] or 0))
    ]
