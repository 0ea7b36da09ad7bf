"""The judge (SPEC §6.1): admission → linking → timelines → rulings → deals.

`judge(inputs, rules)` is pure: the same inputs give the same `Judgement`. Stages and
their semantics are documented in docs/judge.md. Beside them: `inputs` (the frames
the judge reads), `link` (reports × customers), `periods` (time arithmetic),
`explain` (why a customer got their status), `preview` (the `check` verdicts) and
`payments` and `claims` (money across nights: what was paid on each deal line, and
the agencies' claims checked against it, SPEC 6.6).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import TypeVar

import polars as pl

from reconcile.config.rules import EXTENSION_TYPES, Rules
from reconcile.judge import claims, link, payments
from reconcile.judge.admission import admit, bucket_expr
from reconcile.judge.consultants import Consultants, judge_consultants
from reconcile.judge.deals import DEPOSIT, Deal, DealLine, Households, assemble, settle
from reconcile.judge.inputs import Inputs
from reconcile.judge.reasons import a01, existing, r05
from reconcile.judge.reasons.modes import mode_of
from reconcile.judge.rotation import Turn, audit
from reconcile.judge.rulings import Ruling, apply_rulings, parse_shares
from reconcile.judge.timeline import (
    Contact,
    Episode,
    QueueSpot,
    Report,
    Request,
    Timeline,
    Visit,
)
from reconcile.judge.vocabulary import Code, ReportStatus
from reconcile.normalise.places import place_text

T = TypeVar("T")


@dataclass
class Judgement:
    # What was judged, but for its report rows, which are all in `reports` and `requests`
    # (nothing reads them again, and at a million they held ~280 MiB to the end of the
    # night): `inputs.reports` is empty.
    inputs: Inputs
    reports: list[Report]  # every report row, judged
    error_reports: pl.DataFrame  # report rows with an unusable phone (invalid R02)
    episodes: list[Episode]  # attribution: one per ownership episode
    deals: list[DealLine]
    deal_records: dict[str, Deal]  # deal id -> what the CRM rows say of it (stages, sources)
    suspected: list[tuple[Report, Report]]  # masked reports of two channels that may collide
    fits: dict[str, list[str]] = field(default_factory=dict)  # report row_id -> fitting numbers
    # channel -> money paid to it and not allocated to any line (多付/预付, SPEC 6.6)
    credit: dict[str, float] = field(default_factory=dict)
    # `settlement.csv`: the deal lines with the agencies' claims checked (SPEC 6.6)
    settlement: list[claims.Settled] = field(default_factory=list)
    # In-house consultants and the rotation audit (SPEC 6.7): None unless the rules set
    # `consultant:` / `rotation:`
    consultants: Consultants | None = None
    rotation: list[Turn] | None = None
    # Extension requests and the queue (SPEC 6.8): every request, judged; where each
    # queued report stands tonight, by report row id
    requests: list[Request] = field(default_factory=list)
    queue: dict[str, QueueSpot] = field(default_factory=dict)

    def by_phone(self, phone: str) -> list[Episode]:
        return [e for e in self.episodes if e.phone == phone]


def judge(inputs: Inputs, rules: Rules) -> Judgement:
    with cycle_collector_paused():
        return _judge(inputs, rules)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """For work that makes millions of small acyclic objects (the judge, and the contract
    files written from its judgement): the cycle collector would only walk them, again and
    again, as they pile up.

    On resuming, what was made and kept is moved to the oldest generation at once
    (freezing and thawing moves lists, not objects): the youngest generation's
    collection that would come first walked every one of them (at 200,000 reports
    ~0.4 s, to find no garbage). Not while the night is frozen (`night_frozen`): thawing
    would let go of it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not _frozen:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


# Whether `night_frozen` holds the objects alive: kept here, not asked of the collector,
# whose `get_freeze_count` walks every frozen object (millions after a judged night:
# ~0.1 s a call, and publishing makes a dozen).
_frozen = False


@contextmanager
def night_frozen() -> Iterator[None]:
    """The objects alive now (a judged night's millions) left out of the cycle
    collector's care: every full collection while publishing would walk them all, and in
    forked children it would write to every page that holds them. Thawed after: `serve`
    judges the next night in the same process."""
    global _frozen
    if _frozen:
        yield
        return
    gc.freeze()
    _frozen = True
    try:
        yield
    finally:
        _frozen = False
        gc.unfreeze()


def _still_queued(spots: dict[str, QueueSpot], reports: list[Report]) -> dict[str, QueueSpot]:
    """The customer's queue after its rulings (SPEC 6.8, 6.5): a queued report that a
    ruling decided leaves it and those behind move up. When one left, their earliest
    holding is not known any more (the ruled episode holds as the admin said): only
    their place is shown."""
    status = {report.row_id: report.status for report in reports}
    kept = [row for row in spots if status.get(row) == ReportStatus.QUEUED]
    if len(kept) == len(spots):
        return spots
    return {row: QueueSpot(position, None) for position, row in enumerate(kept, start=1)}


# What a report row and an extension request row both say: who, whom, when, where.
_CLAIM = (
    "row_id", "channel", "agent", "customer_name", "phone_pattern", "at", "order", "time_known",
)  # fmt: skip
# The fields of `Report` up to `codes`, and of `Visit`, `Contact` and `Ruling`, in
# their order.
_REPORT = (
    "row_id", "channel", "agent", "customer_name", "phone_pattern", "at", "report_type",
    "until", "order", "codes",
)  # fmt: skip
_VISIT = ("row_id", "phone", "at", "channel", "agent", "customer_name", "order", "time_known")
_CONTACT = ("row_id", "phone", "at", "kind", "order", "time_known")
_RULING = ("row_id", "phone", "at", "channel", "agent", "shares", "order", "natural")
# One copy of each repeated value: a million reports, a few channels, names and masked
# numbers reported again and again, the same row numbers in every file, times on the
# minute and a few protection ends (~200 MiB of a million reports' objects).
_SHARED = frozenset(
    {
        "channel", "agent", "report_type", "path", "sheet", "row_no", "kind", "customer_name",
        "phone_pattern", "at", "until",
    }
)  # fmt: skip
# Shared columns of a few distinct values (channels, agents, files): each row finds its
# value by number, and only the distinct values are read (~3x as fast; for columns of
# many values, such as names, reading them all is faster).
_FEW = frozenset({"channel", "agent", "report_type", "path", "sheet", "kind"})


def _judge(inputs: Inputs, rules: Rules) -> Judgement:
    asked = pl.col("report_type").is_in(EXTENSION_TYPES).fill_null(False)
    admitted = admit(inputs.reports.filter(~asked), rules, inputs.first_run)
    admitted = r05.decide(admitted, rules)
    # The columns linking reads only.
    linkable = admitted.select(link.LINK_COLUMNS).filter(
        ~admitted["codes"].list.contains(Code.R02.value)
    )
    with ThreadPoolExecutor(max_workers=1) as helper:
        # Linking is polars, which lets go of the GIL: it runs on the second core while
        # the report objects are made here, which is Python.
        linked = helper.submit(_link, linkable, inputs, rules)
        del linkable
        reports = _reports(admitted)
        people, fit_pairs = linked.result()
        del linked  # the future would keep the pairs
    # Only what `_suspected` reads at the end is kept of the admitted rows, and nothing
    # of the linking's frames (at a million reports, each column tens of MiB).
    admitted = admitted.select(*link.PAIR_COLUMNS, "codes")
    fits = a01.choose_fits(fit_pairs, reports)

    rulings = [
        Ruling(
            row_id,
            phone,
            at,
            owner,
            agent,
            parse_shares(shares),
            place_text(order),
            order,
            bool(natural),
        )
        for row_id, phone, at, owner, agent, shares, order, natural in _rows(
            inputs.rulings, *_RULING
        )
        if phone
    ]
    a01.resolve_by_rulings(reports, fits, rulings)

    crm_only = set(fit_pairs.filter("crm_only")["phone"].to_list())
    del fit_pairs
    per_phone: dict[str, list[Report]] = defaultdict(list)
    crm_linked: list[Report] = []  # linked to a customer known only from the CRM
    for row_id, phones in fits.items():
        report = reports[row_id]
        if len(phones) == 1:
            report.phone = phones[0]
            if phones[0] in crm_only:
                crm_linked.append(report)
            else:
                per_phone[phones[0]].append(report)
        elif a01.decide(phones) and not report.codes:
            report.status, report.codes = ReportStatus.AMBIGUOUS, [Code.A01]
    existing.known_in_crm(crm_linked, inputs.crm, rules)
    if mode_of(rules).report_holds:
        # Report mode holds by the report alone: a customer known only from the CRM gets
        # a timeline as soon as an admitted report names it (SPEC 6.8).
        for report in crm_linked:
            if not report.codes and report.phone:
                per_phone[report.phone].append(report)
    requests = _requests(inputs.reports.filter(asked), people, rules, inputs.first_run)
    del people
    by_phone_requests = _group(r for r in requests if r.phone)
    households = _households(inputs)
    deals = _deals(inputs, households)
    stages = _stages(deals, rules)

    visits = _group(_made(Visit, inputs.visits, *_VISIT))
    ruled = _group(rulings)
    customers = sorted(set(visits) | set(per_phone) | set(ruled))
    # Only contacts of customers with a timeline matter; most CRM rows are other people.
    crm = inputs.crm.filter(pl.col("at").is_not_null() & pl.col("phone").is_in(customers))
    contacts = _group(_made(Contact, crm, *_CONTACT))
    episodes: dict[str, list[Episode]] = {}
    queue: dict[str, QueueSpot] = {}
    for phone in customers:
        timeline = Timeline(phone, rules)
        admitted_here = [r for r in per_phone.get(phone, []) if not r.codes]
        found = timeline.run(
            admitted_here,
            visits.get(phone, []),
            contacts.pop(phone, []),  # read by this timeline only: let go after it
            by_phone_requests.get(phone, []),
            stages.get(phone, []),
        )
        spots = timeline.finish(inputs.as_of_end)
        if phone in ruled:
            found = apply_rulings(phone, found, ruled[phone], per_phone.get(phone, []), rules)
            spots = _still_queued(spots, per_phone.get(phone, []))
        queue.update(spots)
        episodes[phone] = found

    for report in reports.values():
        if report.status != ReportStatus.PENDING:
            continue  # a stage decided it
        if report.codes:
            report.status = ReportStatus.INVALID
        else:
            protected = report.until is None or inputs.as_of_end < report.until
            report.status = ReportStatus.PENDING if protected else ReportStatus.EXPIRED_UNVISITED

    for request in requests:
        if not request.honoured and not request.codes:
            # It fits no customer, several, or one no channel holds (known only from the
            # CRM): no timeline judged it, and nobody holds for it.
            request.codes = [Code.R11]
    deal_lines = settle(deals, episodes, households, rules, inputs.as_of_end)
    # Without payment records this keeps 6.3's lines as they are (SPEC 6.6).
    money = payments.allocate(
        deal_lines, deals, payments.payments_from(inputs.payments), rules, inputs.as_of_end
    )
    consultants = turns = None
    if rules.consultant is not None or rules.rotation is not None:
        consultants = judge_consultants(inputs, rules, deals, households)
        if rules.rotation is not None:
            turns = audit(consultants.receptions, inputs, rules, rules.rotation)
        if rules.consultant is None:
            consultants = None  # owners were needed for the audit only
    return Judgement(
        inputs=replace(inputs, reports=inputs.reports.clear()),
        reports=list(reports.values()),
        error_reports=inputs.report_errors,
        episodes=[e for phone in sorted(episodes) for e in episodes[phone]],
        deals=money.lines,
        deal_records={deal.deal_id: deal for deal in deals},
        suspected=_suspected(admitted, reports, rules),
        fits=dict(fits),
        credit=money.credit,
        settlement=claims.check(money.lines, deals, claims.claims_from(inputs.statements)),
        consultants=consultants,
        rotation=turns,
        requests=requests,
        queue=queue,
    )


def _reports(admitted: pl.DataFrame) -> dict[str, Report]:
    """A report object per admitted row, by row id, pending until a stage decides."""
    reports: dict[str, Report] = {}
    for row_id, *fields, known in _columns(admitted, *_REPORT, "time_known"):
        made = map(Report, row_id, *fields, repeat(ReportStatus.PENDING), repeat(None), known)
        reports.update(zip(row_id, made, strict=True))
    return reports


def _link(
    linkable: pl.DataFrame, inputs: Inputs, rules: Rules
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The customers (`link.customers`) and the (report, customer) pairs that fit."""
    people = link.customers(inputs.visits, inputs.deals, inputs.rulings, inputs.crm)
    return people, link.link(linkable, people, bucket_expr(rules, "phone", "phone"))


def _requests(
    frame: pl.DataFrame, people: pl.DataFrame, rules: Rules, first_run: int | None
) -> list[Request]:
    """Extension requests (SPEC 6.8), linked to their customer like reports; admission
    gives the frame its linking keys only: a request is no report, and no quota counts it."""
    if frame.height == 0:
        return []
    keyed = admit(frame, rules, first_run)
    usable = keyed.filter(~pl.col("codes").list.contains(Code.R02.value))
    fits = a01.choose_fits(link.link(usable, people, bucket_expr(rules, "phone", "phone")))
    found = []
    for row_id, channel, agent, name, pattern, at, order, known in _rows(keyed, *_CLAIM):
        phones = fits.get(row_id, [])
        phone = phones[0] if len(phones) == 1 else None
        found.append(Request(row_id, channel, agent, name, pattern, at, order, known, phone=phone))
    return found


def _stages(deals: list[Deal], rules: Rules) -> dict[str, list[tuple]]:
    """Per buyer, the days its deals reached a deposit (`validity_after_deposit`) and the
    commission stage (which ends the queue), when the rules use them (SPEC 6.8)."""
    found: dict[str, list[tuple]] = defaultdict(list)
    wanted = []
    if rules.report.validity_after_deposit is not None:
        wanted.append((DEPOSIT, "deposit"))
    if rules.report.queue is not None:
        wanted.append((rules.deal.commission_stage, "closing"))
    for deal in deals if wanted else ():
        for stage, what in wanted:
            day = deal.reached_at(stage)
            if day is not None:
                for buyer in deal.owners:
                    found[buyer].append((day, what))
    return found


def _rows(frame: pl.DataFrame, *names: str) -> Iterator[tuple]:
    """The frame's rows as tuples of `names` (`_columns`)."""
    for columns in _columns(frame, *names):
        yield from zip(*columns, strict=True)


def _made(make: Callable[..., T], frame: pl.DataFrame, *names: str) -> Iterator[T]:
    """`make(*row)` for each row of `names` (`_columns`), called by `map`: no tuple is
    made per row, nor a Python loop run."""
    for columns in _columns(frame, *names):
        yield from map(make, *columns)


def _columns(frame: pl.DataFrame, *names: str) -> Iterator[list[Iterable]]:
    """The columns `names` of the frame as Python values, a slice of rows at a time
    (polars makes a dict per row slowly: at a million reports, a fifth of the judge).
    Three names are derived: `order`, a row's place in its file (path, sheet, row),
    `time_known`, false only when the cell gave a date without a clock time (SPEC
    §6.4), and `codes`, the admission codes as `Code`s (the one empty tuple when there
    is none). A column the frame lacks reads as None.

    A slice at a time: every column of a million rows as Python values at once took
    ~300 MiB beside the objects made of them."""
    copies: dict[str, dict] = defaultdict(dict)  # per column, one copy of each value
    for start in range(0, frame.height, _ROWS_AT_ONCE):
        part = frame.slice(start, _ROWS_AT_ONCE)
        columns: list[Iterable] = []
        for name in names:
            if name == "order":
                places = (_column(part, key, copies[key]) for key in _PLACE)
                columns.append(zip(*places, strict=True))
            elif name == "time_known" and name in part.columns:
                columns.append(part[name].fill_null(True).to_list())
            elif name == "time_known":
                columns.append(repeat(True, part.height))
            elif name == "codes":
                codes = part[name].to_list()
                columns.append([[Code(code) for code in row] if row else () for row in codes])
            else:
                columns.append(_column(part, name, copies[name]))
        yield columns


_PLACE = ("path", "sheet", "row_no")
_ROWS_AT_ONCE = 100_000


def _column(frame: pl.DataFrame, name: str, copies: dict) -> Iterable:
    """The column's values; those of a `_SHARED` column through `copies`, the one copy
    of each value seen so far."""
    if name not in frame.columns:
        return repeat(None, frame.height)
    column = frame[name]
    if name not in _SHARED:
        return column.to_list()
    if isinstance(column.dtype, pl.Datetime):
        # Each distinct moment made once, found by the integer stored (not by equality:
        # the two 01:30 of a night the clocks go back are equal, yet two moments).
        # Only those an earlier slice did not make.
        instants = column.to_physical()
        new = [instant for instant in instants.unique().to_list() if instant not in copies]
        made = pl.Series(new, dtype=instants.dtype).cast(column.dtype).to_list()
        copies.update(zip(new, made, strict=True))
        return list(map(copies.__getitem__, instants.to_list()))
    if name in _FEW and column.dtype == pl.String():
        distinct = column.unique().drop_nulls()
        values = [copies.setdefault(value, value) for value in distinct.to_list()]
        values.append(None)  # a null's number
        numbers = column.cast(pl.Enum(distinct)).to_physical().fill_null(len(values) - 1)
        return list(map(values.__getitem__, numbers.to_list()))
    return [copies.setdefault(value, value) for value in column.to_list()]


def _group(items) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for item in items:
        grouped[item.phone].append(item)
    return grouped


def _suspected(
    admitted: pl.DataFrame, reports: dict[str, Report], rules: Rules
) -> list[tuple[Report, Report]]:
    """Compatible reports of two channels, both still unlinked (no visit yet)."""
    # A report per admitted row, in the rows' order (row ids are unique): a mask, not a
    # million row ids looked up.
    pending = pl.Series(
        [report.status == ReportStatus.PENDING for report in reports.values()], dtype=pl.Boolean
    )
    open_reports = admitted.select(link.PAIR_COLUMNS).filter(
        (admitted["codes"].list.len() == 0) & pending
    )
    pairs = link.self_pairs(open_reports, same_channel=False)
    return [(reports[a], reports[b]) for a, b in pairs.iter_rows()]


def _households(inputs: Inputs) -> Households:
    households = Households()
    for frame in (inputs.visits, inputs.deals):
        for phone, relative in frame.select("phone", "relative_phone").iter_rows():
            if phone and relative and "*" not in relative:
                households.join(phone, relative)
    return households


def _deals(inputs: Inputs, households: Households) -> list[Deal]:
    """Deal rows and 交易变更 rows as deals across nights (SPEC 6.5, judge/deals.py)."""
    return assemble(inputs.deals, inputs.deal_changes, inputs.as_of_end, households)
