"""The judge (SPEC §6.1): admission → linking → timelines → rulings → deals.

`judge(inputs, rules)` is pure: the same inputs give the same `Judgement`. Stages and
their semantics are documented in docs/judge.md. Beside them: `inputs` (the frames
the judge reads), `link` (reports × customers), `periods` (time arithmetic),
`explain` (why a customer got their status) and `preview` (the `check` verdicts).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl

from reconcile.config.rules import Rules
from reconcile.judge import link
from reconcile.judge.admission import admit, bucket_expr
from reconcile.judge.deals import Deal, DealLine, Households, assemble, settle
from reconcile.judge.inputs import Inputs
from reconcile.judge.periods import period_end_expr
from reconcile.judge.rulings import Ruling, apply_rulings, parse_shares
from reconcile.judge.timeline import Contact, Episode, Report, Timeline, Visit


@dataclass
class Judgement:
    inputs: Inputs
    reports: list[Report]  # every report row, judged
    error_reports: pl.DataFrame  # report rows with an unusable phone (invalid R02)
    episodes: list[Episode]  # attribution: one per ownership episode
    deals: list[DealLine]
    deal_records: dict[str, Deal]  # deal id -> what the CRM rows say of it (stages, sources)
    suspected: list[tuple[Report, Report]]  # masked reports of two channels that may collide
    fits: dict[str, list[str]] = field(default_factory=dict)  # report row_id -> fitting numbers

    def by_phone(self, phone: str) -> list[Episode]:
        return [e for e in self.episodes if e.phone == phone]


def judge(inputs: Inputs, rules: Rules) -> Judgement:
    # Millions of small acyclic objects: the cycle collector only costs time here.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _judge(inputs, rules)
    finally:
        if enabled:
            gc.enable()


_REPORT_FIELDS = (
    "row_id", "channel", "agent", "customer_name", "phone_pattern", "at", "report_type",
    "until", "source", "path", "sheet", "row_no", "codes", "time_known",
)  # fmt: skip
_SHARED_TEXT = ("channel", "agent", "report_type", "path", "sheet")


def _judge(inputs: Inputs, rules: Rules) -> Judgement:
    admitted = admit(inputs.reports, rules, inputs.first_run)
    admitted = _self_duplicates(admitted, rules)
    reports: dict[str, Report] = {}
    shared: dict = {}  # one copy of each repeated text: a million reports, a few channels
    for row in admitted.select(_REPORT_FIELDS).iter_rows(named=True):
        for key in _SHARED_TEXT:
            row[key] = shared.setdefault(row[key], row[key])
        reports[row["row_id"]] = _report(row)

    rulings = [_ruling(row) for row in inputs.rulings.iter_rows(named=True) if row["phone"]]
    people = link.customers(inputs.visits, inputs.deals, inputs.rulings, inputs.crm)
    linkable = admitted.filter(~pl.col("codes").list.contains("R02"))
    fit_pairs = link.link(linkable, people, bucket_expr(rules, "phone", "phone"))
    fits = _choose_fits(fit_pairs)
    _resolve_by_rulings(reports, fits, rulings)

    crm_only = set(fit_pairs.filter("crm_only")["phone"].to_list())
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
        elif not report.codes:
            report.status, report.codes = "ambiguous", ["A01"]
    _known_in_crm(crm_linked, inputs.crm, rules)

    visits = _group(_visit(row) for row in inputs.visits.iter_rows(named=True))
    ruled = _group(rulings)
    customers = sorted(set(visits) | set(per_phone) | set(ruled))
    # Only contacts of customers with a timeline matter; most CRM rows are other people.
    crm = inputs.crm.filter(pl.col("at").is_not_null() & pl.col("phone").is_in(customers))
    contacts = _group(_contact(row) for row in crm.iter_rows(named=True))
    episodes: dict[str, list[Episode]] = {}
    for phone in customers:
        timeline = Timeline(phone, rules)
        admitted_here = [r for r in per_phone.get(phone, []) if not r.codes]
        found = timeline.run(admitted_here, visits.get(phone, []), contacts.get(phone, []))
        timeline.finish(inputs.as_of_end)
        if phone in ruled:
            found = apply_rulings(phone, found, ruled[phone], per_phone.get(phone, []), rules)
        episodes[phone] = found

    for report in reports.values():
        if report.codes and not report.status:
            report.status = "invalid"
        elif not report.status:
            protected = report.until is None or inputs.as_of_end < report.until
            report.status = "pending" if protected else "expired_unvisited"

    households = _households(inputs)
    deals = _deals(inputs)
    deal_lines = settle(deals, episodes, households, rules, inputs.as_of_end)
    return Judgement(
        inputs=inputs,
        reports=list(reports.values()),
        error_reports=inputs.report_errors,
        episodes=[e for phone in sorted(episodes) for e in episodes[phone]],
        deals=deal_lines,
        deal_records={deal.deal_id: deal for deal in deals},
        suspected=_suspected(admitted, reports, rules),
        fits=dict(fits),
    )


def _order(row: dict) -> tuple:
    return (row["path"], row["sheet"], row["row_no"])


def _report(row: dict) -> Report:
    return Report(
        row_id=row["row_id"],
        channel=row["channel"],
        agent=row["agent"],
        customer_name=row["customer_name"],
        phone_pattern=row["phone_pattern"],
        at=row["at"],
        report_type=row["report_type"],
        until=row["until"],
        source=row["source"],
        order=_order(row),
        codes=list(row["codes"]),
        time_known=_time_known(row),
    )


def _visit(row: dict) -> Visit:
    return Visit(
        row["row_id"], row["phone"], row["at"], row["channel"], row["agent"],
        row["customer_name"], row["source"], _order(row), _time_known(row),
    )  # fmt: skip


def _contact(row: dict) -> Contact:
    return Contact(
        row["row_id"], row["phone"], row["at"], row["kind"], row["source"], _order(row),
        _time_known(row),
    )  # fmt: skip


def _time_known(row: dict) -> bool:
    """False only when the cell gave a date without a clock time (SPEC §6.4)."""
    return row.get("time_known") is not False


def _ruling(row: dict) -> Ruling:
    return Ruling(
        row_id=row["row_id"],
        phone=row["phone"],
        at=row["at"],
        owner=row["channel"],
        agent=row["agent"],
        shares=parse_shares(row["shares"]),
        source=row["source"],
        order=_order(row),
    )


def _group(items) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for item in items:
        grouped[item.phone].append(item)
    return grouped


def _self_duplicates(admitted: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """R05 while the channel's own earlier report still protects the customer."""
    clean = admitted.filter(pl.col("codes").list.len() == 0)
    invalidate_all = rules.report.self_duplicate == "invalidate_all"
    duplicates = link.self_duplicates(clean, invalidate_all=invalidate_all)
    if not duplicates:
        return admitted
    return admitted.with_columns(
        codes=pl.when(pl.col("row_id").is_in(list(duplicates)))
        .then(pl.col("codes").list.concat(pl.lit(["R05"])))
        .otherwise(pl.col("codes"))
    )


def _choose_fits(pairs: pl.DataFrame) -> dict[str, list[str]]:
    """The customers a report may be about.

    Customers first seen while the report protected them count; when there is none,
    a single later customer is still the report's (it visited too late: R09), while
    several later strangers make nobody's (the report simply expired unvisited).
    """
    in_time: dict[str, list[str]] = defaultdict(list)
    late: dict[str, list[str]] = defaultdict(list)
    for row_id, phone, on_time in pairs.select("row_id", "phone", "in_time").iter_rows():
        (in_time if on_time else late)[row_id].append(phone)
    fits: dict[str, list[str]] = dict(in_time)
    for row_id, phones in late.items():
        if row_id not in fits and len(phones) == 1:
            fits[row_id] = phones
    return fits


def _known_in_crm(linked: list[Report], crm: pl.DataFrame, rules: Rules) -> None:
    """R06 at once for admitted reports linked to a customer known only from the CRM.

    Such a customer has no timeline yet (no visit, deal or ruling): a report is R06
    when a CRM contact before it still holds the customer (`released_after` since the
    latest such contact); otherwise it waits for a visit like any linked report. A
    contact dated only on the report's day is not before it (SPEC §6.4).
    """
    existing = rules.existing_customer
    admitted = [r for r in linked if not r.codes]
    if not admitted or not existing.crm_contact_before_report:
        return
    zone = rules.timezone
    asked = pl.DataFrame(
        {
            "row_id": [r.row_id for r in admitted],
            "phone": [r.phone for r in admitted],
            "reported_at": pl.Series([r.at for r in admitted], dtype=pl.Datetime("us", zone)),
        }
    )
    known = "time_known" in crm.columns
    time_known = pl.col("time_known").fill_null(True) if known else pl.lit(True)
    contacts = crm.filter(
        pl.col("at").is_not_null() & pl.col("phone").is_in(asked["phone"].implode())
    )
    contacts = contacts.select("phone", contact_at=pl.col("at"), time_known=time_known)
    # The latest contact before the report, one as-of join per kind (never every contact
    # with every report): a timed contact before it, or a date-only one of an earlier day
    # (one of the report's day is not before it).
    asked = asked.with_columns(day_start=pl.col("reported_at").dt.truncate("1d"))
    found = [
        asked.sort(on).join_asof(
            contacts.filter(timed).sort("contact_at"),
            left_on=on,
            right_on="contact_at",
            by="phone",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # sorted here; polars cannot check within `by` groups
        )
        for on, timed in (
            ("reported_at", pl.col("time_known")),
            ("day_start", ~pl.col("time_known")),
        )
    ]
    contact_at, reported_at = pl.col("contact_at"), pl.col("reported_at")
    latest = (
        pl.concat([f.select("row_id", "reported_at", "contact_at") for f in found])
        .filter(contact_at.is_not_null())
        .group_by("row_id")
        .agg(contact_at.max(), reported_at.first())
    )
    if existing.released_after is not None:
        held_until = period_end_expr(contact_at, existing.released_after, zone)
        latest = latest.filter(held_until.is_null() | (reported_at < held_until))
    held = set(latest["row_id"].to_list())
    for report in admitted:
        if report.row_id in held:
            report.codes.append("R06")


def _resolve_by_rulings(
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


def _suspected(
    admitted: pl.DataFrame, reports: dict[str, Report], rules: Rules
) -> list[tuple[Report, Report]]:
    """Compatible reports of two channels, both still unlinked (no visit yet)."""
    open_reports = admitted.filter(
        (pl.col("codes").list.len() == 0)
        & pl.col("row_id").is_in([r.row_id for r in reports.values() if r.status == "pending"])
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


def _deals(inputs: Inputs) -> list[Deal]:
    """Deal rows and 交易变更 rows as deals across nights (SPEC 6.5, judge/deals.py)."""
    return assemble(inputs.deals, inputs.deal_changes, inputs.as_of_end)
