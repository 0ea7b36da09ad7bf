"""Stage 4 of the judge: deals across nights, their owner on the deal date, and commission.

A deal is one flat sold once (SPEC 6.5). Deal rows are grouped by their flat (房源唯一码,
else 楼栋-单元-房号, else 房号 with the buyer's number) and by their numbers (成交编号,
合同编号, 认购编号), in the order they happened: a number joins the deal that already
has it or holds its flat, a flat refunded and sold again starts a new deal, and a
交易变更 row (退房, 换房, 更名 …) reaches its deal by number or flat, never by phone.
The owner is the episode of a buyer, or of a buyer's household (配偶/家属 columns), that
holds on the deal date; among several, the earliest claim by `conflict.order`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge.inputs import parse_iso
from reconcile.judge.reasons import h01, p01, refund, s01
from reconcile.judge.reasons.h01 import appeal_end
from reconcile.judge.timeline import Episode
from reconcile.judge.vocabulary import Code, DealStatus, OwnerType
from reconcile.normalise import deals as cells
from reconcile.normalise.places import place_text

STAGES = cells.STAGES  # 小订 < 认购 < 签约 < 退房, each written as its first word
DEPOSIT, SUBSCRIBED, SIGNED, REFUNDED = STAGES
# Deal numbers, in the order that names a deal (SPEC 6.5: 成交编号, else 合同, else 认购).
NUMBERS = (("deal_no", "成交编号"), ("contract_no", "合同编号"), ("subscription_no", "认购编号"))
_STAGE_DATES = (
    ("deposit_at", DEPOSIT),
    ("subscribed_at", SUBSCRIBED),
    ("signed_at", SIGNED),
    ("refunded_at", REFUNDED),
)
_FLAT_FIELDS = ("room_id", "room_name", "building", "unit", "room")
NOT_PAYABLE = DealStatus.NOT_PAYABLE
# The change type of a 换房 followed from a 明源 record closed by it (no 交易变更 row): the
# record's 状态 and 关闭原因, as written.
CLOSED_BY_MOVE = "关闭（换房）"


@dataclass(frozen=True, slots=True)
class DealChange:
    """A 交易变更 row as it reached its deal."""

    change_type: str  # as written: 退房, 换房, 更名, 增减权益人, 折扣变更 …
    kind: str  # refund | move | buyers | other
    at: datetime | None
    source: str  # file#sheet!row
    new_flat: str | None = None  # 换房: the flat the deal moved to
    amount: float | None = None  # 换房: 新成交总价; 退房: 实际退房退款金额


@dataclass(slots=True)
class Deal:
    deal_id: str
    # The buyer whose household owns the deal (set by `settle`); before that the first buyer.
    phone: str | None = None
    amount: float | None = None
    stage_at: dict[str, datetime | None] = field(default_factory=dict)  # stage -> earliest date
    customer_name: str | None = None  # the latest the rows gave (a 更名 gives a new one)
    sources: list[tuple[str, str, int]] = field(default_factory=list)  # (path, sheet, row)
    buyers: list[str] = field(default_factory=list)  # every buyer number, first seen first
    added: set[str] = field(default_factory=set)  # buyers a 更名/增减权益人 brought: never owners
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (成交编号 …, number)
    flats: list[str] = field(default_factory=list)  # flat keys: where it was sold first
    changes: list[DealChange] = field(default_factory=list)
    refund_amount: float | None = None
    # Other open deals of another buyer on one of this deal's flats (a CRM error to verify).
    rivals: list[Deal] = field(default_factory=list)

    @property
    def source_texts(self) -> tuple[str, ...]:
        """`file#sheet!row` of every row behind the deal (交易变更 too), in file order, once."""
        return tuple(dict.fromkeys(map(place_text, sorted(self.sources))))

    @property
    def owners(self) -> list[str]:
        """The buyers whose claims decide the owner: not those a 更名/增减权益人 added."""
        return [b for b in self.buyers if b not in self.added] or list(self.buyers)

    @property
    def flat(self) -> str | None:
        """The flat it is on now (a 换房 moves it)."""
        return self.flats[-1] if self.flats else None

    @property
    def stage(self) -> str:
        if REFUNDED in self.stage_at:
            return REFUNDED
        reached = [s for s in STAGES if s in self.stage_at]
        return reached[-1] if reached else SUBSCRIBED

    @property
    def deal_date(self) -> datetime | None:
        """The day the deal was made: its first stage at 认购 level or above (SPEC 6.1 step 6).

        A deal that never got that far (only 小订, or only a 退房 row) is dated by the
        earliest stage it has.
        """
        made = [at for s in (SUBSCRIBED, SIGNED) if (at := self.stage_at.get(s)) is not None]
        if made:
            return min(made)
        dated = [at for at in self.stage_at.values() if at is not None]
        return min(dated) if dated else None

    def _implied(self, stage: str) -> list[str]:
        """Stages recorded that imply `stage`: 签约 implies 认购 and 小订; 退房 implies none."""
        levels = STAGES[STAGES.index(stage) : STAGES.index(SIGNED) + 1]
        return [s for s in levels if s in self.stage_at]

    def reached(self, stage: str) -> bool:
        return bool(self._implied(stage))

    def reached_at(self, stage: str) -> datetime | None:
        """When the deal reached `stage`, if that was dated."""
        dated = [at for s in self._implied(stage) if (at := self.stage_at[s]) is not None]
        return min(dated) if dated else None

    def mark(self, stage: str, at: datetime | None) -> None:
        """Record a stage; the earliest date seen is its date."""
        known = self.stage_at.get(stage)
        if stage not in self.stage_at or (at is not None and (known is None or at < known)):
            self.stage_at[stage] = at


# Assembling deals across nights (SPEC 6.5) ------------------------------------------------


def change_kind(change_type: str | None) -> str:
    """What a 交易变更 does: refund (退房/退定), move (换房), buyers (更名/增减权益人), other."""
    text = unicodedata.normalize("NFKC", change_type or "").strip()
    if "换房" in text:
        return "move"
    # Not any 退: 面积补差退款 returns money and the deal stands.
    if re.search(r"退(房|定|订|购)|挞定|弃购", text):
        return "refund"
    if "更名" in text or "权益人" in text or "改名" in text:
        return "buyers"
    return "other"


_NAME_SPLIT = re.compile(r"[;；/、,，\s]+")


def _names(text: str | None) -> set[str]:
    return {n for n in _NAME_SPLIT.split(text or "") if n}


@dataclass(slots=True, eq=False)
class _Row:
    """One source row of a deal sheet (all its buyer numbers) or of a 交易变更 sheet."""

    order: tuple  # when it happened, then arrival and file order
    source: tuple[str, str, int]
    phones: list[str]
    customer_name: str | None
    flats: tuple[str, ...]  # the flat's identities, most specific first
    numbers: tuple[tuple[str, str], ...]
    at: datetime | None
    amount: float | None = None
    stage: str | None = None
    stage_at: dict[str, datetime | None] = field(default_factory=dict)
    sale_at: datetime | None = None  # its earliest stage short of 退房
    change: DealChange | None = None  # a 交易变更 row
    room: cells.Room | None = None  # 换房: the new room as written
    new_names: set[str] = field(default_factory=set)  # 更名/增减权益人: names it brings
    moved_out: bool = False  # a 明源 record closed by 换房: its deal left this flat
    closed_at: datetime | None = None  # 关闭日期 of a closed record


def _sort_key(at: datetime | None, change: bool, row: dict) -> tuple:
    """Rows in the order things happened; undated rows last; deal rows before changes."""
    seen = row.get("first_seen_at")
    return (at is None, at, change, seen is None, seen, row["path"], row["sheet"], row["row_no"])


def _column(frame: pl.DataFrame, name: str, zone: str | None = None) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(None).alias(name)
    return parse_iso(name, zone).alias(name) if zone else pl.col(name)


def _own_date(row: dict, given: dict[str, datetime]) -> datetime | None:
    """The date of the stage a row tells without a date column of its own: the row's.
    Save a refund, whose row has no 退房日期: its date is the sale's (a 明源 认购 record
    closed by 退房 carries its 认购日期, a 销售明细 row now 退房 its 成交日期), not the
    refund's. The refund is dated by the record's 关闭日期, else when the ledger first saw
    the row, the day it was known (never before the row's own dates)."""
    at = row["at"]
    known = row["closed_at"] or row.get("first_seen_at")
    if row["stage"] != REFUNDED or at is None or known is None:
        return at
    return max(known, at, *given.values())


def _numbers(row: dict) -> tuple[tuple[str, str], ...]:
    found = []
    for name, label in NUMBERS:
        value = unicodedata.normalize("NFKC", row.get(name) or "").strip()
        if value:
            found.append((label, value))
    return tuple(found)


def deal_rows(frame: pl.DataFrame, as_of_end: datetime) -> list[_Row]:
    """Deal rows, one per source row: a co-buyer cell gave one frame row per number."""
    zone = str(as_of_end.tzinfo)
    wanted = [
        *(name for name, _ in NUMBERS), *_FLAT_FIELDS, "stage", "amount", "first_seen_at",
        "close_reason",
    ]  # fmt: skip
    no_date = pl.lit(None, pl.Datetime("us", zone))
    dated = frame.with_columns(
        *(_column(frame, name) for name in wanted if name not in frame.columns),
        *(
            _column(frame, name, zone) if name in frame.columns else no_date.alias(name)
            for name in (*(name for name, _ in _STAGE_DATES), "closed_at")
        ),
    )
    rows: dict[tuple, _Row] = {}
    for row in dated.iter_rows(named=True):
        key = (row["path"], row["sheet"], row["row_no"], row.get("first_run"))
        known = rows.get(key)
        if known is not None:
            if row["phone"] and row["phone"] not in known.phones:
                known.phones.append(row["phone"])
            continue
        given = {stage: row[name] for name, stage in _STAGE_DATES if row[name] is not None}
        stage_at = {stage: at for stage, at in given.items() if at <= as_of_end}
        if row["stage"] in STAGES and row["stage"] not in given:
            # The row's stage without its own date column: dated by the row (or undated).
            stage_at[row["stage"]] = _own_date(row, given)
        if not stage_at:
            continue  # every stage it tells of is after the night (a 小订 row has no `at`)
        sales = [at for stage, at in stage_at.items() if stage != REFUNDED and at is not None]
        sale_at = min(sales) if sales else None
        refund_at = stage_at.get(REFUNDED)
        phone = row["phone"]
        rows[key] = _Row(
            order=_sort_key(sale_at or refund_at or row["at"], False, row),
            source=(row["path"], row["sheet"], row["row_no"]),
            phones=[phone] if phone else [],
            customer_name=row["customer_name"],
            flats=cells.flat_keys(*(row[name] for name in _FLAT_FIELDS), phone=phone),
            numbers=_numbers(row),
            at=row["at"],
            amount=row["amount"],
            stage=row["stage"],
            stage_at=stage_at,
            sale_at=sale_at,
            moved_out=cells.moved_out(row["close_reason"]),
            closed_at=row["closed_at"],
        )
    return list(rows.values())


def change_rows(frame: pl.DataFrame) -> list[_Row]:
    """交易变更 rows: they reach a deal by flat or number (a phone is rarely given)."""
    rows: dict[tuple, _Row] = {}
    for row in frame.iter_rows(named=True):
        get = row.get
        key = (row["path"], row["sheet"], row["row_no"], get("first_run"))
        if key in rows:  # a cell of several numbers gave one frame row each
            phone = get("phone")
            if phone and phone not in rows[key].phones:
                rows[key].phones.append(phone)
            continue
        kind = change_kind(get("change_type"))
        amount = get("new_amount") if kind == "move" else get("refund_amount")
        phone = get("phone")
        source = place_text((row["path"], row["sheet"], row["row_no"]))
        rows[key] = _Row(
            order=_sort_key(row["at"], True, row),
            source=(row["path"], row["sheet"], row["row_no"]),
            phones=[phone] if phone else [],
            customer_name=get("new_customer_name") if kind == "buyers" else None,
            flats=cells.flat_keys(*(get(name) for name in _FLAT_FIELDS), phone=phone),
            numbers=_numbers(row),
            at=row["at"],
            change=DealChange(
                (get("change_type") or "").strip(), kind, row["at"], source, amount=amount
            ),
            room=cells.parse_room(get("new_room_name")) if kind == "move" else None,
            new_names=(
                _names(get("new_customer_name")) - _names(row["customer_name"])
                if kind == "buyers"
                else set()
            ),
        )
    return list(rows.values())


class _Flats:
    """Identities of one flat (a GUID and its 楼栋-单元-房号 on one row) joined (union-find)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        parent = self._parent.setdefault(key, key)
        if parent != key:
            parent = self._parent[key] = self.find(parent)
        return parent

    def join(self, keys: tuple[str, ...]) -> str | None:
        if len(keys) < 2:
            return self.find(keys[0]) if keys else None
        roots = sorted({self.find(k) for k in keys}, key=_specificity)
        for other in roots[1:]:
            self._parent[other] = roots[0]
        return roots[0] if roots else None

    def root(self, row: _Row) -> str | None:
        return self.find(row.flats[0]) if row.flats else None


def _specificity(key: str) -> tuple:
    """A flat's name: its 房源唯一码 first, then 楼栋-单元-房号, then 房号@number."""
    return (2 if "@" in key else 1 if cells.is_room_key(key) else 0, key)


def _join_bare_rooms(flats: _Flats, rows: list[_Row]) -> None:
    """`房号@number` is the flat the same buyer has under a building of that 房号, if one."""
    full: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row.change is None and row.flats and "@" not in row.flats[0]:
            for key in filter(cells.is_room_key, row.flats):
                room = key.rsplit("-", 1)[-1]
                for phone in row.phones:
                    full.setdefault((room, phone), set()).add(flats.find(row.flats[0]))
    for row in rows:
        if row.flats and "@" in row.flats[0]:
            room, _, phone = row.flats[0].partition("@")
            found = {flats.find(k) for k in full.get((room, phone), ())}
            if len(found) == 1:
                flats.join((row.flats[0], *found))


class _Book:
    """The sweep over deal and change rows in the order things happened."""

    def __init__(self, flats: _Flats, moves: dict[str, list[_Row]]) -> None:
        self.flats = flats
        self.moves = moves  # flat -> 换房 changes into it
        self.deals: list[Deal] = []
        self.on_flat: dict[str, Deal] = {}  # flat -> its current deal
        self.by_number: dict[tuple[str, str], Deal] = {}
        self.amounts: dict[int, list[tuple[tuple, float]]] = {}
        self.names: dict[int, list[tuple[tuple, str]]] = {}
        self.buyer_names: dict[int, dict[str, set[str]]] = {}  # deal -> buyer -> names
        self.added_names: dict[int, set[str]] = {}  # deal -> names a 更名 brought
        self.by_buyer: dict[str, list[Deal]] = {}
        self.left: dict[str, set[int]] = {}  # flat -> deals a 换房 took away from it
        self.made: dict[int, int] = {}  # deal -> when it was made (its place in `deals`)
        self.gone: set[int] = set()  # deals merged into another
        # 明源 records closed by 换房: deal -> flat -> the closing row, and flat -> those deals
        self.closed: dict[int, dict[str, _Row]] = {}
        self.vacated: dict[str, set[int]] = {}

    # deal rows

    def place(self, row: _Row, last: bool = False) -> bool:
        """Attach a deal row to its deal; False: a number-only row to try again at the end."""
        deal = self._by_numbers(row.numbers)
        flat = self.flats.root(row)
        rival = None
        if deal is None and flat is not None:
            current = self.on_flat.get(flat)
            if current is not None and not self._free(current, flat, row) and _rival(current, row):
                rival = current
            elif current is not None and not self._free(current, flat, row):
                deal = current
            else:
                deal = self._moved_into(flat, row)
        if deal is None and flat is None:
            if not last:
                return False
            deal = self._buyers_deal(row)
        if deal is None:
            deal = Deal("")
            self.made[id(deal)] = len(self.deals)
            self.deals.append(deal)
        if flat is not None:
            other = self.on_flat.get(flat)
            if other is not None and other is not deal and not self._free(other, flat, row):
                if _rival(other, row):
                    rival = other
                else:
                    deal = self._merge(other, deal)  # one flat never gives two deals
        if rival is not None and rival is not deal and rival not in deal.rivals:
            deal.rivals.append(rival)
            rival.rivals.append(deal)
        self._attach(deal, row, flat)
        return True

    def _free(self, current: Deal, flat: str, row: _Row) -> bool:
        """Whether a row on `flat` is a new sale, not `current`'s: the flat was refunded
        before it, or `current` moved away by 换房 and the row is another buyer's."""
        if _resold(current, row):
            return True
        return (
            id(current) in self.vacated.get(flat, ())
            and bool(row.phones)
            and not set(row.phones) & set(current.buyers)
        )

    def _by_numbers(self, numbers: Iterable[tuple[str, str]]) -> Deal | None:
        found: list[Deal] = []
        for number in numbers:
            deal = self.by_number.get(number)
            if deal is not None and deal not in found:
                found.append(deal)
        deal = found[0] if found else None
        for other in found[1:]:
            deal = self._merge(deal, other)  # type: ignore[arg-type]
        return deal

    def _moved_into(self, flat: str, row: _Row) -> Deal | None:
        """The deal a 换房 moves into this flat, for its rows dated before the change."""
        for change in self.moves.get(flat, ()):
            deal = self._target(change)
            if deal is not None and set(deal.buyers) & set(row.phones):
                return deal
        return None

    def _buyers_deal(self, row: _Row) -> Deal | None:
        """A row with new numbers and no flat: its buyer's one open deal, if exactly one."""
        candidates = {id(d): d for p in row.phones for d in self.by_buyer.get(p, ())}
        mine = [
            d
            for d in candidates.values()
            if REFUNDED not in d.stage_at
            and not any(
                kind == k and number != n for kind, number in row.numbers for k, n in d.numbers
            )
        ]
        return mine[0] if len(mine) == 1 else None

    def _attach(self, deal: Deal, row: _Row, flat: str | None) -> None:
        deal.sources.append(row.source)
        names = self.buyer_names.setdefault(id(deal), {})
        for phone in row.phones:
            self._buyer(deal, phone)
            names.setdefault(phone, set()).update(_names(row.customer_name))
        self._numbers(deal, row.numbers)
        if flat is not None and id(deal) not in self.left.get(flat, ()):
            if flat not in deal.flats:
                deal.flats.append(flat)
            self.on_flat[flat] = deal
        closed_on = flat or deal.flat
        if row.moved_out and closed_on is not None:
            self.closed.setdefault(id(deal), {}).setdefault(closed_on, row)
            self.vacated.setdefault(closed_on, set()).add(id(deal))
        for stage, at in row.stage_at.items():
            deal.mark(stage, at)
        if row.amount is not None:
            self.amounts.setdefault(id(deal), []).append((row.order, row.amount))
        if row.customer_name:
            self.names.setdefault(id(deal), []).append((row.order, row.customer_name))

    def _buyer(self, deal: Deal, phone: str) -> None:
        if phone not in deal.buyers:
            deal.buyers.append(phone)
            self.by_buyer.setdefault(phone, []).append(deal)

    def _numbers(self, deal: Deal, numbers: Iterable[tuple[str, str]]) -> None:
        for number in numbers:
            self.by_number.setdefault(number, deal)
            if number not in deal.numbers:
                deal.numbers.append(number)

    def _merge(self, keep: Deal, gone: Deal, earlier_keeps: bool = True) -> Deal:
        """Two deals that turn out to be one: the earlier-made keeps everything (or `keep`)."""
        if earlier_keeps and self.made[id(gone)] < self.made[id(keep)]:
            keep, gone = gone, keep
        keep.sources.extend(gone.sources)
        for buyer in gone.buyers:
            self._buyer(keep, buyer)
            self.by_buyer[buyer].remove(gone)
        keep.added |= gone.added
        keep.numbers.extend(n for n in gone.numbers if n not in keep.numbers)
        keep.flats.extend(f for f in gone.flats if f not in keep.flats)
        keep.changes.extend(gone.changes)
        for stage, at in gone.stage_at.items():
            keep.mark(stage, at)
        if keep.refund_amount is None:
            keep.refund_amount = gone.refund_amount
        self.amounts.setdefault(id(keep), []).extend(self.amounts.pop(id(gone), []))
        self.names.setdefault(id(keep), []).extend(self.names.pop(id(gone), []))
        names = self.buyer_names.setdefault(id(keep), {})
        for buyer, given in self.buyer_names.pop(id(gone), {}).items():
            names.setdefault(buyer, set()).update(given)
        self.added_names.setdefault(id(keep), set()).update(self.added_names.pop(id(gone), set()))
        for flat in gone.flats:
            if self.on_flat.get(flat) is gone:
                self.on_flat[flat] = keep
        for number in gone.numbers:
            if self.by_number.get(number) is gone:
                self.by_number[number] = keep
        for away in (*self.left.values(), *self.vacated.values()):
            if id(gone) in away:
                away.add(id(keep))
        for flat, row in self.closed.pop(id(gone), {}).items():
            self.closed.setdefault(id(keep), {}).setdefault(flat, row)
        self.gone.add(id(gone))
        return keep

    # 明源 records closed by 换房, without the 交易变更 that tells where the deal went

    def follow_moves(self, households: Households) -> None:
        """A deal whose record on its flat was closed by 换房 moved to the same customer's
        (or household's, `_successor`) next deal: the two are one deal (SPEC 6.5: same
        customer, no second deal), with the new flat and price. The deal whose record
        closed keeps the name and the date."""
        moving = sorted(
            (d for d in self.deals if id(d) in self.closed and id(d) not in self.gone),
            key=self._in_time,
        )
        for deal in moving:
            while id(deal) not in self.gone and self._moving(deal):
                closing = self.closed[id(deal)][deal.flat]  # type: ignore[index]
                target = self._successor(deal, closing, households)
                if target is None:
                    break
                new = target.flat
                self._merge(deal, target, earlier_keeps=False)
                if new is not None:  # the flat it is on now goes last
                    deal.flats.remove(new)
                    deal.flats.append(new)
                amounts = sorted(self.amounts.get(id(deal), []), key=lambda item: item[0])
                deal.changes.append(
                    DealChange(
                        CLOSED_BY_MOVE,
                        "move",
                        closing.closed_at or target.deal_date,
                        place_text(closing.source),
                        new,
                        amounts[-1][1] if amounts else None,
                    )
                )

    def _moving(self, deal: Deal) -> bool:
        """Closed by 换房 on the flat it is on, and no 交易变更 moved it elsewhere."""
        return deal.flat in self.closed.get(id(deal), {}) and not any(
            change.kind == "move" and change.change_type != CLOSED_BY_MOVE
            for change in deal.changes
        )

    def _successor(self, deal: Deal, closing: _Row, households: Households) -> Deal | None:
        """The deal a 换房 moved `deal` into: the same buyer's next open deal, made on or
        after the day the record closed (else the day of the sale), the earliest first. With
        none, the one such deal of the buyers' household (the new flat in the spouse's name);
        two are not told apart, and the deal stays where it was."""
        since = closing.closed_at or deal.deal_date
        own = self._open_since(deal, deal.buyers, since)
        if own:
            return own[0]
        family = {m for b in deal.buyers for m in households.members(b)} - set(deal.buyers)
        theirs = self._open_since(deal, sorted(family), since)
        return theirs[0] if len(theirs) == 1 else None

    def _open_since(self, deal: Deal, buyers: Iterable[str], since: datetime | None) -> list[Deal]:
        """The open deals of `buyers` other than `deal`, made on or after `since`'s day,
        the earliest first."""
        found = {
            id(other): other
            for buyer in buyers
            for other in self.by_buyer.get(buyer, ())
            if other is not deal
            and REFUNDED not in other.stage_at
            and not (since and other.deal_date and other.deal_date.date() < since.date())
        }
        return sorted(found.values(), key=self._in_time)

    def _in_time(self, deal: Deal) -> tuple:
        """Deals by sale day (undated last), then as they were made."""
        return (deal.deal_date is None, deal.deal_date, self.made[id(deal)])

    # 交易变更 rows

    def _target(self, row: _Row) -> Deal | None:
        deal = self._by_numbers(row.numbers)
        flat = self.flats.root(row)
        if deal is None and flat is not None:
            deal = self.on_flat.get(flat)
        return deal

    def change(self, row: _Row, last: bool = False) -> bool:
        """Apply a 交易变更 to its deal; False: not found yet, try again at the end."""
        deal = self._target(row)
        if deal is None and last and row.phones:
            deal = self._buyers_deal(row)
        if deal is None:
            return last  # at the end: a change for no deal we know changes nothing
        change = row.change
        assert change is not None
        deal.sources.append(row.source)
        self._numbers(deal, row.numbers)
        if change.kind == "refund":
            if change.at is not None:
                deal.mark(REFUNDED, change.at)
            if change.amount is not None:
                deal.refund_amount = change.amount
        elif change.kind == "move":
            change = self._move(deal, row, change)
        elif change.kind == "buyers":
            for phone in row.phones:
                if phone not in deal.buyers:
                    deal.added.add(phone)
                    self._buyer(deal, phone)
            if row.customer_name:
                self.names.setdefault(id(deal), []).append((row.order, row.customer_name))
            self.added_names.setdefault(id(deal), set()).update(row.new_names)
        deal.changes.append(change)
        return True

    def _move(self, deal: Deal, row: _Row, change: DealChange) -> DealChange:
        """换房: the deal leaves its flat for the new one, with the new price."""
        old = self.flats.root(row) or deal.flat
        new = _new_flat(row.room, old, deal.owners[0] if deal.owners else None)
        if new is None:
            return change
        new = self.flats.find(new)
        if old is not None and self.on_flat.get(old) is deal:
            del self.on_flat[old]  # the old flat may be sold again
            self.left.setdefault(old, set()).add(id(deal))
        if new not in deal.flats:
            deal.flats.append(new)
        else:  # back to the end: the flat it is on now
            deal.flats.remove(new)
            deal.flats.append(new)
        self.on_flat[new] = deal
        if change.amount is not None:
            self.amounts.setdefault(id(deal), []).append((row.order, change.amount))
        return DealChange(
            change.change_type, change.kind, change.at, change.source, new, change.amount
        )


def _new_flat(room: cells.Room | None, old: str | None, buyer: str | None) -> str | None:
    """The flat a 换房 names: a full name, or a bare 房号 in the old flat's building."""
    if room is None:
        return None
    if room.key is not None:
        return room.key
    if old is not None and cells.is_room_key(old):
        return f"{old.rsplit('-', 1)[0]}-{room.room}"
    return f"{room.room}@{buyer}" if buyer else None


def _rival(current: Deal, row: _Row) -> bool:
    """A row of another buyer carrying another number of a kind the flat's open deal
    already has (认购编号 SHYH-0101 vs SHYH-0102): a second sale of one flat, which is
    an error in the CRM, not one deal. Merging them would drop one buyer's deal and pay
    on the wrong amount, so they stay two deals and both are flagged for the admin."""
    if not row.phones or set(row.phones) & set(current.buyers):
        return False
    mine = dict(current.numbers)
    return any(kind in mine and mine[kind] != number for kind, number in row.numbers)


def _resold(current: Deal, row: _Row) -> bool:
    """Whether a row on the flat of a refunded deal is a new sale of that flat."""
    refunded = current.stage_at.get(REFUNDED)
    return refunded is not None and row.sale_at is not None and row.sale_at >= refunded


def assemble(
    deals: pl.DataFrame,
    changes: pl.DataFrame,
    as_of_end: datetime,
    households: Households | None = None,
) -> list[Deal]:
    """Every deal the rows tell of, as of the night (SPEC 6.5), sorted by `deal_id`;
    `households` say where a 换房 may have moved a deal besides its own buyers."""
    rows = deal_rows(deals, as_of_end)
    altered = change_rows(changes)
    flats = _Flats()
    for row in [*rows, *altered]:
        flats.join(row.flats)
    _join_bare_rooms(flats, rows)
    moves: dict[str, list[_Row]] = {}
    for row in altered:
        if row.change is not None and row.change.kind == "move":
            target = _new_flat(row.room, flats.root(row), None)
            if target is not None:
                moves.setdefault(flats.find(target), []).append(row)
    book = _Book(flats, moves)
    later: list[_Row] = []
    for row in sorted([*rows, *altered], key=lambda r: r.order):
        done = book.place(row) if row.change is None else book.change(row)
        if not done:
            later.append(row)
    for row in later:  # number-only rows and changes whose deal came later in time
        if row.change is None:
            book.place(row, last=True)
        else:
            book.change(row, last=True)
    book.follow_moves(households or Households())
    return _finish(book)


def _finish(book: _Book) -> list[Deal]:
    """Amounts, names, buyers a 更名 added, and each deal's id."""
    book.deals = [deal for deal in book.deals if id(deal) not in book.gone]
    for deal in book.deals:
        amounts = sorted(book.amounts.get(id(deal), []), key=lambda item: item[0])
        if amounts:
            deal.amount = amounts[-1][1]
        given = sorted(book.names.get(id(deal), []), key=lambda item: item[0])
        if given:
            deal.customer_name = given[-1][1]
        brought = book.added_names.get(id(deal), set())
        names = book.buyer_names.get(id(deal), {})
        if brought:  # rows under a name a 更名/增减权益人 brought are the new buyers'
            deal.added |= {b for b in deal.buyers if names.get(b) and names[b] <= brought}
        deal.phone = deal.owners[0] if deal.buyers else None
    _name_deals(book.deals, book.flats)
    return sorted(book.deals, key=lambda d: d.deal_id)


def _name_deals(deals: list[Deal], flats: _Flats) -> None:
    """`deal_id`: 成交编号, else 合同编号, else 认购编号, else the flat key (SPEC 6.5).

    A flat sold again without numbers is `5-2-802#2`; a deal with nothing to name it by
    (no number, no flat) is named by its first source row.
    """
    taken: dict[str, int] = {}
    for deal in deals:
        name = next(
            (no for _, label in NUMBERS for kind, no in deal.numbers if kind == label), None
        )
        if name is None and deal.flats:
            name = cells.room_label(deal.flats[0])
        if name is None:
            name = place_text(min(deal.sources))
        count = taken[name] = taken.get(name, 0) + 1
        deal.deal_id = name if count == 1 else f"{name}#{count}"


@dataclass(frozen=True, slots=True)
class DealLine:
    deal_id: str
    customer_phone: str | None
    stage: str
    deal_date: datetime | None
    amount: float | None
    owner_type: OwnerType
    channel: str | None
    agent: str | None
    share: float | None
    commission: float
    status: DealStatus
    reason_codes: tuple[Code, ...]
    # Held lines: when the appeal window closes (for D01 the ruling may come later still).
    held_until: datetime | None = None
    # Money (SPEC 6.6): what the line is due and what was paid on it (judge/payments.py).
    # Without payment records the due of a payable or clawed-back line is its commission.
    due: float = 0.0
    paid: float = 0.0

    @property
    def outstanding(self) -> float:
        """Due − paid: positive, owed to the agency; negative, the agency owes it back."""
        return round(self.due - self.paid, 2)


class Households:
    """Numbers joined by 配偶/家属 columns (union-find)."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._groups: dict[str, list[str]] | None = None

    def find(self, phone: str) -> str:
        parent = self._parent.setdefault(phone, phone)
        if parent != phone:
            parent = self._parent[phone] = self.find(parent)
        return parent

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)
        self._groups = None

    def members(self, phone: str) -> list[str]:
        if phone not in self._parent:
            return [phone]
        if self._groups is None:
            groups: dict[str, list[str]] = {}
            for member in sorted(self._parent):
                groups.setdefault(self.find(member), []).append(member)
            self._groups = groups
        return self._groups[self.find(phone)]


def _holds(episode: Episode, at: datetime) -> bool:
    """Whether the episode holds on the deal's day.

    Deal dates carry no clock time, so a deal dated the day of the first visit is
    inside the episode, and one dated the last protected day too.
    """
    start = episode.start
    if start is None:
        return True
    day_end = _day_end(at)
    return start < day_end and (episode.until is None or at < episode.until)


def _day_end(at: datetime) -> datetime:
    return datetime.combine(at.date() + timedelta(days=1), time(0), at.tzinfo)


def _owner(
    deal: Deal,
    households: Households,
    episodes: dict[str, list[Episode]],
    order: Sequence[str],
) -> tuple[Episode | None, Episode | None, str | None]:
    """The episode holding on the deal date, else the channel episode that lapsed before it,
    and the buyer through whose household it holds.

    Every buyer counts but those a 更名/增减权益人 added; among channel episodes holding on
    the deal's day, the earliest claim by `conflict.order` wins (SPEC 6.5).
    """
    buyer_of: dict[str, str] = {}  # household member -> the first buyer it belongs with
    for buyer in deal.owners:
        for member in households.members(buyer):
            buyer_of.setdefault(member, buyer)
    mine = [e for phone in buyer_of for e in episodes.get(phone, [])]
    first = deal.owners[0] if deal.owners else None
    at = deal.deal_date
    if at is None:
        ordered = sorted(mine, key=lambda e: (e.first_visit_at is None, e.first_visit_at))
        latest = ordered[-1] if ordered else None
        return latest, None, buyer_of[latest.phone] if latest is not None else first
    holding = [e for e in mine if _holds(e, at)]
    channel = [e for e in holding if e.holds_by_visit]
    if channel:
        won = min(channel, key=lambda e: _claim_key(e, order))
        return won, None, buyer_of[won.phone]
    own = [e for buyer in deal.owners for e in episodes.get(buyer, []) if e in holding]
    if own or holding:
        held = (own or holding)[0]
        return held, None, buyer_of[held.phone]
    last = p01.lapsed(mine, _day_end(at))
    if last is None:
        return None, None, first
    return None, last, buyer_of[last.phone]


def _claim_key(episode: Episode, order: Sequence[str]) -> tuple:
    """How early a channel's claim is, by `conflict.order` (brought first, reported first)."""
    report = episode.report
    keys: list[tuple] = []
    for rule in order:
        if rule == "first_visit":
            keys.append((episode.start is None, episode.start))
        elif rule == "first_report":
            keys.append((report is None, report.at if report else None))
    return (*keys, episode.phone)


def deal_index(deals: list[Deal]) -> dict[str, list[Deal]]:
    """The deals by any of their numbers or flats (a flat refunded and sold again has two):
    how payments and agencies' claims find the deal they name (SPEC 6.6)."""
    index: dict[str, list[Deal]] = {}
    for deal in deals:
        for key in dict.fromkeys([number for _, number in deal.numbers] + list(deal.flats)):
            index.setdefault(key, []).append(deal)
    return index


def line_order(line: DealLine) -> tuple:
    """`deals.csv` order: by deal, the larger share first, then channel."""
    return (line.deal_id, -(line.share if line.share is not None else 1.0), line.channel or "")


def settle(
    deals: list[Deal],
    episodes: dict[str, list[Episode]],
    households: Households,
    rules: Rules,
    as_of_end: datetime,
) -> list[DealLine]:
    """Each deal's lines; `deal.phone` becomes the buyer whose household owns it."""
    lines: list[DealLine] = []
    for deal in deals:
        episode, lapsed, buyer = _owner(deal, households, episodes, rules.conflict.order)
        deal.phone = buyer
        lines.extend(_lines(deal, episode, lapsed, rules, as_of_end))
    return lines


def _lines(
    deal: Deal, episode: Episode | None, lapsed: Episode | None, rules: Rules, as_of_end: datetime
) -> list[DealLine]:
    def line(
        owner_type, channel, agent, share, commission, status, codes, held_until=None
    ) -> DealLine:
        commission = round(commission, 2)
        owed = status in (DealStatus.PAYABLE, DealStatus.CLAWBACK)
        return DealLine(
            deal.deal_id,
            deal.phone,
            deal.stage,
            deal.deal_date,
            deal.amount,
            owner_type,
            channel,
            agent,
            share,
            commission,
            status,
            tuple(codes),
            held_until,
            due=commission if owed else 0.0,
        )

    if lapsed is not None:
        # The channel's visit protection ended before the deal: its customer, but no commission.
        return [
            line(OwnerType.CHANNEL, channel, lapsed.agent, None, 0.0, NOT_PAYABLE, [Code.P01])
            for channel in lapsed.channels
        ]
    if episode is None or episode.owner_type in (OwnerType.NATURAL, OwnerType.EXISTING):
        owner_type = episode.owner_type if episode is not None else OwnerType.NATURAL
        code = Code.E01 if owner_type == OwnerType.EXISTING else Code.N01
        return [line(owner_type, None, None, None, 0.0, NOT_PAYABLE, [code])]
    if episode.owner_type == OwnerType.DISPUTED:
        # No owner yet, so no sharing channel: one row until a ruling names one.
        codes = [Code.D01]
        deadline = appeal_end(episode, rules)
        if h01.appeal_open(episode, rules, as_of_end):
            codes.append(Code.H01)
        return [line(OwnerType.DISPUTED, None, None, None, 0.0, DealStatus.HELD, codes, deadline)]
    shares = episode.shares or [(episode.channels[0], 1.0)]
    codes = [Code.J01] if episode.ruled else []
    refunded = refund.decide(rules, deal)
    status: DealStatus
    if refunded is not None:
        clawback = refunded == Code.X01
        status = DealStatus.CLAWBACK if clawback else NOT_PAYABLE
        sign, codes = -int(clawback), [*codes, refunded]
    elif s01.decide(rules, deal):
        status, sign, codes = NOT_PAYABLE, 0, [*codes, Code.S01]
    elif h01.decide(episode, rules, as_of_end):
        status, sign, codes = DealStatus.HELD, 1, [Code.H01]
    else:
        status, sign = DealStatus.PAYABLE, 1
    return [
        line(
            OwnerType.CHANNEL,
            channel,
            episode.agent if channel == episode.channels[0] else _agent_of(episode, channel),
            share,
            sign * commission_for(rules, channel, deal.amount) * share,
            status,
            codes,
            appeal_end(episode, rules) if status == DealStatus.HELD else None,
        )
        for channel, share in shares
    ]


def _agent_of(episode: Episode, channel: str) -> str | None:
    return next((r.agent for r in episode.contested if r.channel == channel and r.agent), None)


def commission_for(rules: Rules, channel: str, amount: float | None) -> float:
    """A whole deal's commission for `channel`: its rate of the amount, or its fixed sum."""
    term = rules.commission.channels.get(channel, rules.commission.default)
    if term.fixed is not None:
        return term.fixed
    return (amount or 0.0) * (term.rate or 0.0)
